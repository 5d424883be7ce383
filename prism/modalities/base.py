"""The contract every modality implements, and the batch runner that enforces it.

A modality turns raw bytes into a result in named steps — decode (with validation) →
preprocess → execute(batch) → postprocess — and the runner guarantees the inference
contract: exactly one outcome per input, in input order, where one bad input becomes
that input's :class:`PermanentError` and never fails its peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prism.budget import Cost
from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.onnx.registry import ModelRef

Decoded = TypeVar("Decoded")
Prepared = TypeVar("Prepared")
Raw = TypeVar("Raw")

JsonDict = dict[str, Any]


def check_size(data: bytes, max_bytes: int, what: str) -> None:
    """The first check of every decoder: ``data`` (an ``what``: "image", "video", …) is
    neither empty nor over its modality's byte limit."""
    if not data:
        raise PermanentError(ErrorCode.EMPTY, f"the {what} is empty")
    if len(data) > max_bytes:
        raise PermanentError(
            ErrorCode.TOO_LARGE, f"the {what} is {len(data)} bytes; the limit is {max_bytes} bytes"
        )


@dataclass(frozen=True)
class Outcome:
    """One input's outcome: a result, or the permanent error that rejected it."""

    result: JsonDict | None = None
    error: PermanentError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ModalityHandler(Protocol, Generic[Decoded, Prepared, Raw]):
    modality: Modality
    model: ModelRef

    def decode(self, data: bytes) -> Decoded:
        """Parse and validate one input; raise PermanentError for bad input."""

    def preprocess(self, decoded: Decoded) -> Prepared:
        """Turn one decoded input into what :meth:`execute` batches."""

    def execute(self, batch: Sequence[Prepared]) -> list[Raw]:
        """Run the model once over a batch; one raw output per item, in order."""

    def postprocess(self, decoded: Decoded, prepared: Prepared, raw: Raw) -> JsonDict:
        """Build the JSON result of one input from its raw model output."""


class BudgetedHandler(ModalityHandler[Decoded, Prepared, Raw], Protocol):
    """A modality that knows, before it decodes anything, what a file will cost."""

    # How many of a file's first bytes :meth:`cost` reads (0: its size is enough).
    header_bytes: int

    def cost(self, size: int, head: bytes) -> Cost:
        """The peak memory processing a ``size``-byte file will take, from its first
        ``header_bytes`` bytes alone, with this modality's algorithm (prism.budget)."""


def run_batch(
    handler: ModalityHandler[Decoded, Prepared, Raw], payloads: Sequence[bytes]
) -> list[Outcome]:
    """Run ``payloads`` through ``handler``: one outcome per payload, in order."""
    outcomes: list[Outcome | None] = [None] * len(payloads)
    accepted: list[tuple[int, Decoded, Prepared]] = []
    for index, data in enumerate(payloads):
        try:
            decoded = handler.decode(data)
            accepted.append((index, decoded, handler.preprocess(decoded)))
        except PermanentError as error:
            outcomes[index] = Outcome(error=error)
    if accepted:
        results = _execute(handler, [(decoded, prepared) for _, decoded, prepared in accepted])
        for (index, _, _), result in zip(accepted, results, strict=True):
            outcomes[index] = Outcome(result=result)
    return [outcome for outcome in outcomes if outcome is not None]


def run_decoded(
    handler: ModalityHandler[Decoded, Prepared, Raw], items: Sequence[Decoded]
) -> list[JsonDict]:
    """Results of inputs another modality has already decoded (a video's frames for the
    image handler, its sound track for the audio handler), in order."""
    return _execute(handler, [(item, handler.preprocess(item)) for item in items])


def _execute(
    handler: ModalityHandler[Decoded, Prepared, Raw], items: Sequence[tuple[Decoded, Prepared]]
) -> list[JsonDict]:
    raws = handler.execute([prepared for _, prepared in items])
    if len(raws) != len(items):
        raise RuntimeError(
            f"{handler.modality} model returned {len(raws)} outputs for {len(items)} inputs"
        )
    return [
        handler.postprocess(decoded, prepared, raw)
        for (decoded, prepared), raw in zip(items, raws, strict=True)
    ]
