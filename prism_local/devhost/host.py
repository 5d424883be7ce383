"""The local Functions host: serves an app's triggers against the emulators, and hands
every invocation to Microsoft's Python worker runtime (:mod:`prism_local.devhost.worker`) in
FunctionRpc messages, as the Functions host does on Azure.

* blob triggers (``source: EventGrid`` on Azure): the container is listed and every
  blob version without a receipt is run, standing in for ``BlobCreated`` events; each
  start is counted in storage before it runs, a failure is retried on the next scan,
  and the ``maxDequeueCount``-th start (a crash counts) sends the blob to
  ``webjobs-blobtrigger-poison`` as with the host's blob trigger; at most host.json
  ``blobs.maxDegreeOfParallelism`` blob runs at once across the app's blob functions,
  as on Azure (a backlog of thousands of blobs starts as many as that, not all of them);
* queue triggers: ``batchSize`` messages per receive, a new batch whenever no more
  than ``newBatchThreshold`` run; a message is decoded as host.json
  ``messageEncoding`` says (one that cannot be goes to ``<queue>-poison`` at once); a
  failure releases the message for ``visibilityTimeout``, and the
  ``maxDequeueCount``-th failure moves it to ``<queue>-poison``;
* ``functionTimeout`` bounds every invocation: past it, the invocation has failed;
* the worker runs ``async def`` functions concurrently on its event loop (so an
  in-process micro-batcher can coalesce them) and plain ones in its thread pool; if
  its process dies — busy or idle — a new worker is started at once, the invocations
  in flight fail (and are retried as their triggers say), and the ones that arrive
  meanwhile wait for the new worker;
* HTTP routes (see :mod:`prism_local.devhost.routes`) and timers.

The event loop serves HTTP and carries the worker's stream, and nothing else runs on
it: storage calls run in a pool of their own, triggers' polls under a deadline, and CPU
work on payloads in another pool (:mod:`prism_local.devhost.pools`). A stalled storage
service slows what touches storage, never an HTTP route that does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from prism.errors import PermanentError, PrismError
from prism.params import KEY_PARAMETER
from prism.settings import Env
from prism.storage import (
    BLOB_TRIGGER_POISON_QUEUE,
    BlobInfo,
    BlobStore,
    LeaseLostError,
    MessageQueues,
    NotFoundError,
    ReceivedMessage,
    json_body,
    poison_queue_name,
)
from prism.storage.blob_events import BlobEventsFormatError, parse_blob_events
from prism.storage.receipts import BlobReceipts, unreceipted
from prism_local.devhost.bindings import (
    Connections,
    HttpCall,
    Inputs,
    blob_inputs,
    blob_path,
    http_inputs,
    http_result,
    queue_inputs,
    timer_inputs,
    write_outputs,
)
from prism_local.devhost.config import HostConfig, resolve_settings
from prism_local.devhost.http import HttpAnswer, HttpFront, HttpRequest, error_answer
from prism_local.devhost.indexing import FunctionSpec
from prism_local.devhost.pools import StoragePool, run_cpu
from prism_local.devhost.routes import HostKeys, Router, WrongMethod, authorized
from prism_local.devhost.timers import Schedule
from prism_local.devhost.worker import (
    Worker,
    WorkerFailedError,
    WorkerUnavailableError,
    invocation_failure,
)
from prism_local.logs import one_line

T = TypeVar("T")

log = logging.getLogger("prism_local.devhost")

BLOB_POISON_QUEUE = BLOB_TRIGGER_POISON_QUEUE
# The host leases a message for 10 minutes (and renews it); a run longer than that may
# see the message delivered again, which at-least-once handlers already tolerate. A
# killed host's messages reappear when their lease ends: fault tests shorten it with
# LEASE_SETTING so that happens within the test.
LEASE_SECONDS = 600
LEASE_SETTING = Env.DEVHOST_LEASE_SECONDS
BLOB_SCAN_SECONDS = 1.0
# With the stack's BlobCreated events: how often the events queue is read, and how often
# the container is listed anyway, for blobs that arrived without an event.
BLOB_EVENT_POLL_SECONDS = 0.1
RECONCILE_SECONDS = 30.0
_IDLE_POLL_SECONDS = 0.05
# A trigger's poll (a receive, a blob's lookup) answers in milliseconds when storage is
# well; past this it is abandoned and the trigger polls again, the stall in its log.
POLL_DEADLINE_SECONDS = 30.0
# A full listing of a container and of its receipts grows with the container.
SCAN_DEADLINE_SECONDS = 600.0
# A worker that cannot be started again (say, the app no longer imports) is retried.
WORKER_RESTART_RETRY_SECONDS = 5.0


@dataclass
class HostStats:
    """What ran, per function name."""

    succeeded: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    poisoned: Counter[str] = field(default_factory=Counter)


class InvocationFailedError(RuntimeError):
    """The worker reported the invocation as failed (the function raised, or timed out)."""


class DevHost:
    def __init__(
        self,
        worker: Worker,
        config: HostConfig,
        environ: Mapping[str, str] | None = None,
        connections: Connections | None = None,
    ) -> None:
        self.worker = worker
        self.functions: list[FunctionSpec] = []
        self.config = config
        self.environ = os.environ if environ is None else environ
        self.connections = connections or Connections(self.environ)
        self.router = Router([], config.route_prefix)
        self.keys = HostKeys(
            function=self.environ.get(Env.FUNCTION_KEY) or None,
            master=self.environ.get(Env.MASTER_KEY) or None,
        )
        self.lease_seconds = int(self.environ.get(LEASE_SETTING) or LEASE_SECONDS)
        self.stats = HostStats()
        self._of_type: Callable[[str], list[FunctionSpec]] = lambda kind: [
            f for f in self.functions if f.trigger.type == kind
        ]
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: Counter[str] = Counter()  # queue function → invocations in flight
        self._blobs_in_flight: set[tuple[str, str, str]] = set()
        # Blob versions this host has receipted. A scan lists blobs, then receipts, then
        # filters; a run that writes its receipt after that listing and leaves the
        # in-flight set before the filter would otherwise look new and run twice.
        self._blobs_done: set[tuple[str, str, str]] = set()
        # Blob function -> what its last scan found and had no room to start yet: started
        # as room frees, as events wait in Event Grid's queue, not at the next scan.
        self._blob_backlog: dict[str, deque[BlobInfo]] = {}
        self._prepared = False
        self._started = False
        self._restarting: asyncio.Lock | None = None
        self._worker_ready: asyncio.Event | None = None  # clear while one is started
        self._watchdog: asyncio.Task[None] | None = None
        self._storage_pool: StoragePool | None = None
        # Queue function -> the event that wakes its polling loop (serve mode).
        self._wakeups: dict[str, asyncio.Event] = {}
        self.blob_events_queue = self.environ.get(Env.LOCAL_BLOB_EVENTS_QUEUE) or None
        self.reconcile_seconds = RECONCILE_SECONDS

    @functools.cached_property
    def _receipts(self) -> BlobReceipts:
        return BlobReceipts(self.connections.blobs(Env.WEBJOBS_STORAGE))

    # -- invocation ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker and learn the app's functions from its indexing."""
        if self._started:
            return
        self._restarting = asyncio.Lock()
        self._worker_ready = asyncio.Event()
        self._storage_pool = StoragePool()
        await self._start_worker()
        self._worker_ready.set()
        self._started = True
        self._watchdog = asyncio.ensure_future(self._watch_worker())

    async def _start_worker(self) -> None:
        """Start a worker process and route to the functions its indexing reports, but
        those an ``AzureWebJobs.<name>.Disabled`` app setting turns off (as on Azure)."""
        self.functions = [f for f in await self.worker.start() if not self._disabled(f.name)]
        self.router = Router(self.functions, self.config.route_prefix)

    def _disabled(self, name: str) -> bool:
        return self.environ.get(f"AzureWebJobs.{name}.Disabled", "").lower() in ("true", "1")

    async def stop(self) -> None:
        if self._started:
            self._started = False
            if self._watchdog is not None:
                self._watchdog.cancel()
                await asyncio.gather(self._watchdog, return_exceptions=True)
            await self.worker.stop()
            if self._storage_pool is not None:
                self._storage_pool.shutdown()

    async def _storage(
        self,
        call: Callable[[], T],
        *,
        deadline: float | None = None,
        on_late: Callable[[T], object] | None = None,
    ) -> T:
        """A blocking storage call, in the host's storage pool (see pools)."""
        assert self._storage_pool is not None, "the host has not started"
        return await self._storage_pool.run(call, deadline=deadline, on_late=on_late)

    async def _invoke(
        self, spec: FunctionSpec, inputs: Inputs, binding_data: Mapping[str, str]
    ) -> Any:
        """One invocation through the worker; raises if it failed. Its outputs are
        written; its ``InvocationResponse`` is returned."""
        try:
            # host.json functionTimeout: past it the invocation has failed (the
            # Functions host then restarts the worker; here the call is abandoned).
            async with asyncio.timeout(self.config.function_timeout):
                response = await self._call_worker(spec, inputs)
            failure = invocation_failure(response)
            if failure is not None:
                raise InvocationFailedError(f"{spec.name}: {failure}")
            # An HTTP output is the answer itself; queue and blob outputs are storage
            # writes, which an HTTP function without any must not wait behind.
            if any(output.type != "http" for output in spec.outputs):
                await self._storage(
                    functools.partial(write_outputs, spec, response, binding_data, self.connections)
                )
            return response
        finally:
            # It may have sent a message (ingest queues jobs) or freed room for a batch.
            self._wake_queue_loops()

    async def _call_worker(self, spec: FunctionSpec, inputs: Inputs) -> Any:
        """The worker's response. An invocation no worker received (its process had
        ended before it was sent) waits for the new worker and goes to it; one the
        ended worker had received has failed, as on Azure."""
        assert self._worker_ready is not None
        while True:
            await self._worker_ready.wait()
            try:
                return await self.worker.invoke(spec, inputs.data, inputs.trigger_metadata)
            except WorkerUnavailableError:
                await self._restart_worker()
            except WorkerFailedError:
                await self._restart_worker()
                raise

    def _wake_queue_loops(self) -> None:
        for wake in self._wakeups.values():
            wake.set()

    async def _restart_worker(self) -> None:
        """A worker whose process died is replaced (once, however many invocations
        noticed), as the Functions host restarts a crashed language worker;
        invocations wait for the new one meanwhile."""
        assert self._restarting is not None and self._worker_ready is not None
        async with self._restarting:
            if await self.worker.alive():
                return
            self._worker_ready.clear()
            log.error("the worker process ended; starting a new one")
            await self.worker.stop()
            try:
                await self._start_worker()
            except BaseException:
                # Half started is not started: stopped, so that the next try is afresh.
                await self.worker.stop()
                raise
            self._worker_ready.set()
            log.info("a new worker serves %d functions", len(self.functions))

    async def _watch_worker(self) -> None:
        """Replace the worker the moment its process ends — killed, crashed, idle or not
        — rather than when the next invocation finds it gone."""
        while self._started:
            await self.worker.ended()
            if not self._started:
                return
            try:
                await self._restart_worker()
            except Exception:
                log.exception("the worker could not be started again; retrying in %g s",
                              WORKER_RESTART_RETRY_SECONDS)  # fmt: skip
                await asyncio.sleep(WORKER_RESTART_RETRY_SECONDS)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare(self) -> None:
        """Create the containers and queues triggers listen on, as deployment would."""
        if self._prepared:
            return
        for spec in self._of_type("blobTrigger"):
            container, _ = blob_path(spec.trigger, self.environ)
            store = self.connections.blobs(spec.trigger.get("connection"))
            await self._storage(functools.partial(store.ensure_container, container))
            if self.blob_events_queue is not None:  # where the events arrive, as a
                # deployment creates the Event Grid subscription
                events = self.connections.queues(spec.trigger.get("connection"))
                await self._storage(functools.partial(events.ensure_queue, self.blob_events_queue))
        for spec in self._of_type("queueTrigger"):
            queues, queue = self._queue_of(spec)
            await self._storage(functools.partial(queues.ensure_queue, queue))
        self._prepared = True

    # -- queue triggers ------------------------------------------------------------------

    def _queue_of(self, spec: FunctionSpec) -> tuple[MessageQueues, str]:
        queue = resolve_settings(str(spec.trigger.get("queueName")), self.environ)
        return self.connections.queues(spec.trigger.get("connection")), queue

    async def _queue_round(self, spec: FunctionSpec) -> int:
        """Fetch one batch if the function has room for it; the number started."""
        options = self.config.queues
        if self._running[spec.name] > options.new_batch_threshold:
            return 0
        queues, queue = self._queue_of(spec)
        receive = functools.partial(
            queues.receive, queue, max_messages=options.batch_size,
            visibility_timeout=self.lease_seconds,
        )  # fmt: skip
        messages = await self._storage(
            receive, deadline=POLL_DEADLINE_SECONDS, on_late=functools.partial(_release, queues)
        )
        for message in messages:
            self._running[spec.name] += 1
            self._spawn(self._run_message(spec, queues, message))
        return len(messages)

    async def _run_message(
        self, spec: FunctionSpec, queues: MessageQueues, message: ReceivedMessage
    ) -> None:
        options = self.config.queues
        try:
            if message.dequeue_count > options.max_dequeue_count:
                # Delivered past the maximum without a recorded failure (a crash mid-run).
                await self._poison(spec, queues, message)
                return
            try:
                body = self._message_bytes(message)
            except PermanentError as error:
                # Retrying cannot decode it: the host poisons such a message at once.
                log.error("%s: message %s: %s", spec.name, message.id, error.message)
                await self._poison(spec, queues, message)
                return
            try:
                await self._invoke(spec, queue_inputs(spec, message, body), {})
            except Exception:
                self.stats.failed[spec.name] += 1
                log.exception(
                    "%s failed on message %s (dequeue count %d)",
                    spec.name, message.id, message.dequeue_count,
                )  # fmt: skip
                if message.dequeue_count >= options.max_dequeue_count:
                    await self._poison(spec, queues, message)
                else:
                    await self._storage(
                        functools.partial(
                            queues.release, message,
                            visibility_timeout=int(options.visibility_timeout),
                        )
                    )  # fmt: skip
                return
            self.stats.succeeded[spec.name] += 1
            await self._storage(functools.partial(queues.delete, message))
        except LeaseLostError as exc:
            log.warning("%s: %s (the message may run again)", spec.name, exc.message)
        finally:
            self._running[spec.name] -= 1

    def _message_bytes(self, message: ReceivedMessage) -> bytes:
        """The message's bytes as host.json ``messageEncoding`` says it holds them."""
        if self.config.queues.message_encoding == "none":
            return message.content.encode("utf-8")
        return message.body()

    async def _poison(
        self, spec: FunctionSpec, queues: MessageQueues, message: ReceivedMessage
    ) -> None:
        poison = poison_queue_name(message.queue)
        await self._storage(functools.partial(queues.move, message, poison))
        self.stats.poisoned[spec.name] += 1
        log.error("%s: message %s moved to %s", spec.name, message.id, poison)

    # -- blob triggers -------------------------------------------------------------------

    def _start_blob(self, spec: FunctionSpec, blob: BlobInfo, prefix: str) -> bool:
        key = (spec.name, blob.name, blob.etag)
        if key in self._blobs_in_flight or key in self._blobs_done:
            return False
        self._blobs_in_flight.add(key)
        self._spawn(self._run_blob(spec, blob, prefix))
        return True

    def _blob_room(self) -> int:
        """How many more blob runs may start now: host.json maxDegreeOfParallelism
        bounds them across every blob function of the app, as on Azure."""
        return self.config.blobs.max_degree_of_parallelism - len(self._blobs_in_flight)

    async def _blob_event_round(self, spec: FunctionSpec) -> int:
        """Start the function on the blobs the BlobCreated events waiting on the stack's
        events queue name: the cost grows with new blobs, not with the container. Only
        as many events are taken as the function has room for; the rest wait queued."""
        events_queue = self.blob_events_queue
        assert events_queue is not None
        room = self._blob_room()
        if room <= 0:
            return 0
        container, prefix = blob_path(spec.trigger, self.environ)
        queues = self.connections.queues(spec.trigger.get("connection"))
        store = self.connections.blobs(spec.trigger.get("connection"))

        def receive() -> list[tuple[ReceivedMessage, list[str]]]:
            messages = queues.receive(events_queue, max_messages=min(32, room),
                                      visibility_timeout=60)  # fmt: skip
            return [(message, _event_blobs(message, container, prefix)) for message in messages]

        def late(events: list[tuple[ReceivedMessage, list[str]]]) -> None:
            _release(queues, [message for message, _ in events])

        events = await self._storage(receive, deadline=POLL_DEADLINE_SECONDS, on_late=late)
        started = 0
        for message, names in events:
            handled = True
            for name in names:
                if self._blob_room() <= 0:
                    handled = False  # kept: it comes back once its visibility lapses
                    break
                blob = await self._storage(
                    functools.partial(self._unreceipted_blob, spec, store, container, name),
                    deadline=POLL_DEADLINE_SECONDS,
                )
                if blob is not None:
                    started += self._start_blob(spec, blob, prefix)
            # Dropped once its runs have started: a host that dies before they finish
            # finds their blobs again in the scan it makes when it starts.
            if handled:
                await self._storage(
                    functools.partial(queues.delete, message), deadline=POLL_DEADLINE_SECONDS
                )
        return started

    def _unreceipted_blob(
        self, spec: FunctionSpec, store: BlobStore, container: str, name: str
    ) -> BlobInfo | None:
        """The blob's current version if the function has no receipt for it (blocks)."""
        try:
            blob = store.properties(container, name)
        except NotFoundError:
            return None  # deleted since: nothing to run
        return None if self._receipts.has(spec.name, blob) else blob

    async def _blob_round(self, spec: FunctionSpec) -> int:
        """Start the function on every blob version it has no receipt for (a full scan
        of the container: with events, only at start and to reconcile), as far as there
        is room; the rest is its backlog."""
        container, prefix = blob_path(spec.trigger, self.environ)
        store = self.connections.blobs(spec.trigger.get("connection"))

        def scan() -> list[BlobInfo]:  # both listings and the filter: off the loop
            blobs = list(store.list(container, prefix or None))
            return list(unreceipted(blobs, self._receipts.names(spec.name), spec.name))

        found = await self._storage(scan, deadline=SCAN_DEADLINE_SECONDS)
        self._blob_backlog[spec.name] = deque(found)
        return self._start_backlog(spec)

    def _start_backlog(self, spec: FunctionSpec) -> int:
        """Start the blobs of the last scan that had no room then, as far as there is
        room now."""
        backlog = self._blob_backlog.get(spec.name)
        if not backlog:
            return 0
        _, prefix = blob_path(spec.trigger, self.environ)
        started = 0
        while backlog and self._blob_room() > 0:
            started += self._start_blob(spec, backlog.popleft(), prefix)
        return started

    async def _blob_rounds(self, *, scan: bool) -> int:
        """One round of every blob trigger: its backlog, its events, and a full scan if
        ``scan`` or if the stack announces no events."""
        started = 0
        for spec in self._of_type("blobTrigger"):
            started += self._start_backlog(spec)
            if self.blob_events_queue is not None:
                started += await self._blob_event_round(spec)
            if scan or self.blob_events_queue is None:
                started += await self._blob_round(spec)
        return started

    async def _run_blob(self, spec: FunctionSpec, blob: BlobInfo, prefix: str) -> None:
        key = (spec.name, blob.name, blob.etag)
        store = self.connections.blobs(spec.trigger.get("connection"))
        limit = self.config.queues.max_dequeue_count  # the host uses it for blobs too
        try:
            # Counted before the run, in storage: a run that kills the host counts.
            attempt = await self._storage(functools.partial(self._receipts.start, spec.name, blob))
            if attempt > limit:
                log.error("%s: blob %s/%s started %d times without finishing; poisoned",
                          spec.name, blob.container, blob.name, attempt - 1)  # fmt: skip
                await self._storage(functools.partial(self._poison_blob, spec, blob))
            else:
                try:
                    inputs = await self._storage(functools.partial(blob_inputs, spec, store, blob))
                    await self._invoke(spec, inputs, {"name": blob.name.removeprefix(prefix)})
                except Exception:
                    self.stats.failed[spec.name] += 1
                    log.exception("%s failed on blob %s/%s (attempt %d of %d)",
                                  spec.name, blob.container, blob.name, attempt, limit)  # fmt: skip
                    if attempt < limit:
                        return  # no receipt: the next scan runs it again
                    await self._storage(functools.partial(self._poison_blob, spec, blob))
                else:
                    self.stats.succeeded[spec.name] += 1
            await self._storage(functools.partial(self._receipts.complete, spec.name, blob))
            self._blobs_done.add(key)
        finally:
            self._blobs_in_flight.discard(key)

    def _poison_blob(self, spec: FunctionSpec, blob: BlobInfo) -> None:
        queues = self.connections.queues(Env.WEBJOBS_STORAGE)
        queues.ensure_queue(BLOB_POISON_QUEUE)
        queues.send(
            BLOB_POISON_QUEUE,
            json_body(
                {
                    "Type": "BlobTrigger",
                    "FunctionId": f"Host.Functions.{spec.name}",
                    "BlobType": "BlockBlob",
                    "ContainerName": blob.container,
                    "BlobName": blob.name,
                    "ETag": blob.etag,
                }
            ),
        )
        self.stats.poisoned[spec.name] += 1

    # -- timers --------------------------------------------------------------------------

    async def _run_timer(self, spec: FunctionSpec, past_due: bool, next_: datetime | None) -> None:
        try:
            inputs = timer_inputs(spec, past_due, datetime.now(UTC), next_)
            await self._invoke(spec, inputs, {})
        except Exception:
            self.stats.failed[spec.name] += 1
            log.exception("timer %s failed", spec.name)
        else:
            self.stats.succeeded[spec.name] += 1

    async def _timer_loop(self, spec: FunctionSpec) -> None:
        schedule = Schedule.parse(str(spec.trigger.get("schedule")))
        while True:
            due = schedule.next_after(datetime.now(UTC))
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            await self._run_timer(spec, False, schedule.next_after(due))

    async def _start_timers(self) -> None:
        for spec in self._of_type("timerTrigger"):
            if spec.trigger.get("runOnStartup"):
                await self._run_timer(spec, False, None)

    # -- HTTP ----------------------------------------------------------------------------

    async def handle_http(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpAnswer:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        found = self.router.match(method, url.path)
        if found is None:
            return error_answer(404, "no function at this route")
        if isinstance(found, WrongMethod):
            allow = found.allow_header
            return error_answer(
                405, f"method {method} not allowed; this route takes {allow}", {"Allow": allow}
            )
        route, route_params = found
        if not authorized(route.auth_level, headers, query, self.keys):
            needed = "the master key" if route.auth_level == "admin" else "a function key"
            return error_answer(401, f"missing or wrong key: {needed} (x-functions-key or ?code=)")
        url_seen = f"http://{headers.get('Host', '127.0.0.1')}{target}"
        call = HttpCall(method, url_seen, headers, query, route_params, body)
        # Copying the body into the invocation (up to 100 MiB) and the answer out of it
        # is CPU work: off the loop, which serves every other request meanwhile.
        inputs = await run_cpu(functools.partial(http_inputs, route.spec, call))
        try:
            response = await self._invoke(route.spec, inputs, route_params)
        except Exception:
            self.stats.failed[route.spec.name] += 1
            log.exception("HTTP function %s failed", route.spec.name)
            return error_answer(500, "the function failed; see the host log")
        self.stats.succeeded[route.spec.name] += 1
        result = await run_cpu(functools.partial(http_result, response))
        if result is None:
            return HttpAnswer(204, {}, b"")
        return HttpAnswer(result.status, result.headers, result.body)

    async def _serve_request(self, request: HttpRequest) -> HttpAnswer:
        answer = await self.handle_http(
            request.method, request.target, dict(request.headers), request.body
        )
        # The target is the client's: hide a function key passed as ?code=.
        target = _KEY_IN_QUERY.sub(r"\1[redacted]", request.target)
        log.info("%s %s -> %d", request.method, one_line(target), answer.status)
        return answer

    # -- modes ---------------------------------------------------------------------------

    async def run_until_idle(self, timeout: float = 120.0) -> HostStats:
        """Run until no blob lacks a receipt, every trigger queue is empty and nothing
        is in flight (messages a failure hid for ``visibilityTimeout`` count as queued).
        Timers run only if they ``runOnStartup``. The worker runs for this call only."""
        await self.start()
        try:
            await self._prepare()
            await self._start_timers()
            async with asyncio.timeout(timeout):
                scan = True  # at start: blobs from before the host (or without an event)
                while True:
                    started = await self._blob_rounds(scan=scan)
                    scan = False
                    for spec in self._of_type("queueTrigger"):
                        started += await self._queue_round(spec)
                    if self._tasks:
                        await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                    elif started == 0:
                        # Idle only if a last full scan finds nothing either.
                        if await self._blob_rounds(scan=True) == 0 and await self._queues_empty():
                            return self.stats
                        await asyncio.sleep(_IDLE_POLL_SECONDS)  # hidden messages reappear
        finally:
            await self.stop()

    async def _queues_empty(self) -> bool:
        for spec in self._of_type("queueTrigger"):
            queues, queue = self._queue_of(spec)
            count = functools.partial(queues.approximate_count, queue)
            if await self._storage(count, deadline=POLL_DEADLINE_SECONDS):
                return False
        return True

    async def serve(self, stop: asyncio.Event, http_port: int | None = None) -> None:
        """Serve until ``stop`` is set; HTTP on 127.0.0.1:``http_port`` if given."""
        await self.start()  # the routes are the worker's indexing
        # HTTP before storage: it answers (e.g. a health probe) while that is prepared.
        server = (
            None
            if http_port is None
            else await HttpFront(self._serve_request).start("127.0.0.1", http_port)
        )
        log.info("serving %d functions%s", len(self.functions),
                 "" if http_port is None else
                 f"; HTTP on http://127.0.0.1:{http_port}/{self.config.route_prefix}")  # fmt: skip
        loops: list[asyncio.Future[None]] = []
        try:
            await self._prepare()
            loops += [
                asyncio.ensure_future(self._queue_loop(s)) for s in self._of_type("queueTrigger")
            ]
            loops += [
                asyncio.ensure_future(self._blob_loop(s)) for s in self._of_type("blobTrigger")
            ]
            loops += [
                asyncio.ensure_future(self._timer_loop(s)) for s in self._of_type("timerTrigger")
            ]
            await self._start_timers()
            await stop.wait()
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            if self._tasks:  # let running invocations finish: no half-done side effects
                # ... for a while: an invocation stuck retrying a vanished service must
                # not keep the host alive (its message reappears after its lease anyway).
                await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
            if server is not None:
                server.close()
            await self.stop()

    async def _queue_loop(self, spec: FunctionSpec) -> None:
        # Back off while the queue is empty, up to maxPollingInterval — but an invocation
        # that finishes (it may have sent this queue a message) wakes the loop at once,
        # and one of its own finishing frees room for the next batch.
        wake = self._wakeups.setdefault(spec.name, asyncio.Event())
        delay = _IDLE_POLL_SECONDS
        while True:
            wake.clear()
            try:
                started = await self._queue_round(spec)
            except PrismError as error:  # storage unreachable or stalled: poll again
                log.warning("polling the queue of %s failed: %s", spec.name, error)
                started = 0
            except Exception:
                log.exception("polling the queue of %s failed", spec.name)
                started = 0
            if started:
                delay = _IDLE_POLL_SECONDS
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
            if not wake.is_set():
                delay = min(delay * 2, self.config.queues.max_polling_interval)

    async def _blob_loop(self, spec: FunctionSpec) -> None:
        last_scan: float | None = None  # the first round scans: blobs from before the host
        while True:
            scan = (
                self.blob_events_queue is None
                or last_scan is None
                or time.monotonic() - last_scan >= self.reconcile_seconds
            )
            try:
                self._start_backlog(spec)
                if self.blob_events_queue is not None:
                    await self._blob_event_round(spec)
                if scan:
                    last_scan = time.monotonic()
                    await self._blob_round(spec)
            except PrismError as error:  # storage unreachable or stalled: look again
                log.warning("the blob trigger of %s failed to look for blobs: %s", spec.name, error)
            except Exception:
                log.exception("the blob trigger of %s failed to look for blobs", spec.name)
            await asyncio.sleep(BLOB_SCAN_SECONDS if self.blob_events_queue is None else
                                BLOB_EVENT_POLL_SECONDS)  # fmt: skip


# How long a stopping host lets running invocations finish (the Functions host has a
# similar grace period before it ends its workers).
SHUTDOWN_GRACE_SECONDS = 10.0

_KEY_IN_QUERY = re.compile(rf"([?&]{KEY_PARAMETER}=)[^&\s]*", re.IGNORECASE)


def _event_blobs(message: ReceivedMessage, container: str, prefix: str) -> list[str]:
    """The names of the blobs under ``container``/``prefix`` a BlobCreated event names."""
    try:
        events = parse_blob_events(message.body(), {container})
    except (BlobEventsFormatError, PermanentError) as error:
        log.warning("a blob event that is not one was dropped: %s", error)
        return []
    return [event.name for event in events.blobs if event.name.startswith(prefix)]


def _release(queues: MessageQueues, messages: list[ReceivedMessage]) -> None:
    """Messages a receive leased after the host stopped waiting for it: visible again at
    once, instead of hidden for the whole lease (blocks)."""
    for message in messages:
        try:
            queues.release(message, visibility_timeout=0)
        except PrismError as error:  # the lease ends by itself
            log.warning("a late-received message %s stays leased: %s", message.id, error)
