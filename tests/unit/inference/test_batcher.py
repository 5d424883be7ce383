"""The micro-batcher's invariants, on a recording batch function (no model)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.inference.batcher import BatcherClosedError, BatchPolicy, MicroBatcher

# Each test takes well under a second: a batcher that deadlocks (a mutant's, under
# `make mutation`) fails its test in 5 s instead of holding it to the 20 s limit.
pytestmark = pytest.mark.timeout(5)


class Recorder:
    """Doubles numbers; raises for negative ones; records every batch it was given."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate

    def __call__(self, items: Sequence[int]) -> list[int]:
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(items))
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {list(items)}")
        return [2 * item for item in items]


async def submit_all(batcher: MicroBatcher[int, int], items: Sequence[int]) -> list[object]:
    return await asyncio.gather(*(batcher.submit(i) for i in items), return_exceptions=True)


def test_policy_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        BatchPolicy(max_batch_size=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        BatchPolicy(max_wait_ms=-1)
    with pytest.raises(ValueError, match="max_queue"):
        BatchPolicy(max_batch_size=8, max_queue=4)
    with pytest.raises(ValueError, match="max_in_flight"):
        BatchPolicy(max_in_flight=0)


def test_concurrent_items_flush_when_the_batch_is_full() -> None:
    async def scenario() -> tuple[list[object], list[list[int]]]:
        recorder = Recorder()
        # A long wait: only reaching the size can flush the first batch early.
        batcher = MicroBatcher(recorder, BatchPolicy(max_batch_size=4, max_wait_ms=10_000))
        results = await submit_all(batcher, range(8))
        await batcher.close()
        return results, recorder.batches

    results, batches = asyncio.run(scenario())
    assert results == [0, 2, 4, 6, 8, 10, 12, 14]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_a_lone_item_on_an_idle_batcher_runs_without_waiting() -> None:
    async def scenario() -> list[list[int]]:
        recorder = Recorder()
        # A wait far longer than the test's timeout: only "idle → run now" can pass.
        batcher = MicroBatcher(recorder, BatchPolicy(max_batch_size=64, max_wait_ms=60_000))
        assert await asyncio.wait_for(batcher.submit(21), timeout=10) == 42
        await batcher.close()
        return recorder.batches

    assert asyncio.run(scenario()) == [[21]]


class HeldFirstCall(Recorder):
    """Blocks the call holding item 0 until released; other calls run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int]:
        if 0 in items:
            self.release.wait(5)
        return super().__call__(items)


def test_while_busy_a_partial_batch_flushes_at_the_deadline() -> None:
    async def scenario() -> tuple[int, list[list[int]]]:
        recorder = HeldFirstCall()
        policy = BatchPolicy(max_batch_size=64, max_wait_ms=30, max_in_flight=2)
        batcher = MicroBatcher(recorder, policy)
        first = asyncio.create_task(batcher.submit(0))  # occupies the model
        await asyncio.sleep(0.05)
        # The model is busy: these wait for company, then go at the deadline, in the
        # second slot, although the batch is far from full and the first call still runs.
        second = await asyncio.wait_for(
            asyncio.gather(batcher.submit(1), batcher.submit(2)), timeout=10
        )
        recorder.release.set()
        await first
        await batcher.close()
        return sum(second), recorder.batches

    total, batches = asyncio.run(scenario())
    assert total == 6
    assert batches[0] == [1, 2]


def test_a_failing_item_gets_its_error_and_its_peers_their_results() -> None:
    async def scenario() -> tuple[list[object], list[list[int]]]:
        recorder = Recorder()
        batcher = MicroBatcher(recorder, BatchPolicy(max_batch_size=4, max_wait_ms=50))
        results = await submit_all(batcher, [1, -1, 3, 4])
        await batcher.close()
        return results, recorder.batches

    results, batches = asyncio.run(scenario())
    assert results[0] == 2 and results[2] == 6 and results[3] == 8
    assert isinstance(results[1], ValueError)
    # The whole batch failed once, then every item ran alone.
    assert batches == [[1, -1, 3, 4], [1], [-1], [3], [4]]


def test_items_rerun_alone_after_a_failed_batch_are_not_counted_as_batches() -> None:
    sizes: list[int] = []

    async def scenario() -> None:
        # A long wait: the four items form one batch (wait_ms 50 could split it).
        policy = BatchPolicy(max_batch_size=4, max_wait_ms=10_000)
        batcher = MicroBatcher(Recorder(), policy, on_batch=sizes.append)
        await submit_all(batcher, [1, -1, 3, 4])
        await batcher.close()

    asyncio.run(scenario())
    assert sizes == [4]


def test_output_count_mismatch_fails_the_batch_not_silently() -> None:
    async def scenario() -> list[object]:
        batcher: MicroBatcher[int, int] = MicroBatcher(
            lambda items: [0] * (len(items) + 1), BatchPolicy(max_batch_size=2, max_wait_ms=50)
        )
        results = await submit_all(batcher, [1, 2])
        await batcher.close()
        return results

    results = asyncio.run(scenario())
    assert all(isinstance(r, RuntimeError) and "outputs for" in str(r) for r in results)


def test_submitters_wait_for_room_when_the_queue_is_full() -> None:
    async def scenario() -> tuple[int, list[object]]:
        gate = threading.Event()  # holds the first batch inside the model call
        recorder = Recorder(gate)
        batcher = MicroBatcher(recorder, BatchPolicy(max_batch_size=1, max_wait_ms=0, max_queue=2))
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(6)]
        await asyncio.sleep(0.1)
        # One item is in the model, two wait in the queue; three are held back.
        waiting = batcher._queue.qsize()
        gate.set()
        results = await asyncio.gather(*tasks)
        await batcher.close()
        return waiting, list(results)

    waiting, results = asyncio.run(scenario())
    assert waiting == 2
    assert results == [0, 2, 4, 6, 8, 10]


def test_close_finishes_submitted_items_and_refuses_new_ones() -> None:
    async def scenario() -> tuple[list[object], bool]:
        batcher = MicroBatcher(Recorder(), BatchPolicy(max_batch_size=2, max_wait_ms=30))
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(5)]
        await asyncio.sleep(0)
        await batcher.close()
        results = await asyncio.gather(*tasks)
        try:
            await batcher.submit(9)
        except BatcherClosedError:
            return list(results), True
        return list(results), False

    results, refused = asyncio.run(scenario())
    assert results == [0, 2, 4, 6, 8]
    assert refused


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(st.integers(-3, 50), max_size=40),
    size=st.integers(1, 8),
    wait_ms=st.sampled_from([0.0, 1.0, 5.0]),
)
def test_every_item_gets_exactly_its_own_outcome_in_any_composition(
    items: list[int], size: int, wait_ms: float
) -> None:
    async def scenario() -> tuple[list[object], list[list[int]]]:
        recorder = Recorder()
        batcher = MicroBatcher(recorder, BatchPolicy(max_batch_size=size, max_wait_ms=wait_ms))
        results = await submit_all(batcher, items)
        await batcher.close()
        return results, recorder.batches

    results, batches = asyncio.run(scenario())
    assert len(results) == len(items)
    for item, result in zip(items, results, strict=True):
        if item < 0:
            assert isinstance(result, ValueError)
        else:
            assert result == 2 * item
    assert all(len(batch) <= size for batch in batches)
    ran_alone_or_in_a_clean_batch = [
        batch for batch in batches if len(batch) == 1 or all(i >= 0 for i in batch)
    ]
    # Every non-negative item's result came from exactly one successful call.
    successful = [i for batch in ran_alone_or_in_a_clean_batch for i in batch if i >= 0]
    assert sorted(successful) == sorted(i for i in items if i >= 0)


def test_below_the_minimum_backlog_each_item_runs_alone_as_without_a_batcher() -> None:
    async def scenario() -> tuple[list[object], list[list[int]], int]:
        recorder = Recorder()
        batcher = MicroBatcher(
            recorder,
            BatchPolicy(max_batch_size=8, max_wait_ms=10_000, min_backlog=4, max_in_flight=1),
        )
        results = await submit_all(batcher, range(3))  # 3 outstanding at most: under 4
        waiting = batcher.outstanding
        await batcher.close()
        return results, recorder.batches, waiting

    results, batches, waiting = asyncio.run(scenario())
    assert results == [0, 2, 4]
    assert sorted(batches) == [[0], [1], [2]]  # no item waited for company
    assert waiting == 0


def test_from_the_minimum_backlog_on_items_share_model_calls() -> None:
    async def scenario() -> list[list[int]]:
        gate = threading.Event()
        recorder = Recorder(gate)
        batcher = MicroBatcher(
            recorder,
            BatchPolicy(max_batch_size=8, max_wait_ms=0, min_backlog=2, max_in_flight=1),
        )
        alone = [asyncio.create_task(batcher.submit(i)) for i in (100, 101)]  # under 2: alone
        async with asyncio.timeout(5):
            while batcher.outstanding < 2:
                await asyncio.sleep(0.01)
        queued = [asyncio.create_task(batcher.submit(i)) for i in range(5)]  # 2+ outstanding
        async with asyncio.timeout(5):  # every item submitted, the queue taken into a call
            while batcher.outstanding < 7 or batcher.waiting:
                await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*alone, *queued)
        await batcher.close()
        return recorder.batches

    batches = asyncio.run(scenario())
    assert sorted(map(len, batches))[-1] >= 2  # queued items shared a call
    assert [100] in batches and [101] in batches  # the first two ran alone


def test_an_item_run_alone_that_fails_fails_only_its_caller() -> None:
    async def scenario() -> list[object]:
        batcher = MicroBatcher(Recorder(), BatchPolicy(max_batch_size=4, min_backlog=8))
        results = await submit_all(batcher, [1, -1, 2])
        await batcher.close()
        return results

    first, failed, last = asyncio.run(scenario())
    assert (first, last) == (2, 4) and isinstance(failed, ValueError)


def test_a_negative_minimum_backlog_is_refused() -> None:
    with pytest.raises(ValueError, match="min_backlog"):
        BatchPolicy(min_backlog=-1)


async def batch_taken(batcher: MicroBatcher[int, int], items: int) -> None:
    """Until ``items`` are submitted and none waits any more: they are in a model call."""
    async with asyncio.timeout(10):
        while batcher.outstanding < items or batcher.waiting:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("given_up", [[1, 2, 3], [-1, 2, 3]], ids=["batch_ran", "batch_failed"])
def test_a_caller_that_gave_up_does_not_keep_its_batch_peers_from_their_outcomes(
    given_up: list[int],
) -> None:
    async def scenario() -> tuple[list[object], bool, int]:
        gate = threading.Event()  # holds the batch inside the model call
        batcher = MicroBatcher(Recorder(gate), BatchPolicy(max_batch_size=3, max_wait_ms=10_000))
        tasks = [asyncio.create_task(batcher.submit(i)) for i in given_up]
        await batch_taken(batcher, 3)
        tasks[0].cancel()  # its invocation timed out while the model ran
        await asyncio.sleep(0)
        gate.set()
        peers = await asyncio.wait_for(asyncio.gather(*tasks[1:]), timeout=10)
        later = await asyncio.wait_for(batcher.submit(4), timeout=10)
        await asyncio.wait_for(batcher.close(), timeout=10)
        return list(peers), tasks[0].cancelled(), later

    peers, cancelled, later = asyncio.run(scenario())
    assert peers == [4, 6]
    assert cancelled
    assert later == 8


def test_a_queue_that_holds_exactly_one_full_batch_is_allowed() -> None:
    assert BatchPolicy(max_batch_size=4, max_queue=4).max_queue == 4


def test_a_closed_batcher_and_a_miscounting_model_are_named_in_their_errors() -> None:
    async def scenario() -> None:
        named = MicroBatcher(Recorder(), BatchPolicy(min_backlog=8), name="text-batcher")
        wrong: MicroBatcher[int, int] = MicroBatcher(
            lambda items: [], BatchPolicy(min_backlog=8), name="image-batcher"
        )
        with pytest.raises(RuntimeError, match=r"^image-batcher: 0 outputs for 1 input$"):
            await wrong.submit(1)
        await named.close()
        await wrong.close()
        with pytest.raises(BatcherClosedError, match=r"^text-batcher is closed$"):
            await named.submit(1)
        unnamed = MicroBatcher(Recorder(), BatchPolicy())
        await unnamed.close()
        with pytest.raises(BatcherClosedError, match=r"^batcher is closed$"):
            await unnamed.submit(1)

    asyncio.run(scenario())


def test_the_worker_task_is_named_after_its_batcher() -> None:
    async def scenario() -> set[str]:
        batcher = MicroBatcher(Recorder(), BatchPolicy(), name="text-batcher")
        names = {task.get_name() for task in asyncio.all_tasks()}
        await batcher.close()
        return names

    assert "text-batcher" in asyncio.run(scenario())


@pytest.mark.parametrize("min_backlog", [0, 8], ids=["batched", "alone"])
def test_model_calls_run_on_the_executor_the_batcher_was_given(min_backlog: int) -> None:
    threads: list[str] = []

    def process(items: Sequence[int]) -> list[int]:
        threads.append(threading.current_thread().name)
        return [2 * item for item in items]

    async def scenario() -> list[object]:
        with ThreadPoolExecutor(1, thread_name_prefix="model") as executor:
            policy = BatchPolicy(max_batch_size=2, min_backlog=min_backlog)
            batcher = MicroBatcher(process, policy, executor=executor)
            results = await submit_all(batcher, [1, 2])
            await batcher.close()
            return results

    assert asyncio.run(scenario()) == [2, 4]
    assert threads and all(name.startswith("model") for name in threads)


def test_items_run_alone_below_the_backlog_are_counted_as_batches_of_one() -> None:
    sizes: list[int] = []

    async def scenario() -> None:
        policy = BatchPolicy(max_batch_size=4, min_backlog=8)
        batcher = MicroBatcher(Recorder(), policy, on_batch=sizes.append)
        await submit_all(batcher, [1, 2, 3])
        await batcher.close()

    asyncio.run(scenario())
    assert sizes == [1, 1, 1]


def test_while_other_calls_run_a_batch_waits_for_company_until_it_is_full() -> None:
    async def scenario() -> list[list[int]]:
        recorder = HeldFirstCall()
        # The deadline is far off: only an item joining the waiting batch can flush it.
        policy = BatchPolicy(max_batch_size=2, max_wait_ms=900, max_in_flight=2)
        batcher = MicroBatcher(recorder, policy)
        first = asyncio.create_task(batcher.submit(0))  # holds one model slot
        await batch_taken(batcher, 1)
        second = asyncio.create_task(batcher.submit(1))
        await batch_taken(batcher, 2)  # taken into a batch that waits for company
        third = asyncio.create_task(batcher.submit(2))
        assert list(await asyncio.wait_for(asyncio.gather(second, third), timeout=10)) == [2, 4]
        recorder.release.set()
        await first
        await batcher.close()
        return recorder.batches

    assert asyncio.run(scenario())[0] == [1, 2]


def test_with_two_free_model_slots_waiting_items_are_shared_between_them() -> None:
    async def scenario() -> list[list[int]]:
        gate = threading.Event()
        recorder = Recorder(gate)
        policy = BatchPolicy(max_batch_size=8, max_wait_ms=0, max_in_flight=2)
        batcher = MicroBatcher(recorder, policy)
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(4)]
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        await batcher.close()
        return recorder.batches

    batches = asyncio.run(scenario())
    # Half of the four waiting items in the first call, the rest in the other slot.
    assert sorted(batches)[0] == [0, 1]
    assert sorted(i for batch in batches for i in batch) == [0, 1, 2, 3]


def test_an_idle_batcher_never_delays_a_lone_item_even_after_earlier_calls() -> None:
    async def scenario() -> list[int]:
        # A wait far longer than the test's timeout: only "idle → run now" can pass.
        policy = BatchPolicy(max_batch_size=64, max_wait_ms=60_000, max_in_flight=2)
        batcher = MicroBatcher(Recorder(), policy)
        results = [await asyncio.wait_for(batcher.submit(i), timeout=10) for i in range(3)]
        await batcher.close()
        return results

    assert asyncio.run(scenario()) == [0, 2, 4]


def test_a_batcher_at_work_reports_no_error_to_its_event_loop() -> None:
    errors: list[dict[str, object]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        batcher = MicroBatcher(Recorder(), BatchPolicy(max_batch_size=2, max_wait_ms=1))
        await submit_all(batcher, [1, -1, 2, 3])
        await batcher.close()

    asyncio.run(scenario())
    assert errors == []


def test_every_running_call_counts_against_the_free_slots() -> None:
    async def scenario() -> list[list[int]]:
        gate = threading.Event()  # holds every model call
        recorder = Recorder(gate)
        policy = BatchPolicy(max_batch_size=2, max_wait_ms=900, max_in_flight=3)
        batcher = MicroBatcher(recorder, policy)
        tasks = []
        for item in range(3):
            tasks.append(asyncio.create_task(batcher.submit(item)))
            await batch_taken(batcher, item + 1)
        # Two calls run, one slot is free: the third batch waits for company.
        tasks.append(asyncio.create_task(batcher.submit(3)))
        await batch_taken(batcher, 4)
        gate.set()
        assert await asyncio.wait_for(asyncio.gather(*tasks), timeout=10) == [0, 2, 4, 6]
        await batcher.close()
        return recorder.batches

    assert sorted(asyncio.run(scenario())) == [[0], [1], [2, 3]]


def test_with_two_slots_free_while_another_call_runs_an_item_does_not_wait() -> None:
    async def scenario() -> int:
        recorder = HeldFirstCall()
        # A wait far longer than the test's timeout: only "slots free → run now" can pass.
        policy = BatchPolicy(max_batch_size=8, max_wait_ms=60_000, max_in_flight=3)
        batcher = MicroBatcher(recorder, policy)
        first = asyncio.create_task(batcher.submit(0))  # holds one of the three slots
        await batch_taken(batcher, 1)
        result = await asyncio.wait_for(batcher.submit(1), timeout=4)
        recorder.release.set()
        await first
        await batcher.close()
        return result

    assert asyncio.run(scenario()) == 2
