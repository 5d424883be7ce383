"""``python -m bench`` (``make bench``): every benchmark, printed as tables of figures
measured side by side in one run, written as JSON and PNG plots to bench/results/.

``--quick`` runs every suite on a tiny budget (one or two files of each modality it
measures, one round) into bench/results/quick/: whether each suite still runs, in
seconds, not figures to keep (``tests/integration/test_bench_quick.py`` runs it)."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

from bench.machine import recorded_machine

RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_RESULTS_DIR = RESULTS_DIR / "quick"
SUITES = (
    "models",
    "speech",
    "labels",
    "batching",
    "documents",
    "media",
    "cache",
    "pipeline",
    "budget",
    "peers",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma-separated suites of {SUITES}"
    )
    parser.add_argument("--files", type=int, default=200, help="files in the end-to-end run")
    parser.add_argument(
        "--quick", action="store_true",
        help="every suite on a tiny budget, into bench/results/quick/ (a check, not figures)",
    )  # fmt: skip
    parser.add_argument("--results-dir", type=Path, help="where the JSON goes (bench/results)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [suite for suite in chosen if suite not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    results_dir = args.results_dir or (QUICK_RESULTS_DIR if args.quick else RESULTS_DIR)
    results_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for suite in chosen:
        started = time.perf_counter()
        with recorded_machine() as where:
            report = run_suite(suite, args.files, quick=args.quick, results_dir=results_dir)
        seconds[suite] = where["seconds"] = round(time.perf_counter() - started, 1)
        report["machine"] = where
        if args.quick:
            report["quick"] = True  # a check that the suite runs, not figures to keep
        target = results_dir / f"{suite}.json"
        target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"({suite}: {seconds[suite]:.0f} s, written to {target})\n")
    print("seconds per suite: " + ", ".join(f"{s} {v:.0f}" for s, v in seconds.items())
          + f"; in all {sum(seconds.values()):.0f}")  # fmt: skip
    return 0


# The suites whose report is run(quick=...) and whose table is render(report): titles.
SIMPLE_SUITES = {
    "speech": "transcription: Whisper's CPU time per window over the seconds of speech in it",
    "labels": "text labels: the first label right on documents written for it",
    "documents": "Cosmos DB writes per file: result documents and cache entries, before and after",
    "media": "a document and a video per file: CPU seconds at int8 and fp32, stored size",
    "cache": "prediction cache per modality: what a hit saves against what a lookup costs",
    "peers": "Prism against the open tools, side by side on inputs the bench made",
}


def run_suite(
    suite: str, files: int, *, quick: bool = False, results_dir: Path = RESULTS_DIR
) -> dict[str, Any]:
    if suite in SIMPLE_SUITES:
        module = importlib.import_module(f"bench.{suite}")
        report: dict[str, Any] = module.run(quick=quick)
        print(SIMPLE_SUITES[suite])
        print(module.render(report))
        return report
    if suite == "models":
        from bench import models

        report = models.run(quick=quick)
        print("fp32 vs int8, median latency per call (side by side in this run)")
        print(models.render(report["comparison"]))
        return report
    if suite == "batching":
        from bench import batching

        report = batching.run(quick=quick)
        print("micro-batching off vs on, closed loop over the real engine")
        print(batching.render(report["comparison"]))
        batching.plot(report["comparison"], results_dir / "batching.png")
        return report
    if suite == "pipeline":
        from bench import pipeline

        report = pipeline.run_all(files, quick=quick)
        print(pipeline.render(report))
        return report
    if suite == "budget":
        from bench import budget

        report = budget.run(quick=quick, log_dir=results_dir)
        print("peak memory of the local host and its worker, and the longest answer of a route")
        print("that touches no storage, while each mix of files is processed")
        print(budget.render(report))
        return report
    raise SystemExit(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")


if __name__ == "__main__":
    raise SystemExit(main())
