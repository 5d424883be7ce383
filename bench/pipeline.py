"""Benchmarks of the whole pipeline against the real emulators and models:

* end to end: N mixed files through the local host, files/s and each stage's share,
  next to the raw model throughput on the same files measured in the same run;
* (the prediction cache, per modality, is bench/cache.py);
* router: ingest of a 1 KB file against a 100 MB file of the same type;
* cold start: importing ``function_app``, and the first request per modality (model
  load included) against the second.

Each starts what it needs (a private local stack on free ports) and stops it.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from prism.settings import PROJECT_ROOT, load_settings
from prism_local.localstack import LocalStack, StackState, devhost_command
from tests.isolation import own_resources

SAMPLES = PROJECT_ROOT / "samples"
STAGES = ("route", "queue_wait", "download", "cache", "inference", "write")


# A running stack the suites use instead of starting their own (see :func:`sharing`).
_shared_stack: StackState | None = None


@contextmanager
def private_stack() -> Iterator[StackState]:
    """A local stack of this run's own on free ports, stopped at the end; or the stack
    given to :func:`sharing`, left running."""
    if _shared_stack is not None:
        yield _shared_stack
        return
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as state_dir:
        stack = LocalStack(Path(state_dir), prefer_default_ports=False)
        try:
            yield stack.start()
        finally:
            stack.stop()


@contextmanager
def sharing(state: StackState) -> Iterator[None]:
    """Inside the block the suites run against ``state``'s emulators (the test session's
    stack, for ``--quick``) instead of starting a stack each: every run still gets
    containers, queues and a database of its own (:func:`stack_environment`)."""
    global _shared_stack  # noqa: PLW0603 - one stack per process, set for a block
    previous, _shared_stack = _shared_stack, state
    try:
        yield
    finally:
        _shared_stack = previous


def stack_environment(state: StackState, tag: str) -> dict[str, str]:
    """The app settings of a run against ``state``: resources named after ``tag`` and a
    random suffix (no two runs on a shared stack see each other's)."""
    return {
        **os.environ,
        **state.app_settings(),
        **own_resources(f"{tag}{uuid.uuid4().hex[:8]}"),
    }


# Each ten files: 40 % photos, 10 % speech, 50 % texts, the first three one of each.
KINDS = ("image", "audio", "text", "image", "text", "image", "text", "image", "text", "text")


def mixed_files(count: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """``count`` distinct real files (so no cache hits): the sample photos re-cropped,
    the sample speech with a little noise, sentences with their own numbers; in the
    shares of :data:`KINDS`."""
    import soundfile
    from PIL import Image

    from models.datasets import sentences

    rng = np.random.default_rng(seed)
    photos = [Image.open(SAMPLES / n).convert("RGB") for n in ("cat.jpg", "coffee.png")]
    speech, rate = soundfile.read(SAMPLES / "greeting.flac", dtype="float32")
    texts = sentences(64)
    files: list[tuple[str, bytes]] = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        if kind == "image":
            photo = photos[index % len(photos)]
            left, top = int(rng.integers(0, 40)), int(rng.integers(0, 40))
            crop = photo.crop((left, top, photo.width - 40 + left, photo.height - 40 + top))
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG", quality=int(rng.integers(70, 95)))
            files.append((f"photo-{index}.jpg", buffer.getvalue()))
        elif kind == "audio":
            noisy = speech + rng.normal(0, 0.002, speech.shape).astype(np.float32)
            buffer = io.BytesIO()
            soundfile.write(buffer, noisy, rate, format="FLAC")
            files.append((f"speech-{index}.flac", buffer.getvalue()))
        else:
            text = f"{texts[index % len(texts)]} (note {index})"
            files.append((f"note-{index}.txt", text.encode()))
    return files


def _connections(environ: dict[str, str]) -> tuple[Any, Any]:
    from prism.storage import CosmosConnection, StorageConnection

    # From the stack's settings: uploads are announced as BlobCreated events (the local
    # stand-in for Event Grid), so the host reads new blobs without listing the container.
    return StorageConnection.from_environ(environ), CosmosConnection.from_environ(environ)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc), its waited children's
    included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU used by this process's waited children (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(count: int) -> dict[str, Any]:
    from prism.client import connect
    from prism.inference.engine import Engine
    from prism.modality import Modality
    from prism.queries import every_result
    from prism.results import public_view
    from prism.routing import route

    files = mixed_files(count)
    with private_stack() as state:
        environ = stack_environment(state, "benche2e")
        settings = load_settings(environ)
        storage, cosmos = _connections(environ)
        client = connect(settings, storage=storage, cosmos=cosmos)
        client.blobs.ensure_container(settings.incoming_container)
        start = time.perf_counter()
        for name, data in files:
            client.blobs.upload(settings.incoming_container, name, data)
        upload_s = time.perf_counter() - start
        # Where the pipeline's CPU goes: the host with its worker, and each emulator.
        emulators = {"azurite": state.azurite.pid, "cosmos": state.cosmos.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in emulators.items()}
        host_before = children_cpu_seconds()
        start = time.perf_counter()
        completed = subprocess.run(
            devhost_command("run", "--timeout", "1200"),
            env=environ, capture_output=True, text=True, check=True,
        )  # fmt: skip
        pipeline_s = time.perf_counter() - start
        cpu_s = {"host_and_worker": children_cpu_seconds() - host_before}
        cpu_s |= {name: cpu_seconds(pid) - cpu_before[name] for name, pid in emulators.items()}
        documents = list(every_result(client.results))
        write_ms = _write_latency_ms(client)
    sizes: dict[str, list[int]] = defaultdict(list)
    for document in documents:
        sizes[document["modality"]].append(len(json.dumps(public_view(document))))
    stage_ms: dict[str, float] = defaultdict(float)
    for document in documents:
        for stage, value in document.get("timings_ms", {}).items():
            stage_ms[stage] += value
    stage_ms["write"] = write_ms * len(documents)
    total = sum(stage_ms.get(s, 0.0) for s in STAGES)
    # The models alone on the same files, in this process, one batch per modality.
    engine = Engine(load_settings({}))
    by_modality: dict[Modality, list[bytes]] = defaultdict(list)
    for name, data in files:
        by_modality[route(data[:4096], size=len(data), name=name).modality].append(data)
    for modality, items in by_modality.items():
        engine.run(modality, items[:2])  # load the sessions outside the timing
    start, cpu_start = time.perf_counter(), time.process_time()
    for modality, items in by_modality.items():
        engine.run(modality, items)
    raw_s = time.perf_counter() - start
    cpu_s["models_alone"] = time.process_time() - cpu_start
    return {
        "files": count,
        "results": len(documents),
        "upload_s": upload_s,
        "pipeline_s": pipeline_s,
        "files_per_s": count / pipeline_s,
        "raw_model_files_per_s": count / raw_s,
        # CPU seconds per file: the pipeline's processes against the models alone.
        "cpu_s_per_file": {name: seconds / count for name, seconds in cpu_s.items()},
        "stage_share": {s: stage_ms.get(s, 0.0) / total for s in STAGES},
        "stage_mean_ms": {s: stage_ms.get(s, 0.0) / max(1, len(documents)) for s in STAGES},
        "host_summary": completed.stdout.strip().splitlines()[-1],
        "document_kb": {m: statistics.mean(v) / 1024 for m, v in sizes.items()},
    }


def _write_latency_ms(client: Any, repeats: int = 50) -> float:
    """Median create latency of a result-sized document, measured in this run."""
    from prism.results import utc_now

    timings = []
    for index in range(repeats):
        document = {"id": f"bench-write-{index}", "modality": "unrouted", "created_at": utc_now(),
                    "payload": "x" * 2048}  # fmt: skip
        start = time.perf_counter()
        client.results.create(document)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def median_ms(call: Callable[[int], object], repeats: int) -> float:
    """The median wall time of ``call(0)``, ``call(1)``, …, in milliseconds."""
    timings = []
    for index in range(repeats):
        start = time.perf_counter()
        call(index)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def router(repeats: int = 20, large_mib: int = 100) -> dict[str, Any]:
    """Ingest (properties, two ranged reads, routing, enqueue) of the same PNG image as
    a 1 KB file and as a 100 MB file (``large_mib``): routing must not read the whole
    file."""
    from PIL import Image

    from prism.pipeline import build_pipeline

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, format="PNG")
    small = buffer.getvalue() + b"\0" * (1024 - len(buffer.getvalue()))
    large = buffer.getvalue() + b"\0" * (large_mib * 1024 * 1024 - len(buffer.getvalue()))
    with private_stack() as state:
        environ = stack_environment(state, "benchroute")
        settings = load_settings(environ, max_image_bytes=200 * 1024 * 1024)
        storage, cosmos = _connections(environ)
        pipeline = build_pipeline(settings, storage=storage, cosmos=cosmos)
        pipeline.blobs.ensure_container(settings.incoming_container)
        pipeline.queues.ensure_queue(settings.image_queue)
        ingest_ms: dict[str, float] = {}
        route_ms: dict[str, float] = {}
        for label, data in (("1KB", small), ("100MB", large)):
            pipeline.blobs.upload(settings.incoming_container, label, data)
            pipeline.ingest(settings.incoming_container, label)  # warm-up
            routes: list[float] = []
            ingest_ms[label] = median_ms(
                partial(_ingest, pipeline, settings.incoming_container, label, routes), repeats
            )
            route_ms[label] = statistics.median(routes)
    return {
        "large_bytes": len(large),
        "route_1KB_ms": route_ms["1KB"],
        "route_100MB_ms": route_ms["100MB"],
        "route_large_over_small": route_ms["100MB"] / route_ms["1KB"],
        "ingest_1KB_ms": ingest_ms["1KB"],
        "ingest_100MB_ms": ingest_ms["100MB"],
        "ingest_large_over_small": ingest_ms["100MB"] / ingest_ms["1KB"],
    }


