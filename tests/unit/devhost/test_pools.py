"""The host's storage pool: a call past its deadline is a transient error for its
caller; a call it had not started never starts; one it had started hands what it
returns late to ``on_late`` (a receive gives back the messages it leased)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from prism.errors import TransientError
from prism_local.devhost.pools import StoragePool


def test_a_call_past_its_deadline_fails_and_its_late_answer_is_handed_on() -> None:
    pool = StoragePool(threads=1)
    answer = threading.Event()
    late: list[str] = []
    handed_on = threading.Event()

    def slow() -> str:
        answer.wait(30)
        return "leased messages"

    def on_late(value: str) -> None:
        late.append(value)
        handed_on.set()

    async def scenario() -> None:
        with pytest.raises(TransientError, match="did not answer"):
            # The call cannot return before the test lets it: the deadline must pass.
            await pool.run(slow, deadline=0.05, on_late=on_late)

    try:
        asyncio.run(scenario())
        answer.set()
        assert handed_on.wait(30)
        assert late == ["leased messages"]
    finally:
        answer.set()
        pool.shutdown()


def test_a_call_still_waiting_for_a_thread_at_its_deadline_never_runs() -> None:
    pool = StoragePool(threads=1)
    first_started, first_may_end = threading.Event(), threading.Event()
    ran: list[str] = []

    def first() -> None:
        first_started.set()
        first_may_end.wait(30)

    async def scenario() -> None:
        busy = asyncio.ensure_future(pool.run(first))
        while not first_started.is_set():  # the pool's one thread is taken
            await asyncio.sleep(0.01)
        with pytest.raises(TransientError):
            await pool.run(lambda: ran.append("second"), deadline=0.05)
        first_may_end.set()
        await busy
        await pool.run(lambda: ran.append("third"))  # the thread is free again

    try:
        asyncio.run(scenario())
    finally:
        first_may_end.set()
        pool.shutdown()
    assert ran == ["third"]
