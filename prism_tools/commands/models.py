"""``prism models build`` and ``prism models list``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from prism.errors import ErrorCode
from prism.onnx.registry import model_report
from prism.settings import get_settings
from prism_tools.commands.arguments import print_error


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="build and list the models")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build", help="export, quantize and gate every model (cached by content hash)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.add_argument(
        "--with",
        dest="include",
        action="append",
        default=[],
        metavar="MODEL",
        help="also build this optional model (whisper-base); the one PRISM_SPEECH_MODEL "
        "names is built anyway",
    )
    build.set_defaults(handler=run_build)
    listing = actions.add_parser("list", help="the models with sizes and gate figures")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)


def run_build(args: argparse.Namespace) -> int:
    # The build code needs torch and friends: imported only when building.
    from models.build import GateFailedError, ensure_built, optional_models

    settings = get_settings()
    include = set(args.include)
    if settings.speech_model in optional_models():
        include.add(settings.speech_model)
    try:
        ensure_built(settings.model_dir, _progress, force=args.force, include=include)
    except ValueError as exc:  # an unknown model asked for
        print_error(ErrorCode.BAD_REQUEST, str(exc))
        return 2
    except GateFailedError as exc:
        print_error(ErrorCode.MODEL_UNAVAILABLE, str(exc))
        return 1
    return 0


def _progress(message: str) -> None:
    print(f"  · {message}", flush=True)


def run_list(args: argparse.Namespace) -> int:
    rows = model_report(get_settings().model_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<22} {'modality':<8} {'fp32 MB':>8} {'int8 MB':>8} {'gate':<6} figures")
    for row in rows:
        figures = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["gate"].items()
        )
        gate = "n/a" if not row["gate_thresholds"] else ("pass" if row["gate_passed"] else "FAIL")
        if not row["built"]:
            gate, figures = "-", "not built: run `prism models build`"
        print(
            f"{row['name']:<22} {row['modality']:<8} {_mb(row['fp32_bytes']):>8} "
            f"{_mb(row['int8_bytes']):>8} {gate:<6} {figures}"
        )
    return 0


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f}"
