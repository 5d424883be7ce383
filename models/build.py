"""``prism models build``: build every model in the manifest, gate it, lock it, cache it.

The build is keyed by a content hash of everything that decides its output (the
manifest, this package's code, the runtime preprocessing code and the pinned build
requirements). An up-to-date ``<model_dir>/lock.json`` means nothing to do; a cache hit
in ``$PRISM_CACHE_DIR`` (default ``~/.cache/prism``) is copied in; otherwise the models
are built in a staging directory, evaluated against their gates, and swapped in whole.
A model below its gate fails the build and is never cached.

A manifest model marked ``optional`` (whisper-base) is built only when asked for: named
by ``include`` (``prism models build --with NAME``, or the configured
``PRISM_SPEECH_MODEL``); the models included are part of the build key.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import Any

from models.common import BuildContext, sha256_of
from prism.onnx.registry import LOCK_NAME, MANIFEST_PATH, load_manifest
from prism.settings import Env

PROJECT_ROOT = MANIFEST_PATH.parent.parent
# Files whose content decides what the build produces.
KEY_INPUTS = (
    "models/manifest.json",
    "models/build.py",
    "models/common.py",
    "models/datasets.py",
    "models/image.py",
    "models/text.py",
    "models/audio.py",
    "models/speech.py",
    "models/router.py",
    "models/ocr.py",
    "prism/modalities/decoded.py",
    "prism/modalities/image.py",
    "prism/modalities/text.py",
    "prism/modalities/audio.py",
    "prism/modalities/speech.py",
    "prism/modalities/ocr.py",
    "requirements.txt",
    "requirements-build.txt",
    "requirements-build-wheels.txt",
)
BUILDERS = {
    "image": "models.image",
    "text": "models.text",
    "audio": "models.audio",
    "speech": "models.speech",
    "router": "models.router",
    "ocr": "models.ocr",
}
TOOL_PACKAGES = ("torch", "onnx", "onnxruntime", "numpy")


class GateFailedError(RuntimeError):
    """An int8 model fell below its accuracy gate."""


def optional_models() -> set[str]:
    """Names of the manifest models built only when asked for."""
    return {e["name"] for e in load_manifest()["models"] if e.get("optional", False)}


def check_include(include: Iterable[str]) -> frozenset[str]:
    """``include`` as a set, each name an optional manifest model."""
    chosen = frozenset(include)
    unknown = chosen - optional_models()
    if unknown:
        raise ValueError(
            f"not an optional model of the manifest: {', '.join(sorted(unknown))} "
            f"(optional: {', '.join(sorted(optional_models())) or 'none'})"
        )
    return chosen


def build_key(include: Iterable[str] = ()) -> str:
    digest = hashlib.sha256()
    for relative in KEY_INPUTS:
        digest.update(relative.encode())
        digest.update((PROJECT_ROOT / relative).read_bytes())
    chosen = sorted(set(include))
    if chosen:  # the default build's key does not change with this option
        digest.update(("optional:" + ",".join(chosen)).encode())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    configured = os.environ.get(Env.BUILD_CACHE_DIR)
    return Path(configured) if configured else Path.home() / ".cache" / "prism"


def check_gate(gate: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """Names of the gate conditions ``measured`` fails (empty when it passes)."""
    failures = []
    for metric, bounds in gate.items():
        if not isinstance(bounds, dict) or metric == "lowered":
            continue
        value = measured.get(metric)
        if value is None:
            failures.append(f"{metric}: not measured")
        elif not isinstance(value, int | float) or not math.isfinite(value):
            # A figure that could not be computed (NaN: e.g. no confident crop to
            # agree on) compares false with every bound: it must fail, not pass.
            failures.append(f"{metric} = {value!r}: could not be computed")
        elif "min" in bounds and value < bounds["min"]:
            failures.append(f"{metric} = {value:.4f} < {bounds['min']}")
        elif "max" in bounds and value > bounds["max"]:
            failures.append(f"{metric} = {value:.4f} > {bounds['max']}")
    minimum_items = gate.get("min_eval_items")
    if minimum_items is not None and measured.get("eval_items", 0) < minimum_items:
        failures.append(f"eval_items = {measured.get('eval_items')} < {minimum_items}")
    return failures


def lock_is_current(model_dir: Path, key: str) -> bool:
    lock_path = model_dir / LOCK_NAME
    if not lock_path.is_file():
        return False
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    if lock.get("build_key") != key:
        return False
    for model in lock["models"].values():
        for name, meta in model["files"].items():
            path = model_dir / model["name"] / name
            if not path.is_file() or path.stat().st_size != meta["bytes"]:
                return False
    return True


def current_build(model_dir: Path, include: Iterable[str] = ()) -> bool:
    """Whether ``model_dir`` holds a current build of the default models and of the
    optional ones in ``include``. A build that also holds other optional models counts
    (a plain ``prism models build`` keeps a built whisper-base rather than rebuild
    without it)."""
    lock_path = model_dir / LOCK_NAME
    if not lock_path.is_file():
        return False
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    built = optional_models() & set(lock.get("models", {}))
    return check_include(include) <= built and lock_is_current(model_dir, build_key(built))


def _describe_files(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name: {"sha256": sha256_of(path), "bytes": path.stat().st_size}
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


def build_all(
    staging: Path,
    report: Callable[[str], None],
    only: set[str] | None = None,
    include: Iterable[str] = (),
) -> dict[str, Any]:
    """Build every model into ``staging`` (the optional ones only if in ``include``);
    returns the lock (gates checked)."""
    manifest = load_manifest()
    chosen = check_include(include)
    lock: dict[str, Any] = {
        "build_key": build_key(chosen),
        "tools": {package: version(package) for package in TOOL_PACKAGES},
        "reproducibility": (
            "Two builds from a clean state gave byte-identical files for every model on "
            "the project's build machine (checked 2026-11-29): exports are traced, and "
            "calibration and evaluation data come from fixed seeds. ONNX Runtime may "
            "round calibration statistics differently on another CPU, so the int8 image "
            "model's hash can differ across machines; its gate figures are what must hold."
        ),
        "models": {},
    }
    failures: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="prism-build-") as work:
        for entry in manifest["models"]:
            if only and entry["role"] not in only:
                continue
            if entry.get("optional", False) and entry["name"] not in chosen:
                continue
            model_dir = staging / entry["name"]
            model_dir.mkdir(parents=True, exist_ok=True)
            context = BuildContext(entry, model_dir, Path(work), report)
            measured = import_module(BUILDERS[entry["role"]]).build(context)
            failed = check_gate(entry.get("gate", {}), measured)
            if failed:
                failures[entry["name"]] = failed
            lock["models"][entry["name"]] = {
                "name": entry["name"],
                "role": entry["role"],
                "version": entry["version"],
                "runtime_precision": entry["runtime_precision"],
                "files": _describe_files(model_dir),
                "gate": measured,
                "gate_passed": not failed,
            }
            verdict = "passed" if not failed else "FAILED: " + "; ".join(failed)
            report(f"{entry['name']}: gate {verdict}")
    (staging / LOCK_NAME).write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    if failures:
        detail = "; ".join(f"{name}: {', '.join(why)}" for name, why in failures.items())
        raise GateFailedError(f"accuracy gate failed — {detail}")
    return lock


def ensure_built(
    model_dir: Path,
    report: Callable[[str], None],
    *,
    force: bool = False,
    include: Iterable[str] = (),
) -> dict[str, Any]:
    """Make ``model_dir`` hold current, gated models (and the optional ones named in
    ``include``); returns the lock."""
    chosen = check_include(include)
    key = build_key(chosen)
    if not force and current_build(model_dir, chosen):
        report(f"models are up to date (build {key})")
        return dict(json.loads((model_dir / LOCK_NAME).read_text(encoding="utf-8")))
    cached = cache_root() / "models" / key
    if not force and lock_is_current(cached, key):
        report(f"models restored from the build cache ({cached})")
        _replace_dir(cached, model_dir)
        return dict(json.loads((model_dir / LOCK_NAME).read_text(encoding="utf-8")))
    staging = model_dir.with_name(model_dir.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # Raises GateFailedError, leaving staging to inspect.
    lock = build_all(staging, report, include=chosen)
    _replace_dir(staging, cached)
    _replace_dir(staging, model_dir)
    shutil.rmtree(staging)
    report(f"models built and cached (build {key})")
    return lock


def _replace_dir(source: Path, target: Path) -> None:
    temporary = target.with_name(target.name + ".incoming")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, temporary)
    shutil.rmtree(target, ignore_errors=True)
    temporary.rename(target)
