"""Dependency checks behind ``GET /api/v1/health`` and ``prism doctor``.

Every check only reads. The anonymous route gets :func:`public_health`: a verdict per
dependency and nothing else (no error text, no names), computed at most once per
:data:`PUBLIC_REPORT_SECONDS` however often it is called, so it costs the services
behind it nothing that grows with callers.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from prism.errors import PrismError
from prism.onnx.registry import load_manifest, read_lock
from prism.pipeline import Pipeline


def _check(probe: Callable[[], str]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except PrismError as exc:
        detail, ok = exc.message, False
    except Exception as exc:  # a health check reports every failure; it never raises
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - start) * 1000, 1)}


def check_health(pipeline: Pipeline) -> dict[str, Any]:
    settings = pipeline.settings

    def storage() -> str:
        if not pipeline.blobs.container_exists(settings.incoming_container):
            raise RuntimeError(f"container {settings.incoming_container} does not exist")
        return f"container {settings.incoming_container} reachable"

    def queues() -> str:
        depths = {
            queue: pipeline.queues.approximate_count(queue)
            for queue in settings.modality_queues.values()
        }
        return ", ".join(f"{queue}={depth}" for queue, depth in depths.items())

    def cosmos() -> str:
        pipeline.results.read("health-probe", "health-probe")
        return f"container {settings.results_container} reachable"

    def models() -> str:
        lock = read_lock(settings.model_dir)
        if lock is None:
            raise RuntimeError("models are not built: run `prism models build`")
        # Every model but the optional ones, and the speech model configured.
        names = [
            entry["name"]
            for entry in load_manifest()["models"]
            if not entry.get("optional", False) or entry["name"] == settings.speech_model
        ]
        failing = [n for n in names if not lock["models"].get(n, {}).get("gate_passed")]
        if failing:
            raise RuntimeError(f"not built or below their gate: {', '.join(failing)}")
        return f"{len(names)} models built, every gate passed"

    checks = {
        "storage": _check(storage),
        "queues": _check(queues),
        "cosmos": _check(cosmos),
        "models": _check(models),
    }
    return {
        "status": "ok" if all(c["ok"] for c in checks.values()) else "degraded",
        "checks": checks,
    }


PUBLIC_REPORT_SECONDS = 5.0
_public: weakref.WeakKeyDictionary[Pipeline, tuple[float, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
_public_lock = threading.Lock()


def public_health(
    pipeline: Pipeline, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """What an anonymous caller may know: ``ok`` or ``degraded``, and which dependency
    is failing — from a report at most :data:`PUBLIC_REPORT_SECONDS` old."""
    with _public_lock:  # one check at a time: concurrent callers share its answer
        now = clock()
        cached = _public.get(pipeline)
        if cached is None or now - cached[0] >= PUBLIC_REPORT_SECONDS:
            report = check_health(pipeline)
            terse = {
                "status": report["status"],
                "checks": {name: check["ok"] for name, check in report["checks"].items()},
            }
            cached = (now, terse)
            _public[pipeline] = cached
        return cached[1]
