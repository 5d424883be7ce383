"""Single flight: concurrent calls for one key in a process share one computation."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _cancelled_itself() -> bool:
    """Whether the running task is being cancelled (rather than something it awaits)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class SingleFlight:
    """The first caller of a key computes; callers that arrive while it runs wait for
    its value (or its exception).

    The guarantee a caller builds on: if ``compute`` records its value somewhere
    callers look first (a cache) before it returns, no later caller computes again —
    the flight ends (entry removed, waiters woken) with no await in between, so a
    caller either finds the flight and waits, or comes after it and finds the record.
    It holds by construction, however slow the machine.

    A cancelled leader hands the work to one of its waiters rather than its
    cancellation: a waiter is cancelled only when it is cancelled itself.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}
        self._waiting: Counter[str] = Counter()

    def waiting(self, key: str) -> int:
        """How many callers wait on the flight of ``key`` (for tests and telemetry)."""
        return self._waiting[key]

    async def run(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        while (running := self._flights.get(key)) is not None:
            self._waiting[key] += 1
            try:
                result: T = await asyncio.shield(running)
                return result
            except asyncio.CancelledError:
                if running.cancelled() and not _cancelled_itself():
                    continue  # the leader was cancelled, not this caller: take over
                raise
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Retrieve a failure even if nobody waited for it (no "never retrieved").
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._flights[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._flights[key]
        future.set_result(value)
        return value
