"""``python -m bench`` (``make bench``): every benchmark, printed as tables of figures
measured side by side in one run, written as JSON and PNG plots to bench/results/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.machine import recorded_machine

RESULTS_DIR = Path(__file__).resolve().parent / "results"
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
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma-separated suites of {SUITES}"
    )
    parser.add_argument("--files", type=int, default=200, help="files in the end-to-end run")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    RESULTS_DIR.mkdir(exist_ok=True)
    for suite in chosen:
        with recorded_machine() as where:
            report = run_suite(suite, args.files)
        report["machine"] = where
        target = RESULTS_DIR / f"{suite}.json"
        target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"(written to bench/results/{target.name})\n")
    return 0


def run_suite(suite: str, files: int) -> dict[str, Any]:
    if suite == "models":
        from bench import models

        report = models.run()
        print("fp32 vs int8, median latency per call (side by side in this run)")
        print(models.render(report["comparison"]))
        return report
    if suite == "speech":
        from bench import speech

        report = speech.run()
        print("transcription: Whisper's CPU time per window over the seconds of speech in it")
        print(speech.render(report))
        return report
    if suite == "labels":
        from bench import labels

        report = labels.run()
        print("text labels: the first label right on documents written for it")
        print(labels.render(report))
        return report
    if suite == "batching":
        from bench import batching

        report = batching.run()
        print("micro-batching off vs on, closed loop over the real engine")
        print(batching.render(report["comparison"]))
        batching.plot(report["comparison"], RESULTS_DIR / "batching.png")
        return report
    if suite == "documents":
        from bench import documents

        report = documents.run()
        print("Cosmos DB writes per file: result documents and cache entries, before and after")
        print(documents.render(report))
        return report
    if suite == "media":
        from bench import media

        report = media.run()
        print("a document and a video per file: CPU seconds at int8 and fp32, stored size")
        print(media.render(report))
        return report
    if suite == "cache":
        from bench import cache

        report = cache.run()
        print("prediction cache per modality: what a hit saves against what a lookup costs")
        print(cache.render(report))
        return report
    if suite == "pipeline":
        from bench import pipeline

        report = pipeline.run_all(files)
        print(pipeline.render(report))
        return report
    if suite == "budget":
        from bench import budget

        report = budget.run()
        print("peak memory of the local host and its worker, and the longest answer of a route")
        print("that touches no storage, while each mix of files is processed")
        print(budget.render(report))
        return report
    raise SystemExit(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")


if __name__ == "__main__":
    raise SystemExit(main())
