"""``prism infer FILE... [--json]``: run the inference core on local files, no Azure."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine, get_engine
from prism.modality import Modality
from prism.routing import HEAD_BYTES, TAIL_BYTES
from prism_tools.commands.arguments import readable_file
from prism_tools.summary import format_table, summarize


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "infer", help="route and run local files through the models (no Azure needed)"
    )
    parser.add_argument("files", nargs="+", type=readable_file, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.set_defaults(handler=run)


@dataclass
class FileOutcome:
    file: str
    modality: Modality | None = None
    result: dict[str, Any] | None = None
    error: PermanentError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "modality": self.modality.value if self.modality else None,
            "status": "rejected" if self.error else "ok",
            "error": self.error.to_dict() if self.error else None,
            "result": self.result,
        }


def _read_routed(engine: Engine, path: Path) -> tuple[Modality, bytes]:
    """Route from the head and tail only; read the whole file once it may be processed."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            handle.seek(max(size - TAIL_BYTES, 0))
            tail = handle.read(TAIL_BYTES)
    except OSError as exc:
        raise PermanentError(ErrorCode.BAD_REQUEST, f"cannot read {path}: {exc.strerror}") from exc
    if size == 0:
        raise PermanentError(ErrorCode.EMPTY, "the file is empty")
    routed = engine.route(head, size=size, name=path.name, tail=tail)
    return routed.modality, path.read_bytes()


def infer_files(engine: Engine, paths: list[Path]) -> list[FileOutcome]:
    """One outcome per path, in order; files of a modality run as one batch."""
    outcomes = [FileOutcome(str(path)) for path in paths]
    pending: dict[Modality, list[tuple[int, bytes]]] = defaultdict(list)
    for index, path in enumerate(paths):
        try:
            modality, data = _read_routed(engine, path)
        except PermanentError as error:
            outcomes[index].error = error
            continue
        outcomes[index].modality = modality
        pending[modality].append((index, data))
    for modality, items in pending.items():
        results = engine.run(modality, [data for _, data in items])
        for (index, _), result in zip(items, results, strict=True):
            outcomes[index].result = result.result
            outcomes[index].error = result.error
    return outcomes


def run(args: argparse.Namespace) -> int:
    outcomes = infer_files(get_engine(), list(args.files))
    if args.json:
        print(json.dumps([outcome.to_dict() for outcome in outcomes], indent=2))
        return 0
    rows = [
        [
            Path(o.file).name,
            o.modality.value if o.modality else "-",
            "rejected" if o.error else "ok",
            f"{o.error.code}: {o.error.message}" if o.error else summarize(o.modality, o.result),
        ]
        for o in outcomes
    ]
    print(format_table(rows, ["file", "modality", "status", "result"]))
    return 0
