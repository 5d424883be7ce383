"""Load: N mixed files, about 5 % of them hostile, through the local host and the real
emulators; then prove that every file has exactly one document (a result or a coded
rejection) and that no queue, poison queue or blob-trigger poison queue holds anything.

    python -m bench.load                   # 5,000 files (make load)
    python -m bench.load --files 200       # the pipeline issue's 200-file figure

Files are dropped while the host runs, at most ``--ahead`` messages in front of it (the
first ``--ahead`` before it starts): Azurite keeps every queue message of the account in
one collection that it scans and re-sorts on each queue operation, so a backlog of N
messages makes every send, receive and delete cost O(N) on the emulator — 20,000 waiting
messages cost 0.24 s per send, receive and delete on a quiet queue, against 14 ms with
none, where Azure Storage queues cost the same at any depth. ``--ahead 0`` drops every
file before the host starts (the emulator's worst case). The container still grows to N
blobs under the running host, which is what the load is for: a host whose cost per file
grew with the container would slow down as it fills.

Reports files/s (the local host's run from start to idle, model loading included), the
results per second in each minute, and the peak resident memory (VmHWM) of the local
host, Azurite and the Cosmos DB emulator. Bounded: a private stack on free ports, a run
timeout, and everything stopped at the end. Writes bench/results/load-<files>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.machine import recorded_machine
from bench.pipeline import mixed_files, private_stack, stack_environment
from prism.errors import ErrorCode
from prism.queries import every_result
from prism.results import blob_result_id
from prism.settings import PROJECT_ROOT, Env, load_settings
from prism_local.localstack import devhost_command
from tests.fixtures.corpus import random_bytes
from tests.fixtures.hostile import (
    appended_zip,
    gif_declaring,
    gzip_bomb,
    pdf_with_embedded_jpeg,
    png_declaring,
    tiff_declaring,
    zip_bomb,
)

RESULTS = PROJECT_ROOT / "bench" / "results"
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"
SAMPLE_SECONDS = 0.5
DROP_STEP = 100  # files dropped between looks at the queues


def hostile_kinds() -> list[tuple[str, Callable[[int], bytes]]]:
    """Hostile files by kind; ``index`` makes each one a distinct input."""
    bad = PROJECT_ROOT / "samples" / "bad"
    zipped, gzipped = zip_bomb(20), gzip_bomb(20)
    return [
        ("empty.txt", lambda i: b""),
        ("invoice.pdf", lambda i: (bad / "invoice.pdf").read_bytes() + b"%" + str(i).encode()),
        ("latin1.txt", lambda i: (bad / "latin1.txt").read_bytes() + str(i).encode()),
        ("truncated.jpg", lambda i: (bad / "truncated.jpg").read_bytes()[: -1 - i % 50]),
        ("random.bin", lambda i: random_bytes(4096, seed=i)),
        ("bomb.zip", lambda i: zipped),
        ("bomb.txt.gz", lambda i: gzipped),
        ("huge.png", lambda i: png_declaring(65_535, 60_000 + i % 5_000)),
        ("huge.gif", lambda i: gif_declaring(65_535, 60_000 + i % 5_000)),
        ("huge.tiff", lambda i: tiff_declaring(100_000, 100_000 + i)),
        ("scan.jpg", lambda i: pdf_with_embedded_jpeg() + str(i).encode()),
        ("gifar.jpg", lambda i: appended_zip((bad.parent / "cat.jpg").read_bytes()) + bytes(i)),
        ("nested.json", lambda i: b"[" * (3_000 + i)),
        # Virtual folders and a bidi override in the blob name itself (control characters
        # and ".." segments cannot be uploaded: the storage request would not sign).
        ("\u202egpj.exe/dir/sub name", lambda i: f"hostile name {i}".encode()),
    ]


def workload(count: int, hostile_share: float) -> list[tuple[str, bytes]]:
    hostile_count = round(count * hostile_share)
    kinds = hostile_kinds()
    hostile = [
        (f"h{index}-{kinds[index % len(kinds)][0]}", kinds[index % len(kinds)][1](index))
        for index in range(hostile_count)
    ]
    files = mixed_files(count - hostile_count)
    # Interleaved, so hostile files meet honest ones in the same queue batches.
    step = max(1, len(files) // max(1, hostile_count))
    for position, item in enumerate(hostile):
        files.insert(min(len(files), position * (step + 1)), item)
    return files


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run(count: int, hostile_share: float, timeout: float, ahead: int) -> dict[str, Any]:
    from prism.client import connect
    from prism.storage import CosmosConnection, StorageConnection, poison_queue_name

    files = workload(count, hostile_share)
    with private_stack() as state, tempfile.TemporaryDirectory(prefix="prism-load-") as logs:
        environ = stack_environment(state, "load")
        settings = load_settings(environ)
        # From the stack's settings: uploads are announced as BlobCreated events, as on
        # Azure (Event Grid), so the host's cost per file does not grow with the container.
        client = connect(
            settings,
            storage=StorageConnection.from_environ(environ),
            cosmos=CosmosConnection.from_environ(environ),
        )
        container = settings.incoming_container
        client.blobs.ensure_container(container)
        work_queues = list(settings.modality_queues.values())
        # The messages Azurite holds for the pipeline: events not yet taken, and jobs.
        pipeline_queues = [environ[Env.LOCAL_BLOB_EVENTS_QUEUE], *work_queues]
        for queue in pipeline_queues:
            client.queues.ensure_queue(queue)
        expected: dict[str, str] = {}  # document id → blob name

        def drop(until: int) -> None:
            for index in range(len(expected), min(until, len(files))):
                name, data = files[index]
                blob = f"{index:05d}-{name}"
                info = client.blobs.upload(container, blob, data)
                expected[blob_result_id(container, blob, info.etag)] = blob

        upload_start = time.perf_counter()
        drop(ahead if ahead else len(files))
        log_path = Path(logs) / "devhost.log"
        start = time.perf_counter()
        with log_path.open("w") as log:
            host = subprocess.Popen(
                devhost_command("run", "--timeout", str(timeout)),
                env=environ, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            host_peak = 0
            while host.poll() is None:
                host_peak = max(host_peak, peak_kib(host.pid))  # VmHWM only grows
                waiting = sum(client.queues.approximate_count(q) for q in pipeline_queues)
                if len(expected) < len(files) and waiting < ahead:
                    drop(len(expected) + DROP_STEP)
                else:
                    time.sleep(SAMPLE_SECONDS)
        pipeline_s = time.perf_counter() - start
        upload_s = time.perf_counter() - upload_start if ahead else start - upload_start
        if host.returncode != 0:
            raise SystemExit(f"the local host failed:\n{log_path.read_text()[-4000:]}")
        if len(expected) < len(files):
            raise SystemExit(f"the host went idle with {len(files) - len(expected)} files "
                             f"not yet dropped: raise --ahead")  # fmt: skip

        documents = list(every_result(client.results))
        per_id = Counter(d["id"] for d in documents)
        statuses = Counter(d["status"] for d in documents)
        codes = Counter(d["error"]["code"] for d in documents if d["error"])
        uncoded = [d["id"] for d in documents if d["status"] != "ok" and
                   d["error"]["code"] not in {c.value for c in ErrorCode}]  # fmt: skip
        queues = [name for queue in work_queues for name in (queue, poison_queue_name(queue))]
        leftovers = {}
        for queue in [*queues, BLOB_POISON_QUEUE]:
            client.queues.ensure_queue(queue)
            leftovers[queue] = client.queues.approximate_count(queue)
        memory = {
            "devhost": host_peak,
            "azurite": peak_kib(state.azurite.pid),
            "cosmos": peak_kib(state.cosmos.pid),
        }
    hostile_count = round(count * hostile_share)
    first_minute, last_minute = minute_rates(documents)
    return {
        "files": len(files),
        "hostile": hostile_count,
        "ahead": ahead,
        "upload_s": round(upload_s, 1),
        "pipeline_s": round(pipeline_s, 1),
        "files_per_s": round(len(files) / pipeline_s, 1),
        # Results per second in the run's first and last minute: a host whose cost per
        # file grew with the container would slow down as it fills.
        "first_minute_per_s": first_minute,
        "last_minute_per_s": last_minute,
        "per_minute_per_s": per_minute_rates(documents),
        "lost": sorted(expected[i] for i in set(expected) - set(per_id)),
        "duplicated": sorted(i for i, n in per_id.items() if n > 1),
        "unexpected": sorted(set(per_id) - set(expected)),
        "uncoded_rejections": uncoded,
        "statuses": dict(statuses),
        "rejection_codes": dict(codes),
        "queue_leftovers": {q: n for q, n in leftovers.items() if n},
        "peak_memory_mib": {name: round(kib / 1024, 1) for name, kib in memory.items()},
    }


def written_at(documents: list[dict[str, Any]]) -> list[datetime]:
    return sorted(datetime.fromisoformat(str(d["created_at"]).replace("Z", "+00:00"))
                  for d in documents)  # fmt: skip


def per_minute_rates(documents: list[dict[str, Any]]) -> list[float]:
    """Results written per second in each whole minute from the first result."""
    moments = written_at(documents)
    counts = Counter(int((m - moments[0]).total_seconds() // 60) for m in moments)
    whole = int((moments[-1] - moments[0]).total_seconds() // 60) if moments else 0
    return [round(counts[minute] / 60, 1) for minute in range(whole)]


def minute_rates(documents: list[dict[str, Any]]) -> tuple[float, float]:
    """Results written per second in the first and the last minute of the run (the
    whole run when it is shorter than two minutes)."""
    moments = written_at(documents)
    if not moments:
        return 0.0, 0.0
    span = (moments[-1] - moments[0]).total_seconds()
    window = min(60.0, max(span / 2, 1.0))
    first = sum(1 for m in moments if (m - moments[0]).total_seconds() <= window)
    last = sum(1 for m in moments if (moments[-1] - m).total_seconds() <= window)
    return round(first / window, 1), round(last / window, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--hostile-share", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=1_800.0, help="seconds for the run")
    parser.add_argument(
        "--ahead",
        type=int,
        default=1_000,
        help="queued messages the dropping stays within (0: drop all first)",
    )
    args = parser.parse_args(argv)
    with recorded_machine() as where:
        report = run(args.files, args.hostile_share, args.timeout, args.ahead)
    report["machine"] = where
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{args.files}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    memory = report["peak_memory_mib"]
    print(
        f"{report['files']} files ({report['hostile']} hostile) in {report['pipeline_s']} s: "
        f"{report['files_per_s']} files/s (first minute {report['first_minute_per_s']}/s, "
        f"last minute {report['last_minute_per_s']}/s); lost {len(report['lost'])}, duplicated "
        f"{len(report['duplicated'])}, unexpected {len(report['unexpected'])}, uncoded "
        f"{len(report['uncoded_rejections'])}; queue leftovers {report['queue_leftovers']}\n"
        f"statuses {report['statuses']}; rejections {report['rejection_codes']}\n"
        f"peak memory (VmHWM): devhost {memory['devhost']} MiB, azurite {memory['azurite']} "
        f"MiB, cosmos {memory['cosmos']} MiB\n→ {out.relative_to(PROJECT_ROOT)}"
    )
    failed = (report["lost"] or report["duplicated"] or report["unexpected"]
              or report["uncoded_rejections"] or report["queue_leftovers"])  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
