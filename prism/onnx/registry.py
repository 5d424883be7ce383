"""The model registry: the committed manifest joined with the lock of the built files.

``models/manifest.json`` says what each model is (source, preprocessing, quantization,
gates); ``<model_dir>/lock.json`` — written by ``prism models build`` — says what was
built (file hashes, sizes, measured gate figures). A model directory holds
``<name>.int8.onnx`` (what runs), ``<name>.fp32.onnx`` (the reference) and its assets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from prism.onnx.sessions import ModelUnavailableError

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "models" / "manifest.json"
LOCK_NAME = "lock.json"

Precision = Literal["int8", "fp32"]


@dataclass(frozen=True)
class ModelRef:
    """Which model produced a result, and under which configuration: enough to key a
    cache and to audit a result. ``config`` is a digest of the settings that shape the
    result (labels, thresholds, limits); a changed setting is a different ModelRef."""

    name: str
    version: str
    preprocessing_version: str
    config: str = ""

    def key_parts(self) -> tuple[str, str, str, str]:
        """What a cache key or a content-addressed id must include."""
        return (self.name, self.version, self.preprocessing_version, self.config)


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry plus where its built files live."""

    entry: dict[str, Any]
    directory: Path

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    @property
    def modality(self) -> str:
        return str(self.entry["modality"])

    @property
    def version(self) -> str:
        return str(self.entry["version"])

    @property
    def preprocessing(self) -> dict[str, Any]:
        return dict(self.entry["preprocessing"])

    @property
    def ref(self) -> ModelRef:
        return ModelRef(self.name, self.version, str(self.preprocessing["version"]))

    @property
    def runtime_precision(self) -> Precision:
        precision = self.entry["runtime_precision"]
        if precision not in ("int8", "fp32"):
            raise ModelUnavailableError(f"{self.name}: unknown runtime precision {precision!r}")
        return precision  # type: ignore[no-any-return]

    @property
    def parts(self) -> tuple[str, ...]:
        """The graphs of a model built as several (Whisper: encoder, decoder); empty
        for a model of one graph."""
        return tuple(str(part) for part in self.entry.get("parts", ()))

    def at(self, precision: Precision) -> ModelSpec:
        """This model run at ``precision`` (the benchmarks compare int8 with fp32)."""
        return ModelSpec({**self.entry, "runtime_precision": precision}, self.directory)

    def onnx_path(self, precision: Precision | None = None, part: str | None = None) -> Path:
        """``<name>[.<part>].<precision>.onnx``."""
        stem = f"{self.name}.{part}" if part else self.name
        return self.directory / f"{stem}.{precision or self.runtime_precision}.onnx"

    def asset(self, file_name: str) -> Path:
        path = self.directory / file_name
        if not path.is_file():
            raise ModelUnavailableError(
                f"{self.name}: asset {file_name} is missing: run `prism models build`"
            )
        return path


@lru_cache(maxsize=4)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    return manifest


def model_named(name: str, model_dir: Path, manifest_path: Path = MANIFEST_PATH) -> ModelSpec:
    """The manifest entry called ``name``."""
    for entry in load_manifest(manifest_path)["models"]:
        if entry["name"] == name:
            return ModelSpec(entry, model_dir / entry["name"])
    raise ModelUnavailableError(f"no model named {name!r} in {manifest_path}")


def model_for(role: str, model_dir: Path, manifest_path: Path = MANIFEST_PATH) -> ModelSpec:
    """The manifest entry whose ``role`` (image, audio, text or router) is ``role``."""
    for entry in load_manifest(manifest_path)["models"]:
        if entry["role"] == role:
            return ModelSpec(entry, model_dir / entry["name"])
    raise ModelUnavailableError(f"no model with role {role!r} in {manifest_path}")


def read_lock(model_dir: Path) -> dict[str, Any] | None:
    """The build lock, or None when the models were never built."""
    path = model_dir / LOCK_NAME
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        lock: dict[str, Any] = json.load(handle)
    return lock


def model_report(model_dir: Path) -> list[dict[str, Any]]:
    """One row per manifest model, joined with the lock's sizes and gate figures (an
    optional model only where it was built)."""
    lock = read_lock(model_dir) or {"models": {}}
    rows = []
    for entry in load_manifest()["models"]:
        built = lock["models"].get(entry["name"])
        if built is None and entry.get("optional", False):
            continue
        files = built["files"] if built else {}
        stems = [f"{entry['name']}.{part}" for part in entry.get("parts", ())] or [entry["name"]]
        rows.append(
            {
                "name": entry["name"],
                "role": entry["role"],
                "modality": entry["modality"],
                "version": entry["version"],
                "runtime_precision": entry["runtime_precision"],
                "built": built is not None,
                "fp32_bytes": _total_bytes(files, stems, "fp32"),
                "int8_bytes": _total_bytes(files, stems, "int8"),
                "sha256": _runtime_sha256(files, stems, entry["runtime_precision"]),
                "gate": built["gate"] if built else {},
                "gate_thresholds": entry.get("gate", {}),
                "gate_passed": bool(built and built["gate_passed"]),
            }
        )
    return rows


def _total_bytes(files: dict[str, Any], stems: list[str], precision: str) -> int | None:
    sizes = [files.get(f"{stem}.{precision}.onnx", {}).get("bytes") for stem in stems]
    return None if None in sizes else sum(int(size) for size in sizes)


def _runtime_sha256(files: dict[str, Any], stems: list[str], precision: str) -> str | None:
    """One graph: its hash; several: the hash of their hashes, in the manifest's order."""
    hashes = [files.get(f"{stem}.{precision}.onnx", {}).get("sha256") for stem in stems]
    if None in hashes:
        return None
    if len(hashes) == 1:
        return str(hashes[0])
    return hashlib.sha256("".join(str(h) for h in hashes).encode()).hexdigest()
