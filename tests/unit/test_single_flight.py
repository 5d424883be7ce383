from __future__ import annotations

import asyncio
import contextlib
import gc

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


def test_a_cancelled_waiter_does_not_take_over_the_flight() -> None:
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
        # Both callers give up at once: the leader's flight ends cancelled, but the
        # waiter was cancelled itself, so it must not start the work again.
        leader.cancel()
        follower.cancel()
        for task in (leader, follower):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert calls == []

    asyncio.run(scenario())


def test_a_failed_flight_is_not_remembered_the_next_caller_computes_again() -> None:
    async def scenario() -> None:
        flights = SingleFlight()

        async def fail() -> str:
            raise RuntimeError("model crashed")

        async def compute() -> str:
            return "value"

        with pytest.raises(RuntimeError):
            await flights.run("k", fail)
        assert await asyncio.wait_for(flights.run("k", compute), timeout=10) == "value"

    asyncio.run(scenario())


def test_a_cancelled_flight_is_not_remembered_the_next_caller_computes() -> None:
    async def scenario() -> None:
        flights, started = SingleFlight(), asyncio.Event()

        async def stuck() -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        async def compute() -> str:
            return "value"

        leader = asyncio.create_task(flights.run("k", stuck))
        await started.wait()
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert await asyncio.wait_for(flights.run("k", compute), timeout=10) == "value"

    asyncio.run(scenario())


async def three_waiting(
    flights: SingleFlight,
) -> tuple[asyncio.Event, asyncio.Task[str], list[asyncio.Task[str]]]:
    """A leader of flight "k" held until released, and three followers waiting on it."""
    release = asyncio.Event()

    async def compute() -> str:
        await release.wait()
        return "value"

    leader = asyncio.create_task(flights.run("k", compute))
    followers = [asyncio.create_task(flights.run("k", compute)) for _ in range(3)]
    await wait_until_waiting(flights, "k", 3)
    return release, leader, followers


def test_the_waiters_of_a_flight_are_counted_and_forgotten_when_it_ends() -> None:
    async def scenario() -> None:
        flights = SingleFlight()
        release, leader, followers = await three_waiting(flights)
        await asyncio.sleep(0)
        assert flights.waiting("k") == 3
        assert flights.waiting("other") == 0
        release.set()
        await asyncio.gather(leader, *followers)
        assert flights.waiting("k") == 0
        # No key outlives its flight: a process that sees many keys keeps none of them.
        assert not flights._waiting and not flights._flights

    asyncio.run(scenario())


def test_a_failure_nobody_waited_for_is_not_reported_as_never_retrieved() -> None:
    reported: list[str] = []

    async def fail() -> str:
        raise RuntimeError("model crashed")

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: reported.append(str(context.get("message")))
        )
        with contextlib.suppress(RuntimeError):  # drops the traceback that holds the future
            await SingleFlight().run("k", fail)
        await asyncio.sleep(0)  # the flight's done callbacks run, and let go of it
        gc.collect()  # a future whose exception nobody retrieved reports it when freed
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert reported == []


def test_a_waiter_that_gives_up_is_no_longer_counted() -> None:
    async def scenario() -> None:
        flights = SingleFlight()
        release, leader, followers = await three_waiting(flights)
        followers[0].cancel()
        with pytest.raises(asyncio.CancelledError):
            await followers[0]
        assert flights.waiting("k") == 2
        release.set()
        assert await asyncio.gather(leader, *followers[1:]) == ["value"] * 3

    asyncio.run(scenario())


def test_when_the_leader_is_cancelled_one_waiter_takes_over_and_the_others_wait_for_it() -> None:
    async def scenario() -> None:
        flights, started, calls = SingleFlight(), asyncio.Event(), []

        async def stuck() -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        async def compute() -> str:
            calls.append(1)
            await asyncio.sleep(0)
            return "computed once"

        leader = asyncio.create_task(flights.run("k", stuck))
        await started.wait()
        followers = [asyncio.create_task(flights.run("k", compute)) for _ in range(3)]
        await wait_until_waiting(flights, "k", 3)
        leader.cancel()
        assert await asyncio.gather(*followers) == ["computed once"] * 3
        assert calls == [1]

    asyncio.run(scenario())
