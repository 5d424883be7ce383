"""``prism cost [--json]``: dollars per million files per modality, side by side for
int8 vs fp32, batching on vs off, a cache hit rate, and lifecycle vs all-hot storage;
and beside them what the same files would cost through Azure's managed AI services at
list prices (see :mod:`prism_tools.cost.managed`); and what transcription costs per minute of
speech beside Azure AI Speech (see :mod:`prism_tools.cost.speech`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from prism_tools.commands.arguments import (
    fraction,
    positive_int,
    readable_directory,
    readable_file,
    whole_number,
)
from prism_tools.summary import format_table

# Flex Consumption's instance sizes.
INSTANCE_MB = (512, 2048, 4096)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost", help="cost per million files on Flex Consumption, from the benchmarks"
    )
    parser.add_argument(
        "--instance-mb", type=whole_number, choices=INSTANCE_MB, default=2048,
        help="512, 2048 or 4096",
    )  # fmt: skip
    parser.add_argument("--cache-hit-rate", type=fraction, default=0.3, help="0 ≤ rate < 1")
    parser.add_argument(
        "--io-overlap", type=positive_int, default=8, help="invocations whose I/O waits overlap"
    )
    parser.add_argument(
        "--bench-dir", type=readable_directory,
        help="benchmark results (default: bench/results if `make bench` wrote them, else the "
        "reference results in bench/reference)",
    )  # fmt: skip
    parser.add_argument(
        "--prices", type=readable_file, help="compute price table overriding the default"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prism.settings import get_settings
    from prism_tools.commands.measurements import measurements
    from prism_tools.cost.model import (
        as_dict,
        estimate,
        load_compute_prices,
        measured_from_bench,
        storage_per_file,
    )

    prices = load_compute_prices(args.prices)
    # bench/results if `make bench` has written it, else the reference results shipped.
    source = measurements(args.bench_dir)
    bench_dir = source.directory
    measured = measured_from_bench(bench_dir, storage_per_file())
    lines = estimate(
        measured,
        prices,
        instance_mb=args.instance_mb,
        io_overlap=args.io_overlap,
        cache_hit_rate=args.cache_hit_rate,
        shared_cache=frozenset(get_settings().shared_cache),
    )
    managed = compare_with_managed(lines, prices, bench_dir)
    speech = speech_lines(prices, bench_dir, args.instance_mb)
    if args.json:
        document = {
            "currency": prices["currency"],
            "measurements": source.to_dict(),
            "prices_recorded": prices["recorded"],
            "prices_source": prices["source"],
            "instance_mb": args.instance_mb,
            "per_million_files": [as_dict(line) for line in lines],
            "managed_services": [line.to_dict() for line in managed],
            "transcription_per_speech_minute": [line.to_dict() for line in speech],
        }
        print(json.dumps(document, indent=2))
        return 0
    rows = [
        [line.modality, line.scenario]
        + [f"{v:,.2f}" for v in (line.compute, line.executions, line.cosmos, line.storage)]
        + [f"{line.total:,.2f}"]
        for line in lines
    ]
    headers = ["modality", "configuration", "compute", "executions", "cosmos", "storage", "total"]
    print(f"USD per million files, Flex Consumption {args.instance_mb} MB instances")
    print(format_table(rows, headers))
    print(f"\nPrices recorded {prices['recorded']}: {prices['source']}")
    print("\nThe same files through Azure's managed AI services, USD per million files "
          "(processing only: storing the files costs the same either way)")  # fmt: skip
    print(render_managed(managed))
    if speech:
        print("\nTranscription (Whisper tiny.en on the VAD's speech), USD per minute of "
              "speech: compute only, beside Azure AI Speech's list price for a minute of "
              "audio")  # fmt: skip
        print(render_speech(speech))
    print(f"\n{source.describe()}")
    return 0


def speech_lines(prices: dict[str, Any], bench_dir: Path, instance_mb: int) -> list[Any]:
    """Per precision and window shape (bench/results/speech.json); none before the
    speech benchmark has run."""
    from prism_tools.cost.speech import speech_cost, speech_from_bench

    measured = speech_from_bench(bench_dir)
    return [] if measured is None else speech_cost(measured, prices, instance_mb=instance_mb)


def render_speech(lines: list[Any]) -> str:
    from prism_tools.cost.speech import SHAPES

    rows = [
        [
            line.precision,
            SHAPES[line.window].format(speech_s=line.speech_s_per_window),
            f"{line.cpu_s_per_speech_minute:.2f}",
            f"{line.compute_per_minute:.6f}",
            f"{line.managed_per_minute:.6f}",
            f"{line.ratio:,.0f}×",
        ]
        for line in lines
    ]
    headers = ["precision", "speech", "CPU s/min", "Prism", "Azure AI Speech", "ratio"]
    return format_table(rows, headers)


def compare_with_managed(lines: list[Any], prices: dict[str, Any], bench_dir: Path) -> list[Any]:
    """The managed services beside Prism's default configuration (int8, batching),
    processing only: compute, executions and Cosmos DB; on the benchmarked files."""
    from prism_tools.cost.managed import managed_comparison
    from prism_tools.cost.model import DEFAULT_BENCH_INPUTS, read_bench_file

    default: dict[str, float] = {}
    for line in lines:
        default.setdefault(line.modality, line.compute + line.executions + line.cosmos)
    inputs = read_bench_file(bench_dir / "batching.json").get("inputs", DEFAULT_BENCH_INPUTS)
    return managed_comparison(default, inputs, prices)


def render_managed(managed: list[Any]) -> str:
    rows = [
        [
            line.modality,
            line.service,
            f"{line.units_per_file:,.3g} {line.unit}{'s' if line.units_per_file != 1 else ''}",
            f"{line.managed_per_million:,.2f}",
            f"{line.prism_per_million:,.2f}",
            f"{line.ratio:,.0f}×",
            "" if line.verified else "list price not verified",
        ]
        for line in managed
    ]
    headers = ["modality", "managed service", "per file", "managed", "Prism", "ratio", "note"]
    sources = "\n".join(f"  {line.modality}: {line.source_url}" for line in managed)
    return (
        format_table(rows, headers) + "\nPrice sources (prism_tools/cost/prices.json):\n" + sources
    )
