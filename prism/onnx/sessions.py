"""ONNX Runtime sessions: loaded lazily, once per process per (file, thread count)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from prism.errors import ErrorCode, PrismError

if TYPE_CHECKING:
    import onnxruntime

_lock = threading.Lock()
_sessions: dict[tuple[Path, int], onnxruntime.InferenceSession] = {}


class ModelUnavailableError(PrismError):
    """A model file is missing or unreadable: build the models, then restart."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.MODEL_UNAVAILABLE, message)


def get_session(path: Path, intra_op_threads: int) -> onnxruntime.InferenceSession:
    """The process-wide session for ``path``, created on first use.

    Thread counts are explicit because ONNX Runtime's default is the host's core
    count, which on a shared Functions instance is more than the instance owns.
    """
    key = (path.resolve(), intra_op_threads)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _open(path, intra_op_threads)
            _sessions[key] = session
        return session


def _open(path: Path, intra_op_threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    if not path.is_file():
        raise ModelUnavailableError(f"model file {path} is missing: run `prism models build` first")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No arena: ONNX Runtime's CPU arena keeps the most any run (or several at once) ever
    # took, for good, so an instance's memory would grow with its busiest moment and
    # never come back. Without it a run's activations are freed when it returns, and
    # each file's reservation (prism.budget) covers its own.
    options.enable_cpu_mem_arena = False
    try:
        return onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT raises its own untyped errors for unreadable files
        raise ModelUnavailableError(f"model file {path} could not be loaded: {exc}") from exc