def _ingest(pipeline: Any, container: str, name: str, routes: list[float], _: int) -> None:
    routes.append(pipeline.ingest(container, name).route_ms)


COLD_IMPORT = (
    "import time; t = time.perf_counter(); import function_app; print(time.perf_counter() - t)"
)
FIRST_REQUEST = """
import sys, time
from pathlib import Path
from prism.inference.engine import Engine
from prism.modality import Modality
from prism.settings import get_settings
modality = Modality(sys.argv[1])
data = Path(sys.argv[2]).read_bytes()
engine = Engine(get_settings())
timings = []
for _ in range(2):
    start = time.perf_counter()
    (outcome,) = engine.run(modality, [data])
    assert outcome.ok
    timings.append(time.perf_counter() - start)
print(timings[0], timings[1])
"""


def cold_start(repeats: int = 5) -> dict[str, Any]:
    imports = [
        float(subprocess.run([sys.executable, "-c", COLD_IMPORT], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True).stdout)
        for _ in range(repeats)
    ]  # fmt: skip
    first_request = {}
    for modality, sample in (
        ("image", "cat.jpg"),
        ("audio", "greeting.flac"),
        ("text", "review.txt"),
    ):
        # As on a new instance: no compiled-code cache of an earlier process to reuse.
        with tempfile.TemporaryDirectory() as empty_cache:
            completed = subprocess.run(
                [sys.executable, "-c", FIRST_REQUEST, modality, str(SAMPLES / sample)],
                cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
                env={**os.environ, "NUMBA_CACHE_DIR": empty_cache},
            )  # fmt: skip
        first, second = (float(v) for v in completed.stdout.split())
        first_request[modality] = {"first_ms": first * 1000, "second_ms": second * 1000}
    return {
        "import_function_app_ms": statistics.median(imports) * 1000,
        "first_request": first_request,
    }


