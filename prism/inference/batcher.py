"""A dynamic micro-batcher: concurrent requests on one event loop share one model call.

Async queue-triggered functions (and HTTP requests, once per-instance concurrency is
above one) run concurrently on the worker's event loop. Each submits its item here;
the batcher collects items until ``max_batch_size`` or ``max_wait_ms`` after the first
one — waiting only while the model is busy, so a lone request is never delayed — runs
the batch function in an executor (ONNX Runtime releases the GIL, so the loop keeps
accepting; up to ``max_in_flight`` calls at once) and resolves every request with its
own outcome.

Batching only where it can win: on CPU a batch saves only what one bigger model call
saves, and only once enough items are waiting to fill one. Below ``min_backlog`` items
outstanding (submitted, not yet answered) an item runs alone in the executor, exactly
as it would with no batcher at all; from there on items queue up and share calls, so
the batch grows with the backlog (bench/batching.py measures where that pays).

Guarantees (tested): one outcome per item, each to its own caller; an item whose
processing raises fails alone — if a whole batch call raises, its items are retried one
by one so a poisoned item cannot fail its peers; the queue of waiting items is bounded
and ``submit`` waits for room (back-pressure); ``close`` finishes what was submitted and
refuses new items.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

logger = logging.getLogger("prism.batcher")


@dataclass(frozen=True)
class BatchPolicy:
    """How one modality batches: at most ``max_batch_size`` items per model call, waiting
    at most ``max_wait_ms`` after the first item for more; at most ``max_queue`` items
    wait (further submitters wait for room)."""

    max_batch_size: int = 8
    max_wait_ms: float = 5.0
    max_queue: int = 256
    # Model calls running at once. One per core the instance owns keeps every core busy;
    # while they run, new items queue up and form the next, fuller batch.
    max_in_flight: int = 1
    # Below this many items outstanding, an item runs alone (no batcher, no slot): a
    # small backlog cannot fill a batch worth its cost. 0: every item is batched.
    min_backlog: int = 0

    def __post_init__(self) -> None:
        if self.min_backlog < 0:
            raise ValueError(f"min_backlog must not be negative, got {self.min_backlog}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {self.max_batch_size}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must not be negative, got {self.max_wait_ms}")
        if self.max_queue < self.max_batch_size:
            raise ValueError(
                f"max_queue ({self.max_queue}) must hold at least one full batch "
                f"({self.max_batch_size})"
            )


class BatcherClosedError(RuntimeError):
    """The batcher was closed: it accepts no new items."""


@dataclass
class _Pending(Generic[In, Out]):
    item: In
    future: asyncio.Future[Out]


class MicroBatcher(Generic[In, Out]):
    """Batches ``submit`` calls into ``process(items) -> outputs`` calls (same length,
    same order). Create it inside the event loop that will use it."""

    def __init__(
        self,
        process: Callable[[Sequence[In]], list[Out]],
        policy: BatchPolicy,
        *,
        executor: Executor | None = None,
        name: str = "batcher",
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.process = process
        self.policy = policy
        self.name = name
        self._executor = executor
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending[In, Out]] = asyncio.Queue(policy.max_queue)
        self._closed = False
        self._running = 0  # model calls in flight
        self._outstanding = 0  # items submitted and not yet answered, either way
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=name)

    async def submit(self, item: In) -> Out:
        """The item's output, once its batch has run; raises what its processing raised."""
        if self._closed:
            raise BatcherClosedError(f"{self.name} is closed")
        alone = self._outstanding < self.policy.min_backlog
        self._outstanding += 1
        try:
            if alone:
                return await self._run_alone(item)
            future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
            await self._queue.put(_Pending(item, future))  # waits while the queue is full
            return await future
        finally:
            self._outstanding -= 1

    async def _run_alone(self, item: In) -> Out:
        """One item in one call, as if there were no batcher."""
        if self._on_batch is not None:
            self._on_batch(1)
        outputs = await asyncio.get_running_loop().run_in_executor(
            self._executor, self.process, [item]
        )
        if len(outputs) != 1:
            raise RuntimeError(f"{self.name}: {len(outputs)} outputs for 1 input")
        return outputs[0]

    @property
    def outstanding(self) -> int:
        """Items submitted and not yet answered (queued, batched or running alone)."""
        return self._outstanding

    def when_stopped(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the worker has stopped: closed, or cancelled with its
        event loop (``asyncio.run`` cancels what is left when it ends)."""
        self._worker.add_done_callback(lambda _: callback())

    @property
    def waiting(self) -> int:
        """Items submitted and not yet taken into a batch."""
        return self._queue.qsize()

    async def close(self) -> None:
        """Refuse new items, finish every item already submitted, stop the worker."""
        self._closed = True
        await self._queue.join()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker

    async def _collect(self) -> list[_Pending[In, Out]]:
        """The next batch. With other model slots free, the waiting items are shared out
        between them (every core busy beats one full batch); with every other slot busy,
        the batch fills up to ``max_batch_size``, waiting up to ``max_wait_ms`` after
        its first item. An idle batcher never delays a lone item."""
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.max_wait_ms / 1000
        free_slots = self.policy.max_in_flight - self._running  # this batch's included
        if free_slots > 1:
            share = -(-(self._queue.qsize() + 1) // free_slots)  # ceiling division
            limit = min(self.policy.max_batch_size, share)
        else:
            limit = self.policy.max_batch_size
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - loop.time()
            if free_slots > 1 or self._running == 0 or remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.policy.max_in_flight)
        running: set[asyncio.Task[None]] = set()
        while True:
            await slots.acquire()
            batch = await self._collect()
            task = asyncio.get_running_loop().create_task(self._execute_batch(batch, slots))
            running.add(task)  # keep a reference until it is done
            task.add_done_callback(running.discard)

    async def _execute_batch(
        self, batch: list[_Pending[In, Out]], slots: asyncio.Semaphore
    ) -> None:
        self._running += 1
        try:
            await self._execute(batch)
        finally:
            self._running -= 1
            slots.release()
            for _ in batch:
                self._queue.task_done()

    async def _execute(self, batch: list[_Pending[In, Out]], *, isolating: bool = False) -> None:
        loop = asyncio.get_running_loop()
        if self._on_batch is not None and not isolating:
            # A failed batch's items rerun alone are a recovery, not batches of one:
            # counting them would skew the batch-size figures.
            self._on_batch(len(batch))
        try:
            outputs = await loop.run_in_executor(
                self._executor, self.process, [p.item for p in batch]
            )
            if len(outputs) != len(batch):
                raise RuntimeError(f"{self.name}: {len(outputs)} outputs for {len(batch)} inputs")
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0].future, exc)
                return
            # One item may have broken the whole call: run each alone, so only the
            # item that fails on its own gets the error.
            logger.warning("%s: batch of %d failed (%s); retrying items alone",
                           self.name, len(batch), exc)  # fmt: skip
            for pending in batch:
                await self._execute([pending], isolating=True)
            return
        for pending, output in zip(batch, outputs, strict=True):
            _resolve(pending.future, output)


def _resolve(future: asyncio.Future[Out], output: Out) -> None:
    if not future.cancelled():  # the caller may have given up (its invocation timed out)
        future.set_result(output)


def _fail(future: asyncio.Future[Out], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
