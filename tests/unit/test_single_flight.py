from __future__ import annotations

import asyncio

import pytest

from prism.single_flight import SingleFlight


async def wait_until_waiting(flights: SingleFlight, key: str, count: int) -> None:
    async with asyncio.timeout(10):
        while flights.waiting(key) < count:
            await asyncio.sleep(0)


def test_callers_that_arrive_during_a_flight_share_its_value() -> None:
    async def scenario() -> None:
        flights, release, calls = SingleFlight(), asyncio.Event(), []

        async def compute() -> str:
            calls.append(1)
            await release.wait()
            return "value"

        leader = asyncio.create_task(flights.run("k", compute))
        followers = [asyncio.create_task(flights.run("k", compute)) for _ in range(3)]
        await wait_until_waiting(flights, "k", 3)
        release.set()
        assert await asyncio.gather(leader, *followers) == ["value"] * 4
        assert calls == [1]

    asyncio.run(scenario())


def test_a_caller_after_the_flight_finds_what_the_flight_recorded() -> None:
    async def scenario() -> None:
        flights, calls = SingleFlight(), []
        cache: dict[str, str] = {}

        async def compute() -> str:
            if "k" in cache:
                return cache["k"]
            calls.append(1)
            await asyncio.sleep(0)
            cache["k"] = "value"  # recorded before the flight ends
            return "value"

        assert await flights.run("k", compute) == "value"
        assert await flights.run("k", compute) == "value"
        assert calls == [1]

    asyncio.run(scenario())


def test_waiters_get_the_leaders_failure() -> None:
    async def scenario() -> None:
        flights, release = SingleFlight(), asyncio.Event()

        async def compute() -> str:
            await release.wait()
            raise RuntimeError("model crashed")

        leader = asyncio.create_task(flights.run("k", compute))
        follower = asyncio.create_task(flights.run("k", compute))
        await wait_until_waiting(flights, "k", 1)
        release.set()
        for outcome in await asyncio.gather(leader, follower, return_exceptions=True):
            assert isinstance(outcome, RuntimeError)

    asyncio.run(scenario())


def test_a_cancelled_leader_hands_the_work_to_a_waiter_not_its_cancellation() -> None:
    async def scenario() -> None:
        flights, started, calls = SingleFlight(), asyncio.Event(), []

        async def stuck() -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        async def compute() -> str:
            calls.append(1)
            return "computed by the waiter"

        leader = asyncio.create_task(flights.run("k", stuck))
        await started.wait()
        follower = asyncio.create_task(flights.run("k", compute))
        await wait_until_waiting(flights, "k", 1)
        leader.cancel()
        assert await follower == "computed by the waiter"
        assert calls == [1]
        with pytest.raises(asyncio.CancelledError):
            await leader

    asyncio.run(scenario())


def test_a_cancelled_waiter_is_cancelled_and_the_leader_goes_on() -> None:
    async def scenario() -> None:
        flights, release = SingleFlight(), asyncio.Event()

        async def compute() -> str:
            await release.wait()
            return "value"

        leader = asyncio.create_task(flights.run("k", compute))
        follower = asyncio.create_task(flights.run("k", compute))
        await wait_until_waiting(flights, "k", 1)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
        release.set()
        assert await leader == "value"

    asyncio.run(scenario())
