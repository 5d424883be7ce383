"""Dependency checks behind ``GET /api/v1/health`` and ``prism doctor``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prism.errors import PrismError
from prism.inference.registry import load_manifest, read_lock
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
        pipeline.blobs.ensure_container(settings.incoming_container)
        return f"container {settings.incoming_container} reachable"

    def queues() -> str:
        depths = {
            queue: pipeline.queues.approximate_count(queue)
            for queue in (settings.image_queue, settings.audio_queue, settings.text_queue)
        }
        return ", ".join(f"{queue}={depth}" for queue, depth in depths.items())

    def cosmos() -> str:
        pipeline.results.read("health-probe", "unrouted")
        return f"container {settings.results_container} reachable"

    def models() -> str:
        lock = read_lock(settings.model_dir)
        if lock is None:
            raise RuntimeError("models are not built: run `prism models build`")
        names = [entry["name"] for entry in load_manifest()["models"]]
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
