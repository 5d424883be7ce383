"""Blocking work by kind: calls stuck in storage take no thread that the routes touching
no storage, or the models, need. Held by construction (separate pools): the test hangs
every storage thread and the others still run."""

from __future__ import annotations

import asyncio
import threading

from prism.threads import STORAGE_THREADS, in_control, in_storage


def test_quick_local_work_and_the_models_run_while_every_storage_thread_hangs() -> None:
    stalled = threading.Event()
    entered = threading.Semaphore(0)

    def stuck_storage_call() -> str:
        entered.release()
        stalled.wait()
        return "answered"

    async def scenario() -> tuple[str, str, list[str]]:
        # One more than the pool holds: the last waits for a thread.
        hung = [asyncio.create_task(in_storage(stuck_storage_call))
                for _ in range(STORAGE_THREADS + 1)]  # fmt: skip
        for _ in range(STORAGE_THREADS):
            await asyncio.to_thread(entered.acquire)
        try:
            async with asyncio.timeout(60):  # far above the milliseconds either takes
                control = await in_control(lambda: "models report")
                default = await asyncio.to_thread(lambda: "a model call")
        finally:
            stalled.set()
        return control, default, list(await asyncio.gather(*hung))

    control, default, answered = asyncio.run(scenario())
    assert control == "models report" and default == "a model call"
    assert answered == ["answered"] * (STORAGE_THREADS + 1)
