"""A blob's result by its name, against Azurite and the Cosmos DB emulator: the result
of its current version, pending until there is one, and after the blob is gone the
newest result recorded under its name."""

from __future__ import annotations

import pytest

from prism.queries import find_latest_by_blob
from prism.results import Source, blob_result_id, result_document
from prism.settings import load_settings
from prism.storage import (
    AzureBlobStore,
    CosmosConnection,
    DocumentContainer,
    StorageConnection,
    results_container,
)
from prism.storage.clients import blob_store

pytestmark = pytest.mark.integration


@pytest.fixture
def blobs(storage_connection: StorageConnection, unique_name: str) -> AzureBlobStore:
    store = blob_store(storage_connection)
    store.ensure_container(unique_name)
    return store


@pytest.fixture
def results(cosmos_settings: CosmosConnection, unique_name: str) -> DocumentContainer:
    return results_container(cosmos_settings, load_settings({}, cosmos_database=unique_name))


def record(results: DocumentContainer, container: str, name: str, etag: str) -> str:
    document_id = blob_result_id(container, name, etag)
    results.upsert(
        result_document(
            document_id=document_id,
            modality="text",
            source=Source(
                kind="blob", name=name, size=1, container=container, blob=name, etag=etag
            ),
            result={"labels": []},
        )
    )
    return document_id


def test_a_blobs_result_is_found_by_its_name_for_its_current_version(
    blobs: AzureBlobStore, results: DocumentContainer, unique_name: str
) -> None:
    container, name = unique_name, "dir/report ü.txt"
    first = blobs.upload(container, name, b"first")

    pending = find_latest_by_blob(results, blobs, container, name)
    assert pending is not None and pending.state == "pending" and pending.result is None
    assert pending.id == blob_result_id(container, name, first.etag)

    first_id = record(results, container, name, first.etag)
    done = find_latest_by_blob(results, blobs, container, name)
    assert done is not None and (done.state, done.id) == ("done", first_id)
    assert done.result is not None and done.result["id"] == first_id

    second = blobs.upload(container, name, b"second, overwritten", overwrite=True)
    newer = find_latest_by_blob(results, blobs, container, name)
    assert newer is not None and newer.state == "pending"  # the new version's, not the old
    assert newer.id == blob_result_id(container, name, second.etag) != first_id

    blobs.delete(container, name)
    gone = find_latest_by_blob(results, blobs, container, name)
    assert gone is not None and (gone.state, gone.id) == ("gone", first_id)


def test_a_name_with_no_blob_and_no_result_is_not_found(
    blobs: AzureBlobStore, results: DocumentContainer, unique_name: str
) -> None:
    assert find_latest_by_blob(results, blobs, unique_name, "never-uploaded.txt") is None
