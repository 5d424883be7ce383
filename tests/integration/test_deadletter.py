"""Replaying Event Grid dead letters through the real pipeline against Azurite and the
Cosmos DB emulator: the blob a dead-lettered event names is routed (a job on its
modality's queue, or a rejection), and the dead-letter blob goes only when every event
in it was routed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prism.pipeline import Pipeline, build_pipeline
from prism.settings import load_settings
from prism.storage import CosmosConnection, StorageConnection
from prism.storage.blob_events import BLOB_CREATED
from prism_tools.deadletter import replay_dead_letters
from tests.isolation import own_resources, provision

pytestmark = pytest.mark.integration
DEAD_LETTERS = "SUBSCRIPTION/2026/11/30/9"


@pytest.fixture
def pipeline(
    storage_connection: StorageConnection,
    cosmos_settings: CosmosConnection,
    unique_name: str,
    built_models: dict[str, Any],
) -> Pipeline:
    settings = load_settings(own_resources(unique_name))
    built = build_pipeline(settings, storage=storage_connection, cosmos=cosmos_settings)
    provision(built.blobs, built.queues, settings)
    built.blobs.ensure_container(f"{unique_name}-dl")
    return built


def _event(container: str, name: str) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "eventType": BLOB_CREATED,
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "data": {"api": "PutBlob"},
        "deadLetterReason": "MaxDeliveryAttemptsExceeded",
        "deliveryAttempts": 30,
    }


def test_dead_lettered_blobs_are_routed_and_their_dead_letters_deleted(
    pipeline: Pipeline, unique_name: str
) -> None:
    incoming, dead_letters = pipeline.settings.incoming_container, f"{unique_name}-dl"
    pipeline.blobs.upload(incoming, "notes/hello.txt", b"Hello from a dead letter.")
    pipeline.blobs.upload(incoming, "empty.txt", b"")
    events = [_event(incoming, "notes/hello.txt"), _event(incoming, "empty.txt")]
    pipeline.blobs.upload(dead_letters, f"{DEAD_LETTERS}/a.json", json.dumps(events).encode())

    report = replay_dead_letters(pipeline.blobs, dead_letters, {incoming}, pipeline.ingest)

    assert [blob.name for blob in report.routed] == ["notes/hello.txt", "empty.txt"]
    assert report.deleted == [f"{DEAD_LETTERS}/a.json"]
    assert pipeline.queues.approximate_count(pipeline.settings.text_queue) == 1
    assert list(pipeline.blobs.list(dead_letters)) == []
    # Run again: nothing left to do, nothing routed twice.
    again = replay_dead_letters(pipeline.blobs, dead_letters, {incoming}, pipeline.ingest)
    assert (again.routed, again.deleted) == ([], [])


def test_a_dead_letter_with_an_event_replay_cannot_route_stays(
    pipeline: Pipeline, unique_name: str
) -> None:
    incoming, dead_letters = pipeline.settings.incoming_container, f"{unique_name}-dl"
    pipeline.blobs.upload(incoming, "a.txt", b"A sentence to route again.")
    events = [_event(incoming, "a.txt"), _event("elsewhere", "b.txt")]
    pipeline.blobs.upload(dead_letters, f"{DEAD_LETTERS}/b.json", json.dumps(events).encode())
    pipeline.blobs.upload(dead_letters, f"{DEAD_LETTERS}/c.json", b"not json")

    report = replay_dead_letters(pipeline.blobs, dead_letters, {incoming}, pipeline.ingest)

    assert [blob.name for blob in report.routed] == ["a.txt"]
    assert list(report.skipped) == [f"{DEAD_LETTERS}/b.json"]
    assert list(report.unreadable) == [f"{DEAD_LETTERS}/c.json"]
    assert report.deleted == []
    assert len(list(pipeline.blobs.list(dead_letters))) == 2
