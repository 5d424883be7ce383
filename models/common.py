"""Shared pieces of the model build: locating upstream files, running sessions, hashing."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prism.onnx.registry import ModelSpec

EVAL_BATCH = 32


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_file(relative: str, sha256: str | None = None) -> Path:
    """A file inside an installed package, ``<top-level package>/<path>``, hash-checked."""
    top, _, rest = relative.partition("/")
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"package {top!r} is not installed: run `make setup`")
    path = Path(spec.origin).parent / rest
    if not path.is_file():
        raise RuntimeError(f"{relative} is not in the installed {top!r} package")
    if sha256 is not None and sha256_of(path) != sha256:
        raise RuntimeError(
            f"{relative} does not match the sha256 in models/manifest.json: "
            "the upstream wheel changed; re-pin it or update the manifest"
        )
    return path


@dataclass
class BuildContext:
    """What one model's build step gets: its manifest entry and where to write."""

    entry: dict[str, Any]
    model_dir: Path
    work_dir: Path
    report: Callable[[str], None]

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.entry, self.model_dir)

    def output(self, suffix: str) -> Path:
        return self.model_dir / f"{self.name}.{suffix}"


def open_session(path: Path, threads: int = 2) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def tensor_batches(model: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run ``model`` over ``inputs`` in batches; returns the first output, concatenated."""
    session = open_session(model)
    total = len(next(iter(inputs.values())))
    outputs = [
        session.run(None, {k: v[start : start + EVAL_BATCH] for k, v in inputs.items()})[0]
        for start in range(0, total, EVAL_BATCH)
    ]
    return np.concatenate(outputs).astype(np.float32)
