"""Dependency checks behind ``GET /api/v1/health`` and ``prism doctor``.

Every check only reads. The anonymous route gets :func:`public_health`: a verdict per
dependency and nothing else (no error text, no names), computed at most once per
:data:`PUBLIC_REPORT_SECONDS` however often it is called, so it costs the services
behind it nothing that grows with callers.

A dependency that hangs must not hang the report: each probe runs in a thread of its
own, all of them at once, and one that has not answered within
:data:`PROBE_DEADLINE_SECONDS` is reported failing. Its thread cannot be stopped (an
SDK call is blocking), so it is left to finish and a probe of that dependency is not
started again until it has — a later check waits on the same one — which keeps a
stalled service to one stuck thread per dependency, however many checks are made.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_futures
from typing import Any

from prism.errors import PrismError
from prism.onnx.registry import load_manifest, read_lock
from prism.pipeline import Pipeline

# Each probe is a read that answers in milliseconds when its service is well; the report
# is ready within this however the services behave.
PROBE_DEADLINE_SECONDS = 4.0


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


# Per pipeline, the probe of each dependency now running (or last run).
_probes: weakref.WeakKeyDictionary[Pipeline, dict[str, Future[dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)
_probes_lock = threading.Lock()


def _probe(pipeline: Pipeline, name: str, probe: Callable[[], str]) -> Future[dict[str, Any]]:
    """The running probe of ``name``, or a new one in a daemon thread (a hung probe
    must not keep the process from exiting)."""
    with _probes_lock:
        running = _probes.setdefault(pipeline, {}).get(name)
        if running is not None and not running.done():
            return running
        future: Future[dict[str, Any]] = Future()
        _probes[pipeline][name] = future
    threading.Thread(
        target=lambda: future.set_result(_check(probe)), name=f"health-{name}", daemon=True
    ).start()
    return future


def check_health(pipeline: Pipeline, deadline: float = PROBE_DEADLINE_SECONDS) -> dict[str, Any]:
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

    start = time.perf_counter()
    probes = {
        name: _probe(pipeline, name, probe)
        for name, probe in (
            ("storage", storage), ("queues", queues), ("cosmos", cosmos), ("models", models)
        )
    }  # fmt: skip
    wait_for_futures(probes.values(), timeout=deadline)
    checks = {name: _answer(future, deadline, start) for name, future in probes.items()}
    return {
        "status": "ok" if all(c["ok"] for c in checks.values()) else "degraded",
        "checks": checks,
    }


def _answer(future: Future[dict[str, Any]], deadline: float, start: float) -> dict[str, Any]:
    if future.done():
        return future.result()
    waited = round((time.perf_counter() - start) * 1000, 1)
    return {"ok": False, "detail": f"no answer within {deadline:g} s", "ms": waited}


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
        cached = _public.get(pipeline)
        if cached is None or clock() - cached[0] >= PUBLIC_REPORT_SECONDS:
            report = check_health(pipeline)
            terse = {
                "status": report["status"],
                "checks": {name: check["ok"] for name, check in report["checks"].items()},
            }
            # Dated when it is ready: the callers that waited for it get it, rather than
            # each starting a check of its own after the one before (a check can take
            # the whole deadline, as long as the cache lasts).
            cached = (clock(), terse)
            _public[pipeline] = cached
        return cached[1]
