"""Storage behind small interfaces: blobs and queues (Azure Storage / Azurite) and JSON
documents (Cosmos DB / the local emulator). SDK errors never leave this package: they
become :class:`~prism.errors.StorageError` (a storage condition: not found, refused)
or :class:`~prism.errors.TransientError` (retry) — never a verdict on a file.

Get the process-wide adapters from app settings with :func:`blob_store`,
:func:`message_queues`, :func:`results_container` and :func:`prediction_cache_container`.
"""

from __future__ import annotations

from prism.storage.blobs import AzureBlobStore, BlobInfo, BlobStore
from prism.storage.clients import (
    CACHE_PARTITION_KEY,
    RESULTS_INDEXED_FIELDS,
    RESULTS_INDEXING_POLICY,
    RESULTS_ORDER_BY,
    RESULTS_PARTITION_KEY,
    blob_store,
    cosmos_client,
    message_queues,
    prediction_cache_container,
    results_container,
)
from prism.storage.connections import CosmosConnection, StorageConnection
from prism.storage.documents import DocumentContainer, Keyset, Where, deterministic_id
from prism.storage.errors import (
    ConditionFailedError,
    ContainerNotFoundError,
    LeaseLostError,
    NotFoundError,
    StorageRequestError,
)
from prism.storage.queues import (
    BLOB_TRIGGER_POISON_QUEUE,
    AzureMessageQueues,
    MessageQueues,
    ReceivedMessage,
    decode_content,
    encode_content,
    json_body,
    poison_queue_name,
)

__all__ = [
    "BLOB_TRIGGER_POISON_QUEUE",
    "CACHE_PARTITION_KEY",
    "RESULTS_INDEXED_FIELDS",
    "RESULTS_INDEXING_POLICY",
    "RESULTS_ORDER_BY",
    "RESULTS_PARTITION_KEY",
    "AzureBlobStore",
    "AzureMessageQueues",
    "BlobInfo",
    "BlobStore",
    "ConditionFailedError",
    "ContainerNotFoundError",
    "CosmosConnection",
    "DocumentContainer",
    "Keyset",
    "LeaseLostError",
    "MessageQueues",
    "NotFoundError",
    "ReceivedMessage",
    "StorageConnection",
    "StorageRequestError",
    "Where",
    "blob_store",
    "cosmos_client",
    "decode_content",
    "deterministic_id",
    "encode_content",
    "json_body",
    "message_queues",
    "poison_queue_name",
    "prediction_cache_container",
    "results_container",
]
