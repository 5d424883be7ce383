"""``python -m bench`` (or ``make bench``): run the benchmarks, print tables, write JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import models

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--models", default="image,text,audio", help="comma-separated roles to benchmark"
    )
    args = parser.parse_args()
    roles = tuple(role.strip() for role in args.models.split(",") if role.strip())
    report = models.run(roles)
    print("fp32 vs int8, median latency per call (ratios measured side by side in this run)")
    print(models.render(report["comparison"]))
    RESULTS_DIR.mkdir(exist_ok=True)
    target = RESULTS_DIR / "models.json"
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"\nwrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
