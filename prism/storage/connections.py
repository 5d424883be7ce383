"""Where the storage account and the Cosmos DB account are, and how to authenticate.

Both follow the Functions host's conventions for a connection named ``NAME``, so the
same app settings serve the bindings and the SDK clients:

* storage — ``NAME`` holds a connection string (Azurite's locally), or, identity-based
  on Azure, ``NAME__blobServiceUri`` / ``NAME__queueServiceUri`` (+ ``NAME__clientId``
  for a user-assigned identity);
* Cosmos DB — ``NAME__accountEndpoint`` plus either ``NAME__key`` (the local emulator)
  or managed identity (+ ``NAME__clientId``).

Values are read when ``from_environ`` is called, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from prism.errors import ConfigurationError
from prism.settings import Env

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _value(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name)
    return raw.strip() if raw and raw.strip() else None


def managed_identity(client_id: str | None) -> TokenCredential:
    """The app's identity: the user-assigned one named by ``client_id``, else whatever
    :class:`DefaultAzureCredential` finds (system identity on Azure, a developer login
    elsewhere)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


@dataclass(frozen=True)
class StorageConnection:
    connection_string: str | None = field(default=None, repr=False)  # holds an account key
    blob_service_uri: str | None = None
    queue_service_uri: str | None = None
    client_id: str | None = None
    # Locally only: where blobs written through this connection are announced
    # (prism.storage.blob_events); on Azure, Event Grid does it.
    blob_events_queue: str | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, name: str = Env.STORAGE_CONNECTION
    ) -> StorageConnection:
        env = os.environ if environ is None else environ
        connection = cls(
            connection_string=_value(env, name),
            blob_service_uri=_value(env, f"{name}__blobServiceUri")
            or _value(env, f"{name}__serviceUri"),
            queue_service_uri=_value(env, f"{name}__queueServiceUri"),
            client_id=_value(env, f"{name}__clientId"),
            blob_events_queue=_value(env, Env.LOCAL_BLOB_EVENTS_QUEUE),
        )
        identity_based = connection.blob_service_uri and connection.queue_service_uri
        if connection.connection_string is None and not identity_based:
            raise ConfigurationError(
                f"storage connection {name} is not configured: set {name} to a connection "
                f"string, or {name}__blobServiceUri and {name}__queueServiceUri"
            )
        return connection


@dataclass(frozen=True)
class CosmosConnection:
    endpoint: str
    key: str | None = field(default=None, repr=False)
    client_id: str | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, name: str = Env.COSMOS_CONNECTION
    ) -> CosmosConnection:
        env = os.environ if environ is None else environ
        endpoint = _value(env, f"{name}__accountEndpoint")
        if endpoint is None:
            raise ConfigurationError(f"Cosmos DB connection {name}__accountEndpoint is not set")
        return cls(
            endpoint=endpoint,
            key=_value(env, f"{name}__key"),
            client_id=_value(env, f"{name}__clientId"),
        )

    @property
    def is_loopback(self) -> bool:
        return urlsplit(self.endpoint).hostname in LOOPBACK_HOSTS
