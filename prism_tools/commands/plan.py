"""``prism plan``: instances, Cosmos DB RU/s and storage, blob storage by tier, the limit
that binds first, the scale preset and the monthly cost of a daily volume of files,
from the benchmarks' measured figures (see :mod:`prism_tools.capacity.plan`)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from prism_tools.commands.arguments import (
    at_least_one,
    fraction,
    int_between,
    non_negative_number,
    output_file,
    positive_int,
    readable_directory,
    readable_file,
    whole_number,
)
from prism_tools.commands.cost import INSTANCE_MB
from prism_tools.summary import count_text, report

if TYPE_CHECKING:
    from prism_tools.commands.measurements import Measurements

REFERENCE_RATES = (10_000, 1_000_000, 10_000_000)
MAX_FILES_PER_DAY = 10**12


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a daily volume of files needs on Azure, and what it costs a month",
        description="Capacity plan from the measured figures of `make bench`: instances per "
        "function, Cosmos DB RU/s and storage, blob storage by tier, which Azure limit binds "
        "first, the Bicep scale preset, and the monthly cost.",
    )
    parser.add_argument(
        "--files-per-day",
        nargs="+",
        type=int_between(1, MAX_FILES_PER_DAY),
        metavar="N",
        help="files a day, one or more (default: 10000 1000000 10000000)",
    )
    parser.add_argument("--mix", help="shares of the files: image=0.4,audio=0.1,text=0.5")
    parser.add_argument(
        "--speech-minutes-per-file",
        type=non_negative_number,
        metavar="M",
        help="minutes of speech in each audio file, which Whisper transcribes (default: "
        "as much as the benchmark's recording, speech.json)",
    )
    parser.add_argument(
        "--peak-factor", type=at_least_one, help="peak rate over the day's average (10)"
    )
    parser.add_argument(
        "--instance-mb", type=whole_number, choices=INSTANCE_MB, default=2048,
        help="512, 2048 or 4096",
    )  # fmt: skip
    parser.add_argument(
        "--cache-hit-rate", type=fraction, default=0.0, help="duplicates (0 ≤ r < 1)"
    )
    parser.add_argument(
        "--results-ttl-days", type=positive_int, default=365, help="results kept (365)"
    )
    parser.add_argument(
        "--bench-dir", type=readable_directory,
        help="benchmark results (default: bench/results if `make bench` wrote them, else the "
        "reference results in bench/reference)",
    )  # fmt: skip
    parser.add_argument("--prices", type=readable_file, help="a price table overriding the default")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument(
        "--markdown", action="store_true",
        help="print the table in Markdown (the docs' plan tables are this, `make docs`)",
    )  # fmt: skip
    parser.add_argument(
        "--brief", action="store_true",
        help="only rate, instances, the binding limit, the preset and the monthly total",
    )  # fmt: skip
    parser.add_argument(
        "--simulate",
        nargs="?",
        const="",
        metavar="SHAPE",
        help="replay a day of arrivals through a model of Flex Consumption's scale-out "
        "instead (SHAPE: key=value,… e.g. burst-at=09:30,burst-minutes=20,scale-step=8; "
        "docs/scale.md)",
    )
    parser.add_argument(
        "--plot", type=output_file, metavar="PNG", help="with --simulate: write the day's plot"
    )
    parser.add_argument(
        "--against-load",
        type=readable_file,
        metavar="JSON",
        help="with --simulate: the simulator with one instance against a `make load` run "
        "(bench/results/load-5000.json)",
    )
    parser.set_defaults(handler=run)


def rates_of(given: list[int] | None) -> list[int]:
    return list(given) if given else list(REFERENCE_RATES)


def build_inputs(args: argparse.Namespace) -> Any:
    from prism.settings import get_settings
    from prism_tools.capacity.plan import Inputs, blob_storage_per_file
    from prism_tools.commands.measurements import measurements
    from prism_tools.cost.model import load_compute_prices, measured_from_bench, read_bench_file
    from prism_tools.cost.model import storage_per_file as cost_storage
    from prism_tools.cost.speech import speech_from_bench

    # bench/results if `make bench` has written it, else the reference results shipped.
    bench_dir = measurements(args.bench_dir).directory
    router = read_bench_file(bench_dir / "pipeline.json").get("router", {})
    month, tiers = blob_storage_per_file()
    speech = speech_from_bench(bench_dir)
    return Inputs(
        measured=measured_from_bench(bench_dir, cost_storage()),
        ingest_s=float(router.get("ingest_1KB_ms", 10.0)) / 1000,
        prices=load_compute_prices(args.prices),
        storage_month=month,
        storage_tiers=tiers,
        shared_cache=frozenset(get_settings().shared_cache),
        instance_mb=args.instance_mb,
        speech=None if speech is None else speech["int8"],
    )


def run(args: argparse.Namespace) -> int:
    from prism.errors import ConfigurationError
    from prism.settings import get_settings
    from prism_tools.capacity.plan import DEFAULT_MIX, DEFAULT_PEAK_FACTOR, parse_mix, plan
    from prism_tools.commands.measurements import measurements

    rates = rates_of(args.files_per_day)
    mix = parse_mix(args.mix) if args.mix else DEFAULT_MIX
    minutes = args.speech_minutes_per_file
    longest = get_settings().max_audio_seconds / 60  # longer recordings are rejected
    if minutes is not None and not 0 <= minutes <= longest:
        raise ConfigurationError(
            f"speech minutes per audio file must be from 0 to {longest:g} "
            f"(PRISM_MAX_AUDIO_SECONDS): {minutes}"
        )
    inputs = build_inputs(args)
    source = measurements(args.bench_dir)  # what build_inputs read
    if args.simulate is not None or args.plot or args.against_load:
        from prism_tools.capacity.simulate import command

        if args.brief:
            raise ConfigurationError("--brief goes with the plan, not with --simulate")
        status = command(args, inputs, rates, mix, source.directory, measurements=source.to_dict())
        if not args.json:
            print(_measured(source, args.markdown))
        return status
    plans = [
        plan(
            rate,
            inputs,
            mix=mix,
            peak_factor=args.peak_factor or DEFAULT_PEAK_FACTOR,
            results_ttl_days=args.results_ttl_days,
            cache_hit_rate=args.cache_hit_rate,
            speech_minutes_per_audio_file=minutes,
        ).to_dict()
        for rate in rates
    ]
    if args.json:
        document = {"currency": inputs.prices["currency"], "measurements": source.to_dict(),
                    "plans": plans}  # fmt: skip
        print(json.dumps(document, indent=2))
        return 0
    print(render(plans, inputs.prices["currency"], markdown=args.markdown, brief=args.brief))
    print(_measured(source, args.markdown))
    return 0


def _measured(source: Measurements, markdown: bool) -> str:
    """Which measurements the figures come from: the last line, a paragraph in Markdown."""
    return ("\n" if markdown else "") + source.describe()


def _count(value: float) -> str:
    return count_text(value, small_decimals=2)  # RU/s and files/s under 10 need two


def _preset(cosmos: dict[str, Any]) -> str:
    ceiling = cosmos["autoscale_max_ru_s"]
    return str(cosmos["preset"]) + (f", max {_count(ceiling)} RU/s" if ceiling else "")


# The rows of --brief (with the monthly total): what to deploy and what it costs.
BRIEF_ROWS = frozenset(
    {"files per second, average / peak", "instances at the peak: all", "binds first",
     "scale preset (Bicep scalePreset)"}
)  # fmt: skip


def render(
    plans: list[dict[str, Any]], currency: str, *, markdown: bool = False, brief: bool = False
) -> str:
    from prism_tools.capacity.plan import gb_text as _gb
    from prism_tools.capacity.plan import render_notes

    rows: list[list[str]] = []

    def row(label: str, values: list[str]) -> None:
        if not brief or label in BRIEF_ROWS or label == f"{currency} a month: total":
            rows.append([label, *values])

    row("files per second, average / peak",
        [f"{_count(p['rate']['average_per_s'])} / {_count(p['rate']['peak_per_s'])}"
         for p in plans])  # fmt: skip
    for name in plans[0]["instances"]["per_function"]:
        row(f"instances at the peak: {name}",
            [str(p["instances"]["per_function"][name]) for p in plans])  # fmt: skip
    row("instances at the peak: all", [str(p["instances"]["total"]) for p in plans])
    if plans[0].get("speech"):
        row("speech transcribed, minutes a day",
            [_count(p["speech"]["minutes_per_day"]) for p in plans])  # fmt: skip
        row("audio CPU s per file (transcription)",
            [f"{p['speech']['audio_cpu_s_per_file']:.2f} "
             f"({p['speech']['transcription_cpu_s_per_audio_file']:.2f})"
             for p in plans])  # fmt: skip
    row("Cosmos DB RU per file", [f"{p['cosmos']['ru_per_file_mix']:.1f}" for p in plans])
    row("Cosmos DB RU/s, average / peak",
        [f"{_count(p['cosmos']['average_ru_s'])} / {_count(p['cosmos']['peak_ru_s'])}"
         for p in plans])  # fmt: skip
    row("Cosmos DB results, per day / kept",
        [f"{_gb(p['cosmos']['results_gb_per_day'])} / {_gb(p['cosmos']['results_gb_steady'])}"
         for p in plans])  # fmt: skip
    row("Cosmos DB physical partitions", [str(p["cosmos"]["physical_partitions"]) for p in plans])
    for day in plans[0]["blob_storage_gb"]:
        row(f"blobs on {day}: hot / cool / cold / archive",
            [" / ".join(map(_gb, p["blob_storage_gb"][day].values())) for p in plans])  # fmt: skip
    row("binds first", [f"{p['binds_first']} ({p['limits'][0]['share']:.0%})" for p in plans])
    row("over a limit", [", ".join(p["exceeded"]) or "none" for p in plans])
    row("scale preset (Bicep scalePreset)", [_preset(p["cosmos"]) for p in plans])
    for item in plans[0]["monthly_cost"]:
        row(f"{currency} a month: {item.replace('_', ' ')}",
            [f"{p['monthly_cost'][item]:,.2f}" for p in plans])  # fmt: skip
    headers = ["", *(f"{_count(p['files_per_day'])} files/day" for p in plans)]
    notes = [
        f"Mix {', '.join(f'{m} {s:.0%}' for m, s in plans[0]['mix'].items())}; peak "
        f"{plans[0]['peak_factor']:g}× the average. Limits with their sources: "
        "prism_tools/capacity/limits.json (unverified figures flagged in --json).",
    ]
    speech = plans[0].get("speech")
    if speech and not brief:
        assumed = (
            " (assumed: as much as the benchmark's recording; --speech-minutes-per-file)"
            if speech["assumed"]
            else ""
        )
        notes.append(
            f"Speech: {speech['minutes_per_audio_file'] * 60:.1f} s in each audio file"
            f"{assumed}, transcribed by Whisper int8 in windows of up to 29.5 s "
            "(speech.json of the measurements below)."
        )
    if not brief:
        notes += render_notes(plans)
    return report(rows, headers, notes, markdown=markdown)
