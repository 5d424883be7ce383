"""The local host against the real emulators, driving a real Functions app
(tests/fixtures/apps/sample_app.py) through all four trigger types."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prism.storage import (
    StorageConnection,
    blob_store,
    json_body,
    message_queues,
    poison_queue_name,
)
from prism.storage.receipts import RECEIPTS_CONTAINER, BlobReceipts, receipt_name
from prism_local.devhost import DevHost, HostConfig, RuntimeWorker
from prism_local.devhost.bindings import Connections
from prism_local.devhost.host import BLOB_POISON_QUEUE
from prism_local.localstack.processes import free_port

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
KEY = "test-function-key"


@pytest.fixture
def environ(storage_connection_string: str, unique_name: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": storage_connection_string,
        "SAMPLE_STORAGE": storage_connection_string,
        "SAMPLE_CONTAINER": f"{unique_name}in",
        "SAMPLE_JOB_QUEUE": f"{unique_name}jobs",
        "SAMPLE_DONE_QUEUE": f"{unique_name}done",
        "SAMPLE_SEEN_QUEUE": f"{unique_name}seen",
        "SAMPLE_TICK_QUEUE": f"{unique_name}ticks",
        "PRISM_FUNCTION_KEY": KEY,
    }


def new_host(environ: dict[str, str]) -> DevHost:
    """A host whose worker (Microsoft's runtime, in its own process) serves the app."""
    worker = RuntimeWorker(APPS, environ, script_file="sample_app.py")
    return DevHost(worker, HostConfig.from_file(APPS / "host.json"), environ)


def drain(connection: str, queue: str) -> list[Any]:
    queues = message_queues(StorageConnection(connection_string=connection))
    queues.ensure_queue(queue)
    payloads = []
    while batch := queues.receive(queue, max_messages=32, visibility_timeout=60):
        for message in batch:
            payloads.append(message.json())
            queues.delete(message)
    return payloads


def run(host: DevHost) -> None:
    asyncio.run(host.run_until_idle(timeout=60))


def test_dropped_blob_runs_its_function_once_and_receipts_stop_reruns(
    environ: dict[str, str],
) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    store.upload(container, "a/cat.jpg", b"meow")

    run(new_host(environ))
    run(new_host(environ))  # a restarted host: the receipt remains

    seen = drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"])
    assert seen == [{"name": f"{container}/a/cat.jpg", "length": 4, "bytes": 4}]


def test_a_function_disabled_by_its_app_setting_does_not_run(environ: dict[str, str]) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    store.upload(container, "off.txt", b"x")

    run(new_host({**environ, "AzureWebJobs.on_upload.Disabled": "true"}))
    assert drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"]) == []
    run(new_host(environ))  # enabled again: the blob it left runs now
    assert len(drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"])) == 1


def test_host_never_reruns_a_blob_it_completed_before_the_receipt_is_listed(
    environ: dict[str, str],
) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    uploaded = store.upload(container, "x.txt", b"x")
    host = new_host(environ)
    run(host)
    # As if the receipt were written after a scan had listed the receipts.
    store.delete(RECEIPTS_CONTAINER, receipt_name("on_upload", container, "x.txt", uploaded.etag))

    run(host)

    assert host.stats.succeeded["on_upload"] == 1


def test_overwritten_blob_runs_again_under_its_new_etag(environ: dict[str, str]) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    store.upload(container, "doc.txt", b"one")
    run(new_host(environ))

    store.upload(container, "doc.txt", b"three")
    run(new_host(environ))

    seen = drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"])
    assert [s["bytes"] for s in seen] == [3, 5]


def test_failing_blob_is_tried_the_maximum_then_reported_as_poison(environ: dict[str, str]) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    store.upload(container, "bad.bin", b"fail!")
    host = new_host(environ)

    run(host)

    assert host.stats.failed["on_upload"] == host.config.queues.max_dequeue_count
    poisoned = drain(environ["AzureWebJobsStorage"], BLOB_POISON_QUEUE)
    assert {"ContainerName": container, "BlobName": "bad.bin"}.items() <= next(
        p for p in poisoned if p["ContainerName"] == container
    ).items()


def test_a_blob_whose_runs_kill_the_host_is_poisoned_without_running_again(
    environ: dict[str, str],
) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    uploaded = store.upload(container, "crasher.txt", b"ok")
    host = new_host(environ)
    # Every start so far died with its host: each was counted, none finished.
    receipts = BlobReceipts(
        blob_store(StorageConnection(connection_string=environ["AzureWebJobsStorage"]))
    )
    for _ in range(host.config.queues.max_dequeue_count):
        receipts.start("on_upload", uploaded)

    run(host)

    assert host.stats.succeeded["on_upload"] == host.stats.failed["on_upload"] == 0
    poisoned = drain(environ["AzureWebJobsStorage"], BLOB_POISON_QUEUE)
    assert any(p["BlobName"] == "crasher.txt" for p in poisoned)
    assert drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"]) == []


def test_queue_message_runs_the_handler_with_its_dequeue_count(environ: dict[str, str]) -> None:
    queues = message_queues(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    queues.ensure_queue(environ["SAMPLE_JOB_QUEUE"])
    queues.send(environ["SAMPLE_JOB_QUEUE"], json_body({"n": 1}))

    run(new_host(environ))

    assert drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_DONE_QUEUE"]) == [
        {"n": 1, "dequeue_count": 1, "peak": 1}
    ]
    assert queues.approximate_count(environ["SAMPLE_JOB_QUEUE"]) == 0


def test_failing_message_is_retried_up_to_max_dequeue_count_then_poisoned(
    environ: dict[str, str],
) -> None:
    queues = message_queues(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    job_queue = environ["SAMPLE_JOB_QUEUE"]
    queues.ensure_queue(job_queue)
    queues.send(job_queue, json_body({"n": 2, "fail": True}))
    host = new_host(environ)

    run(host)

    assert host.stats.failed["on_job"] == host.config.queues.max_dequeue_count == 3
    assert drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_DONE_QUEUE"]) == []
    assert drain(environ["SAMPLE_STORAGE"], poison_queue_name(job_queue)) == [
        {"n": 2, "fail": True}
    ]


def test_async_handlers_run_concurrently_within_host_json_limits(environ: dict[str, str]) -> None:
    queues = message_queues(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    queues.ensure_queue(environ["SAMPLE_JOB_QUEUE"])
    for n in range(12):
        queues.send(environ["SAMPLE_JOB_QUEUE"], json_body({"n": n, "sleep": 0.2}))
    host = new_host(environ)

    run(host)

    done = drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_DONE_QUEUE"])
    # The worker runs async functions on one loop: each run reports the peak it saw.
    assert 1 < max(d["peak"] for d in done) <= host.config.queues.max_concurrency
    assert sorted(d["n"] for d in done) == list(range(12))


def test_a_backlog_of_blobs_runs_within_host_json_limits_as_the_blob_trigger_does(
    environ: dict[str, str],
) -> None:
    store = blob_store(StorageConnection(connection_string=environ["SAMPLE_STORAGE"]))
    container = environ["SAMPLE_CONTAINER"]
    store.ensure_container(container)
    for n in range(12):
        store.upload(container, f"slow-{n}.txt", b"slow")
    host = new_host(environ)

    run(host)

    seen = drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"])
    assert sorted(s["name"] for s in seen) == sorted(f"{container}/slow-{n}.txt" for n in range(12))
    # host.json blobs.maxDegreeOfParallelism bounds blob runs, as on Azure.
    assert host.config.blobs.max_degree_of_parallelism == 4
    assert 1 < max(s["peak"] for s in seen) <= 4


def test_timer_that_runs_on_startup_runs_once(environ: dict[str, str]) -> None:
    run(new_host(environ))
    assert drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_TICK_QUEUE"]) == [{"past_due": False}]


@contextlib.contextmanager
def serving(host: DevHost) -> Iterator[str]:
    """``host`` serving on a free port in a thread of its own; yields its base URL once
    it answers (the worker starts first, however long that takes here)."""
    port = free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    task = loop.create_task(host.serve(stop, http_port=port))
    thread = threading.Thread(target=loop.run_until_complete, args=(task,))
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not task.done():  # until it answers (or fails to start)
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "the host never answered"
                time.sleep(0.05)
        yield base
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
        loop.close()


@pytest.fixture
def served(environ: dict[str, str]) -> Iterator[str]:
    """The sample app served over HTTP on a free port; yields its base URL."""
    with serving(new_host(environ)) as base:
        yield base


class CountedListings(Connections):
    """The host's storage, counting how often it lists each container."""

    def __init__(self, environ: dict[str, str]) -> None:
        super().__init__(environ)
        self.listings: Counter[str] = Counter()

    def blobs(self, name: str | None) -> Any:
        store = super().blobs(name)
        if not getattr(store, "counted", False):  # stores are shared: count each once
            original = store.list

            def counted(container: str, *args: Any, **kwargs: Any) -> Any:
                self.listings[container] += 1
                return original(container, *args, **kwargs)

            store.list = counted  # type: ignore[method-assign]
            store.counted = True  # type: ignore[attr-defined]
        return store


def test_a_blob_announced_by_an_event_runs_without_the_container_being_listed(
    environ: dict[str, str], unique_name: str
) -> None:
    environ = {**environ, "PRISM_LOCAL_BLOB_EVENTS_QUEUE": f"{unique_name}events"}
    connections = CountedListings(environ)
    worker = RuntimeWorker(APPS, environ, script_file="sample_app.py")
    host = DevHost(worker, HostConfig.from_file(APPS / "host.json"), environ, connections)
    host.reconcile_seconds = 3600  # no scan after the first: only the event can find it
    container = environ["SAMPLE_CONTAINER"]
    uploader = blob_store(StorageConnection.from_environ(environ, name="SAMPLE_STORAGE"))
    uploader.ensure_container(container)
    with serving(host):
        deadline = time.monotonic() + 60
        while connections.listings[container] == 0:  # the scan a host makes when it starts
            assert time.monotonic() < deadline, "the host never scanned its container"
            time.sleep(0.05)
        uploader.upload(container, "announced.txt", b"hello")
        seen: list[Any] = []
        deadline = time.monotonic() + 120
        while not seen:
            assert time.monotonic() < deadline, "the announced blob never ran"
            seen = drain(environ["SAMPLE_STORAGE"], environ["SAMPLE_SEEN_QUEUE"])
            time.sleep(0.1)
        listings = connections.listings[container]
    assert seen == [{"name": f"{container}/announced.txt", "length": 5, "bytes": 5}]
    assert listings == 1


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_http_function_route_answers_with_the_key_and_401_without(served: str) -> None:
    status, body = fetch(f"{served}/api/items/42?q=x", {"x-functions-key": KEY})
    assert (status, json.loads(body)) == (200, {"id": "42", "q": "x"})
    assert fetch(f"{served}/api/items/42?code={KEY}")[0] == 200
    assert fetch(f"{served}/api/items/42")[0] == 401
    assert fetch(f"{served}/api/items/42", {"x-functions-key": "wrong"})[0] == 401


def test_http_anonymous_route_needs_no_key_and_unknown_paths_are_404(served: str) -> None:
    assert fetch(f"{served}/api/health") == (200, b"ok")
    assert fetch(f"{served}/api/nothing-here")[0] == 404
    assert fetch(f"{served}/api/items/42", {"x-functions-key": KEY}, method="POST")[0] == 405
