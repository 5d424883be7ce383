from __future__ import annotations

import pytest

from prism.errors import ConfigurationError
from prism.storage import CosmosConnection, StorageConnection

AZURITE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;"


def test_storage_connection_string_comes_from_the_connection_name() -> None:
    connection = StorageConnection.from_environ({"PRISM_STORAGE": AZURITE})
    assert connection.connection_string == AZURITE
    assert "c2VjcmV0" not in repr(connection)


def test_identity_based_storage_needs_blob_and_queue_uris() -> None:
    environ = {
        "PRISM_STORAGE__blobServiceUri": "https://acct.blob.core.windows.net",
        "PRISM_STORAGE__queueServiceUri": "https://acct.queue.core.windows.net",
        "PRISM_STORAGE__clientId": "00000000-0000-0000-0000-000000000001",
    }
    connection = StorageConnection.from_environ(environ)
    assert connection.connection_string is None
    assert connection.client_id == environ["PRISM_STORAGE__clientId"]

    del environ["PRISM_STORAGE__queueServiceUri"]
    with pytest.raises(ConfigurationError, match="PRISM_STORAGE"):
        StorageConnection.from_environ(environ)


def test_storage_connection_can_be_named() -> None:
    connection = StorageConnection.from_environ(
        {"AzureWebJobsStorage": AZURITE}, "AzureWebJobsStorage"
    )
    assert connection.connection_string == AZURITE


def test_cosmos_connection_reads_endpoint_key_and_client_id() -> None:
    connection = CosmosConnection.from_environ(
        {"PRISM_COSMOS__accountEndpoint": "https://127.0.0.1:8081/", "PRISM_COSMOS__key": "a2V5"}
    )
    assert (connection.endpoint, connection.key, connection.client_id) == (
        "https://127.0.0.1:8081/",
        "a2V5",
        None,
    )
    assert connection.is_loopback
    assert "a2V5" not in repr(connection)


def test_cosmos_without_a_key_uses_identity_and_is_remote() -> None:
    connection = CosmosConnection.from_environ(
        {"PRISM_COSMOS__accountEndpoint": "https://acct.documents.azure.com:443/"}
    )
    assert connection.key is None
    assert not connection.is_loopback


def test_cosmos_without_an_endpoint_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="accountEndpoint"):
        CosmosConnection.from_environ({"PRISM_COSMOS__key": "a2V5"})
