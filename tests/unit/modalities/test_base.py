"""The batch runner's contract: one outcome per input, in order, errors per item."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, run_batch
from prism.modality import Modality
from prism.onnx.registry import ModelRef


class Doubler:
    """A handler with real step semantics: rejects b"bad", doubles numbers."""

    modality = Modality.TEXT
    model = ModelRef("doubler", "1", "1")

    def __init__(self) -> None:
        self.batches: list[int] = []

    def decode(self, data: bytes) -> int:
        if data == b"bad":
            raise PermanentError(ErrorCode.CORRUPT, "bad item")
        return int(data)

    def preprocess(self, decoded: int) -> int:
        return decoded

    def execute(self, batch: Sequence[int]) -> list[int]:
        self.batches.append(len(batch))
        return [2 * item for item in batch]

    def postprocess(self, decoded: int, prepared: int, raw: int) -> JsonDict:
        return {"input": decoded, "output": raw}


def test_bad_item_gets_its_own_error_and_peers_their_results() -> None:
    outcomes = run_batch(Doubler(), [b"1", b"bad", b"3"])
    assert [o.result for o in outcomes] == [
        {"input": 1, "output": 2},
        None,
        {"input": 3, "output": 6},
    ]
    assert outcomes[1].error is not None and outcomes[1].error.code is ErrorCode.CORRUPT


def test_valid_items_run_as_one_model_call() -> None:
    handler = Doubler()
    run_batch(handler, [b"1", b"bad", b"2", b"3"])
    assert handler.batches == [3]


def test_all_bad_batch_never_calls_the_model() -> None:
    handler = Doubler()
    outcomes = run_batch(handler, [b"bad", b"bad"])
    assert handler.batches == [] and all(not o.ok for o in outcomes)


def test_model_returning_the_wrong_count_is_an_error_not_a_silent_shift() -> None:
    class Dropper(Doubler):
        def execute(self, batch: Sequence[int]) -> list[int]:
            return [2 * item for item in batch][:-1]

    with pytest.raises(RuntimeError, match="2 outputs for 3 inputs"):
        run_batch(Dropper(), [b"1", b"2", b"3"])


@given(
    st.lists(st.one_of(st.integers(-1000, 1000).map(lambda n: str(n).encode()), st.just(b"bad")))
)
def test_outcomes_match_inputs_in_count_and_order(payloads: list[bytes]) -> None:
    outcomes = run_batch(Doubler(), payloads)
    assert len(outcomes) == len(payloads)
    for data, outcome in zip(payloads, outcomes, strict=True):
        if data == b"bad":
            assert outcome.error is not None and outcome.result is None
        else:
            assert outcome.result == {"input": int(data), "output": 2 * int(data)}
