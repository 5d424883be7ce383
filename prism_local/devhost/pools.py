"""Where the local host's blocking and heavy work runs: never on its event loop, the one
thread that serves HTTP and carries the worker's stream.

* **Storage calls** (the SDKs block) run in a :class:`StoragePool` of their own, never
  in the loop's default executor: a stalled storage service can fill the pool with
  threads waiting on it, and nothing an HTTP answer needs is queued behind them. A
  trigger's poll also has a deadline, so a listener notices the stall and polls again.
* **CPU work on payloads** (FunctionRpc frames of up to the 100 MiB body limit, HTTP
  bodies copied into and out of them) runs in :func:`run_cpu`'s pool, which never holds
  a storage call and so is free whenever a request needs it.

A thread cannot be interrupted: a poll past its deadline is abandoned, not stopped. If
it had not started, it never will; if it had, what it returns later goes to its
``on_late`` (a receive hands back the messages it leased, instead of leaving them
hidden for the whole lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from prism.errors import TransientError

log = logging.getLogger("prism_local.devhost")

T = TypeVar("T")

# Above what the host has in flight when storage is healthy (a poll per trigger, a
# receipt or a delete per running invocation): more threads only wait on a stall longer.
STORAGE_THREADS = 16


class StoragePool:
    """The host's blocking storage calls, each in a thread of this pool."""

    def __init__(self, threads: int = STORAGE_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="devhost-storage")

    async def run(
        self,
        call: Callable[[], T],
        *,
        deadline: float | None = None,
        on_late: Callable[[T], object] | None = None,
    ) -> T:
        """``call()`` in the pool; a :class:`TransientError` if it has not returned
        within ``deadline`` seconds (None: as long as the SDK's own timeouts allow)."""
        future = self._pool.submit(call)
        try:
            async with asyncio.timeout(deadline):
                return await asyncio.wrap_future(future)
        except TimeoutError:
            # Still queued: cancelled (wrap_future did it). Running: it finishes later.
            if not future.cancel() and on_late is not None:
                future.add_done_callback(functools.partial(self._late, on_late))
            raise TransientError(f"storage did not answer within {deadline:g} s") from None

    def _late(self, on_late: Callable[[T], object], future: Future[T]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        # Called in whichever thread completed the call, or on the loop if it already
        # had: what on_late does (storage again) goes back to the pool either way.
        with contextlib.suppress(RuntimeError):  # the pool has shut down: the host is gone
            self._pool.submit(_logged, on_late, future.result())

    def shutdown(self) -> None:
        """Drop the calls not started; the ones running end with their SDK timeouts."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _logged(on_late: Callable[[T], object], value: T) -> None:
    try:
        on_late(value)
    except Exception:
        log.exception("handling a storage call's late answer failed")


@functools.cache
def _cpu_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="devhost-cpu")


async def run_cpu(call: Callable[[], T]) -> T:
    """``call()`` off the event loop, in a pool no storage call ever waits in."""
    return await asyncio.get_running_loop().run_in_executor(_cpu_pool(), call)
