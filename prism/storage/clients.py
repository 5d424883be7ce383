"""Process-wide SDK clients and adapters, built on first use from app settings.

SDK clients hold connection pools and are thread-safe, so one per connection per
process is right; nothing is built (or read from the environment) at import, which
keeps importing ``function_app`` free of side effects.
"""

from __future__ import annotations

import warnings
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from prism.settings import Settings, get_settings
from prism.storage.blobs import AzureBlobStore
from prism.storage.connections import CosmosConnection, StorageConnection, managed_identity
from prism.storage.documents import DocumentContainer
from prism.storage.errors import translated
from prism.storage.queues import AzureMessageQueues

if TYPE_CHECKING:
    from azure.cosmos import CosmosClient

# Both containers are partitioned on the document's own id (docs/scale.md has the
# arithmetic): every lookup the pipeline makes is a point read by id (the done-check, a
# result by id, a cache entry by key), writes spread evenly over every partition, and a
# logical partition holds one document, so none comes near Cosmos DB's 20 GB cap. Lists
# are pages across partitions (DocumentContainer.page), ordered by a composite index.
RESULTS_PARTITION_KEY = "/id"
CACHE_PARTITION_KEY = "/id"

# The results container's index: exactly the paths prism.queries filters or sorts on
# (real Cosmos DB refuses a filter on an excluded path), the composite index its pages
# are ordered by (an ORDER BY on two fields needs one), and nothing else (every indexed
# path costs write RUs). bicep/modules/cosmos.bicep declares the same policy; tests/iac
# compares the two.
RESULTS_ORDER_BY = "created_at"
RESULTS_INDEXED_FIELDS = ("modality", "status", "created_at", "error.code", "source.blob")
RESULTS_INDEXING_POLICY: dict[str, Any] = {
    "indexingMode": "consistent",
    "automatic": True,
    "includedPaths": [
        {"path": "/" + field.replace(".", "/") + "/?"} for field in RESULTS_INDEXED_FIELDS
    ],
    "excludedPaths": [{"path": "/*"}],
    "compositeIndexes": [
        [
            {"path": f"/{RESULTS_ORDER_BY}", "order": "descending"},
            {"path": "/id", "order": "descending"},
        ]
    ],
}


def _service(client_class: Any, connection: StorageConnection, service_uri: str | None) -> Any:
    """A blob or queue service client: from the connection string, or identity-based."""
    if connection.connection_string is not None:
        return client_class.from_connection_string(connection.connection_string)
    assert service_uri is not None  # from_environ guarantees one of the two
    return client_class(service_uri, managed_identity(connection.client_id))


@cache
def blob_store(connection: StorageConnection | None = None) -> AzureBlobStore:
    """The blob store of ``connection`` (default: the ``PRISM_STORAGE`` app setting)."""
    from azure.storage.blob import BlobServiceClient

    connection = connection or StorageConnection.from_environ()
    service = _service(BlobServiceClient, connection, connection.blob_service_uri)
    if connection.blob_events_queue is not None:  # the local stack's Event Grid stand-in
        from prism.storage.blob_events import EventPublishingBlobStore

        return EventPublishingBlobStore(
            service, message_queues(connection), connection.blob_events_queue
        )
    return AzureBlobStore(service)


@cache
def message_queues(connection: StorageConnection | None = None) -> AzureMessageQueues:
    """The queues of ``connection`` (default: the ``PRISM_STORAGE`` app setting)."""
    from azure.storage.queue import QueueServiceClient

    connection = connection or StorageConnection.from_environ()
    return AzureMessageQueues(
        _service(QueueServiceClient, connection, connection.queue_service_uri)
    )


@cache
def cosmos_client(connection: CosmosConnection | None = None) -> CosmosClient:
    """A Cosmos DB client: key auth for the local emulator, managed identity otherwise."""
    from azure.cosmos import CosmosClient

    connection = connection or CosmosConnection.from_environ()
    credential = connection.key or managed_identity(connection.client_id)
    options: dict[str, Any] = {}
    if connection.is_loopback:
        # The local emulator: the SDK itself skips certificate checks for loopback
        # hosts (the certificate is self-signed), so silence urllib3's warning for those
        # hosts only; and its account metadata advertises no real regions to discover.
        from urllib3.exceptions import InsecureRequestWarning

        warnings.filterwarnings(
            "ignore",
            message=r"Unverified HTTPS request is being made to host "
            r"'(127\.0\.0\.1|localhost|::1)'",
            category=InsecureRequestWarning,
        )
        options = {"connection_verify": False, "enable_endpoint_discovery": False}
    # The client reads the account's metadata when constructed: an outage shows here.
    with translated(f"connect to Cosmos DB at {connection.endpoint}"):
        return CosmosClient(connection.endpoint, credential, **options)


def _container(
    connection: CosmosConnection | None,
    settings: Settings | None,
    name: str,
    partition_key: str,
    indexing_policy: dict[str, Any] | None = None,
) -> DocumentContainer:
    connection = connection or CosmosConnection.from_environ()
    settings = settings or get_settings()
    return DocumentContainer(
        partial(cosmos_client, connection),
        settings.cosmos_database,
        name,
        partition_key,
        create_if_missing=connection.key is not None,
        indexing_policy=indexing_policy,
    )


@cache
def results_container(
    connection: CosmosConnection | None = None, settings: Settings | None = None
) -> DocumentContainer:
    """Result documents, partitioned by their own ``id``."""
    settings = settings or get_settings()
    return _container(
        connection,
        settings,
        settings.results_container,
        RESULTS_PARTITION_KEY,
        RESULTS_INDEXING_POLICY,
    )


@cache
def prediction_cache_container(
    connection: CosmosConnection | None = None, settings: Settings | None = None
) -> DocumentContainer:
    """Prediction cache entries, partitioned by their own ``id`` (the cache key)."""
    settings = settings or get_settings()
    return _container(connection, settings, settings.cache_container, CACHE_PARTITION_KEY)
