"""Uploads from the console against Azurite: the blob lands in the incoming container,
which is created if a fresh emulator does not have it yet."""

from __future__ import annotations

import asyncio
import json
from typing import cast

import azure.functions as func
import pytest

import prism.client
from functions import console
from prism.client import PipelineClient
from prism.console.uploads import upload_file
from prism.settings import load_settings
from prism.storage import DocumentContainer, StorageConnection, blob_store, message_queues
from tests.isolation import own_resources

pytestmark = pytest.mark.integration


@pytest.fixture
def client(storage_connection: StorageConnection, unique_name: str) -> PipelineClient:
    """A client whose incoming container does not exist yet (nothing provisioned)."""
    return PipelineClient(
        load_settings(own_resources(unique_name)),
        blobs=blob_store(storage_connection),
        queues=message_queues(storage_connection),
        results=cast(DocumentContainer, None),  # an upload writes no document
    )


def test_an_upload_into_a_missing_incoming_container_creates_it_and_lands(
    client: PipelineClient,
) -> None:
    incoming = client.settings.incoming_container
    assert not client.blobs.container_exists(incoming)

    uploaded = upload_file(client, "C:\\photos\\cat.jpg", b"\xff\xd8\xff data")

    assert uploaded["name"] == "cat.jpg"
    assert uploaded["size"] == 8
    assert client.blobs.download(incoming, uploaded["blob"]) == b"\xff\xd8\xff data"


def test_an_upload_into_an_existing_incoming_container_lands_once(
    client: PipelineClient,
) -> None:
    incoming = client.settings.incoming_container
    client.blobs.ensure_container(incoming)

    uploaded = upload_file(client, "notes.txt", b"hello")

    assert [blob.name for blob in client.blobs.list(incoming)] == [uploaded["blob"]]


def test_the_console_upload_route_answers_202_when_the_incoming_container_was_missing(
    client: PipelineClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prism.client, "connect", lambda: client)
    (upload,) = [
        builder.build().get_user_function()
        for builder in console.bp._function_builders
        if builder.build().get_function_name() == "api_files"
    ]
    request = func.HttpRequest(
        "POST", "http://h/api/v1/files", headers={"content-length": "5"},
        params={"name": "notes.txt"}, body=b"hello",
    )  # fmt: skip

    response = asyncio.run(upload(request))

    assert response.status_code == 202, response.get_body()
    body = json.loads(response.get_body())
    assert client.blobs.download(client.settings.incoming_container, body["blob"]) == b"hello"
