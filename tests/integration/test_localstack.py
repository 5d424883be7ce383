from __future__ import annotations

import http.client
import json
import ssl
import urllib.request
from pathlib import Path

import pytest

from prism.storage import StorageConnection, blob_store
from prism.storage.receipts import RECEIPTS_CONTAINER, BlobReceipts
from prism_local.localstack import LocalStack, StackState
from prism_local.localstack.processes import is_running
from prism_local.localstack.stack import AZURITE_MARKER, COSMOS_MARKER, DEVHOST_MARKER

pytestmark = pytest.mark.integration

# The sample app's settings; the stack fills in the connection strings.
SAMPLE_SETTINGS = {
    "SAMPLE_STORAGE": "UseDevelopmentStorage=true",
    "SAMPLE_CONTAINER": "incoming",
    "SAMPLE_JOB_QUEUE": "jobs",
    "SAMPLE_DONE_QUEUE": "done",
    "SAMPLE_SEEN_QUEUE": "seen",
    "SAMPLE_TICK_QUEUE": "ticks",
}


def test_start_again_returns_the_running_stack(
    local_stack_manager: LocalStack, local_stack: StackState
) -> None:
    assert local_stack_manager.start() == local_stack
    rows = {row.name: row for row in local_stack_manager.status()}
    assert rows["azurite"].running
    assert rows["cosmos"].running
    assert not rows["devhost"].running


def test_stop_ends_both_emulators_and_forgets_them(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, prefer_default_ports=False)
    state = stack.start()

    assert sorted(stack.stop()) == ["azurite", "cosmos"]

    assert not is_running(state.azurite.pid, AZURITE_MARKER)
    assert not is_running(state.cosmos.pid, COSMOS_MARKER)
    assert stack.read_state() is None
    assert not list((tmp_path / "run").glob("*.pid"))
    assert stack.stop() == []  # stopping a stopped stack is a no-op


def test_a_restart_with_an_empty_cosmos_emulator_runs_processed_blobs_again(
    tmp_path: Path,
) -> None:
    stack = LocalStack(tmp_path, prefer_default_ports=False)
    state = stack.start()
    try:
        store = blob_store(StorageConnection(connection_string=state.azurite.connection_string))
        store.ensure_container("incoming")
        done = store.upload("incoming", "processed.txt", b"a result the emulator held")
        started = store.upload("incoming", "started.txt", b"a run the stop cut short")
        BlobReceipts(store).complete("ingest", done)
        BlobReceipts(store).start("ingest", started)
        stack.stop()  # the Cosmos DB emulator's results die with it; Azurite's data stays

        state = stack.start()

        store = blob_store(StorageConnection(connection_string=state.azurite.connection_string))
        assert stack.redelivered == 1
        assert BlobReceipts(store).names("ingest") == []  # so the blob runs again
        assert list(store.list(RECEIPTS_CONTAINER)) == []  # the started one's count too
        assert [b.name for b in store.list("incoming")] == ["processed.txt", "started.txt"]
    finally:
        stack.stop()


def test_cosmos_emulator_keeps_connections_alive_over_tls_with_its_generated_certificate(
    local_stack: StackState,
) -> None:
    context = ssl.create_default_context(cafile=local_stack.cosmos.certificate)
    connection = http.client.HTTPSConnection("127.0.0.1", local_stack.cosmos.port, context=context)
    try:
        for _ in range(2):  # the second request reuses the socket
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            assert response.getheader("connection") == "keep-alive"
    finally:
        connection.close()


def test_devhost_started_in_the_background_serves_http_and_stops_with_the_stack(
    tmp_path: Path,
) -> None:
    apps = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": SAMPLE_SETTINGS}))
    stack = LocalStack(tmp_path / "state", prefer_default_ports=False)
    try:
        state = stack.start_devhost("sample_app", settings, app_dir=apps)
        assert state.devhost is not None
        assert stack.start_devhost("sample_app", settings, app_dir=apps) == state  # idempotent

        with urllib.request.urlopen(f"{state.devhost.url}/api/health", timeout=10) as answer:
            assert answer.read() == b"ok"
    finally:
        stopped = stack.stop()
    assert sorted(stopped) == ["azurite", "cosmos", "devhost"]
    assert not is_running(state.devhost.pid, DEVHOST_MARKER)
