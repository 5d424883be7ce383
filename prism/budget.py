"""What a file may cost: the memory one instance has for files, and how it is shared.

A Flex Consumption instance has a fixed memory (512, 2,048 or 4,096 MB) and runs many
invocations at once; when one of them takes it past that memory the platform kills the
instance and every invocation on it. So every invocation *reserves* the peak memory its
file will cost — estimated from the file's size and header by its modality, with the
algorithm that modality actually runs (:class:`Cost`) — from one :class:`MemoryBudget`
per process before it downloads or decodes anything, and gives it back when done.

* A file whose cost exceeds the whole budget can never run: it is rejected with
  ``over_budget`` and a message that says what to send instead.
* Otherwise the invocation waits its turn (first come, first served, so a large file is
  not starved by a stream of small ones); over HTTP, where a caller can come back, it is
  refused at once with 503 and ``Retry-After``.

Reservations are counted, not measured: the guarantee is that the reserved bytes never
exceed the capacity (by construction, under one lock), and the estimates are held to
measured peaks on the real decoders by the tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from prism.errors import ErrorCode, PermanentError, TransientError

MB = 1024 * 1024
# How long an HTTP caller refused for lack of memory is told to wait before trying again.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Cost:
    """What processing one file will take at its peak, from its size and header.

    ``peak_bytes`` counts the file's own bytes and every intermediate its modality holds
    at once; ``detail`` names what dominates (for messages), and ``advice`` says what a
    user can send instead when it is too much.
    """

    peak_bytes: int
    detail: str
    advice: str


class BudgetExhaustedError(TransientError):
    """Every byte of the budget is reserved right now: try again shortly."""

    def __init__(self, needed: int) -> None:
        super().__init__(
            f"this instance is busy with other files (this one needs about "
            f"{_mb(needed)} MB of memory); try again in {RETRY_AFTER_SECONDS} s",
            ErrorCode.BUSY,
        )
        self.retry_after = RETRY_AFTER_SECONDS


def _mb(nbytes: int) -> int:
    return -(-nbytes // MB)


class Reservation:
    """Bytes held from a :class:`MemoryBudget` until :meth:`release` (or the end of a
    ``with`` block). Releasing twice gives back once."""

    def __init__(self, budget: MemoryBudget, nbytes: int) -> None:
        self.budget = budget
        self.nbytes = nbytes
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.budget._give_back(self.nbytes)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@dataclass
class _Waiter:
    nbytes: int
    loop: asyncio.AbstractEventLoop
    granted: asyncio.Future[None]


class MemoryBudget:
    """``capacity`` bytes shared by every invocation of one process (any thread, any
    event loop)."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"a memory budget needs a positive capacity, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._reserved = 0
        self._peak = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def reserved(self) -> int:
        """Bytes reserved right now."""
        return self._reserved

    @property
    def peak_reserved(self) -> int:
        """The most bytes ever reserved at once (never above the capacity)."""
        return self._peak

    @property
    def waiting(self) -> int:
        """Invocations waiting for their reservation."""
        return len(self._waiters)

    def check(self, cost: Cost) -> None:
        """Reject, with ``over_budget``, a file that could never fit."""
        if cost.peak_bytes > self.capacity:
            raise PermanentError(
                ErrorCode.OVER_BUDGET,
                f"processing this file would take about {_mb(cost.peak_bytes)} MB of memory "
                f"({cost.detail}); an instance has {_mb(self.capacity)} MB for files: "
                f"{cost.advice}",
            )

    def try_reserve(self, cost: Cost) -> Reservation:
        """Reserve ``cost`` now, or raise :class:`BudgetExhaustedError` (HTTP: 503)."""
        self.check(cost)
        with self._lock:
            # Never ahead of a waiter: it was first.
            if not self._waiters and self._fits(cost.peak_bytes):
                self._take(cost.peak_bytes)
                return Reservation(self, cost.peak_bytes)
        raise BudgetExhaustedError(cost.peak_bytes)

    async def reserve(self, cost: Cost) -> Reservation:
        """Reserve ``cost``, waiting behind earlier reservations until it fits."""
        self.check(cost)
        nbytes = cost.peak_bytes
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiters and self._fits(nbytes):
                self._take(nbytes)
                return Reservation(self, nbytes)
            waiter = _Waiter(nbytes, loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            with self._lock:
                if waiter in self._waiters:  # still waiting: leave the line
                    self._waiters.remove(waiter)
                    self._grant_waiters()  # it may have held up smaller ones behind it
                    return_bytes = 0
                else:  # granted as it was cancelled: give the bytes back
                    return_bytes = nbytes
            if return_bytes:
                self._give_back(return_bytes)
            raise
        return Reservation(self, nbytes)

    def _fits(self, nbytes: int) -> bool:
        return self._reserved + nbytes <= self.capacity

    def _take(self, nbytes: int) -> None:
        self._reserved += nbytes
        self._peak = max(self._peak, self._reserved)

    def _give_back(self, nbytes: int) -> None:
        with self._lock:
            self._reserved -= nbytes
            self._grant_waiters()

    def _grant_waiters(self) -> None:
        """Grant waiters in order while the first one fits (called under the lock)."""
        while self._waiters and self._fits(self._waiters[0].nbytes):
            waiter = self._waiters.popleft()
            self._take(waiter.nbytes)
            try:
                waiter.loop.call_soon_threadsafe(_grant, waiter.granted)
            except RuntimeError:  # its loop has closed: nobody will use the bytes
                self._reserved -= waiter.nbytes


def _grant(granted: asyncio.Future[None]) -> None:
    if not granted.done():
        granted.set_result(None)
