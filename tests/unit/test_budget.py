"""The memory budget: reservations never exceed the capacity, whatever the mix and the
interleaving; a file that can never fit is rejected with a code; waiters are served in
order; a cancelled waiter leaves nothing behind. Every assertion is on counts, never on
time: the interleavings are driven step by step."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from prism.budget import BudgetExhaustedError, Cost, MemoryBudget
from prism.errors import ErrorCode, PermanentError

MB = 1024 * 1024


def cost(megabytes: float) -> Cost:
    return Cost(int(megabytes * MB), f"{megabytes} MB of test", "send less")


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _random_mix(budget: MemoryBudget, rng: random.Random) -> int:
    """Sixty invocations of random sizes, each holding its reservation across a random
    number of other tasks' steps; checks the holders' sum at every grant and returns
    the most ever held at once."""
    held: list[int] = []  # what the holders say they hold
    highest = 0

    async def invocation(size: int, steps: int) -> None:
        nonlocal highest
        with await budget.reserve(Cost(size, "test", "none")):
            held.append(size)
            highest = max(highest, sum(held))
            assert sum(held) <= budget.capacity and budget.reserved <= budget.capacity
            for _ in range(steps):
                await asyncio.sleep(0)
            held.remove(size)

    sizes = [rng.randint(1, budget.capacity) for _ in range(60)]
    await asyncio.gather(*(invocation(size, rng.randint(0, 5)) for size in sizes))
    return highest


def test_concurrent_reservations_never_exceed_the_capacity_for_any_mix() -> None:
    for seed in range(20):
        budget = MemoryBudget(1000 * MB)
        highest = asyncio.run(_random_mix(budget, random.Random(seed)))
        assert budget.reserved == 0 and budget.waiting == 0
        assert budget.peak_reserved <= budget.capacity
        assert highest > budget.capacity // 2  # the mix really ran invocations side by side


def test_a_file_larger_than_the_whole_budget_is_rejected_with_a_code_that_says_what_to_do() -> None:
    budget = MemoryBudget(100 * MB)
    with pytest.raises(PermanentError) as caught:
        asyncio.run(budget.reserve(cost(101)))
    assert caught.value.code is ErrorCode.OVER_BUDGET
    assert "101 MB" in caught.value.message and "100 MB" in caught.value.message
    assert caught.value.message.endswith("send less")
    assert caught.value.http_status == 413
    with pytest.raises(PermanentError):
        budget.try_reserve(cost(101))
    assert budget.reserved == 0


def test_a_file_of_exactly_the_budget_runs_alone() -> None:
    budget = MemoryBudget(100 * MB)

    async def scenario() -> list[str]:
        order: list[str] = []
        whole = await budget.reserve(cost(100))
        small = asyncio.create_task(budget.reserve(cost(1)))
        await _settle()
        order.append(f"small waiting: {not small.done()}")
        whole.release()
        (await small).release()
        return order

    assert asyncio.run(scenario()) == ["small waiting: True"]
    assert budget.reserved == 0


def test_waiters_are_served_first_come_first_served_so_a_large_file_is_not_starved() -> None:
    budget = MemoryBudget(100 * MB)

    async def scenario() -> list[str]:
        granted: list[str] = []
        first = await budget.reserve(cost(60))

        async def wait(name: str, megabytes: float) -> None:
            reservation = await budget.reserve(cost(megabytes))
            granted.append(name)
            await _settle()
            reservation.release()

        large = asyncio.create_task(wait("large", 80))
        await _settle()
        # 30 MB would fit beside the 60, but the large file was first in line.
        small = asyncio.create_task(wait("small", 30))
        await _settle()
        assert granted == [] and budget.waiting == 2
        first.release()
        await asyncio.gather(large, small)
        return granted

    assert asyncio.run(scenario()) == ["large", "small"]


def test_an_http_caller_is_refused_at_once_with_a_retry_delay_when_the_budget_is_spent() -> None:
    budget = MemoryBudget(100 * MB)
    held = budget.try_reserve(cost(70))
    with pytest.raises(BudgetExhaustedError) as caught:
        budget.try_reserve(cost(40))
    assert caught.value.code is ErrorCode.BUSY and caught.value.retryable
    assert caught.value.retry_after > 0 and "40 MB" in caught.value.message
    with budget.try_reserve(cost(30)):
        assert budget.reserved == 100 * MB
    held.release()
    held.release()  # twice gives back once
    assert budget.reserved == 0


def test_an_http_caller_does_not_jump_the_queue_of_waiting_invocations() -> None:
    budget = MemoryBudget(100 * MB)

    async def scenario() -> None:
        held = await budget.reserve(cost(90))
        waiter = asyncio.create_task(budget.reserve(cost(50)))
        await _settle()
        with pytest.raises(BudgetExhaustedError):
            budget.try_reserve(cost(5))  # 5 MB fits, but a waiter was first
        held.release()
        (await waiter).release()

    asyncio.run(scenario())
    assert budget.reserved == 0


def test_a_cancelled_waiter_leaves_the_line_and_lets_smaller_ones_behind_it_in() -> None:
    budget = MemoryBudget(100 * MB)

    async def scenario() -> None:
        held = await budget.reserve(cost(50))
        blocked = asyncio.create_task(budget.reserve(cost(80)))
        await _settle()
        behind = asyncio.create_task(budget.reserve(cost(40)))
        await _settle()
        assert not behind.done()
        blocked.cancel()
        await _settle()
        assert behind.done() and budget.reserved == 90 * MB
        (await behind).release()
        held.release()

    asyncio.run(scenario())
    assert budget.reserved == 0 and budget.waiting == 0


def test_a_waiter_cancelled_as_it_is_granted_gives_its_bytes_back() -> None:
    budget = MemoryBudget(100 * MB)

    async def scenario() -> None:
        held = await budget.reserve(cost(100))
        waiter = asyncio.create_task(budget.reserve(cost(60)))
        await _settle()
        held.release()  # grants the waiter: its wake-up is scheduled, not yet run
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(scenario())
    assert budget.reserved == 0 and budget.waiting == 0


def test_a_release_on_another_thread_wakes_a_waiter_on_its_event_loop() -> None:
    budget = MemoryBudget(100 * MB)
    held = budget.try_reserve(cost(100))

    async def scenario() -> int:
        waiter = asyncio.create_task(budget.reserve(cost(100)))
        await _settle()
        releaser = threading.Thread(target=held.release)
        releaser.start()
        releaser.join()
        reservation = await waiter
        reservation.release()
        return budget.peak_reserved

    assert asyncio.run(scenario()) == 100 * MB
    assert budget.reserved == 0


def test_a_budget_needs_a_positive_capacity() -> None:
    with pytest.raises(ValueError, match="positive capacity"):
        MemoryBudget(0)