QUICK_FILES = 3  # --quick: one photo, one recording, one text end to end


def run_all(files: int, *, quick: bool = False) -> dict[str, Any]:
    """``quick``: a file of each modality end to end, a 2 MiB file against the 1 KB one,
    each cold start once."""
    if quick:
        return {
            "end_to_end": end_to_end(min(files, QUICK_FILES)),
            "router": router(repeats=2, large_mib=2),
            "cold_start": cold_start(repeats=1),
        }
    return {
        "end_to_end": end_to_end(files),
        "router": router(),
        "cold_start": cold_start(),
    }


def render(report: dict[str, Any]) -> str:
    e2e, route, cold = (report[k] for k in ("end_to_end", "router", "cold_start"))
    shares = ", ".join(f"{s} {v:.0%}" for s, v in e2e["stage_share"].items())
    lines = [
        f"end to end: {e2e['results']}/{e2e['files']} files in {e2e['pipeline_s']:.1f} s = "
        f"{e2e['files_per_s']:.1f} files/s through the local host; the models alone "
        f"{e2e['raw_model_files_per_s']:.1f} files/s on the same files",
        f"  time per stage: {shares}",
        "  CPU per file: "
        + ", ".join(
            f"{name} {seconds * 1000:.0f} ms" for name, seconds in e2e["cpu_s_per_file"].items()
        ),
        f"router: routing a 1 KB PNG {route['route_1KB_ms']:.1f} ms vs a 100 MB PNG "
        f"{route['route_100MB_ms']:.1f} ms ({route['route_large_over_small']:.2f}×); the whole "
        f"ingest {route['ingest_1KB_ms']:.1f} vs {route['ingest_100MB_ms']:.1f} ms "
        f"({route['ingest_large_over_small']:.2f}×, files ≥ 1 MiB also get the tiering tag)",
        f"cold start: import function_app {cold['import_function_app_ms']:.0f} ms; first/second "
        "request "
        + ", ".join(
            f"{m} {v['first_ms']:.0f}/{v['second_ms']:.0f} ms"
            for m, v in cold["first_request"].items()
        ),
    ]
    return "\n".join(lines)
