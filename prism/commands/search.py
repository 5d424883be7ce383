"""``prism search QUERY (FILE... | --stored) [--modality M] [--limit N] [--json]``.

Ranks by meaning with :mod:`prism.search` — text by its embedding, audio by its
transcript, images by their labels, all through the same int8 text model — either
local files, run through the models as ``prism infer`` does (no Azure), or, with
``--stored``, every result the local stack's pipeline stored (an exact scan).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prism.commands.infer import infer_files
from prism.embedding import decode_embedding
from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine, get_engine
from prism.modality import Modality
from prism.search import Candidate, rank, stored_candidates
from prism.summary import format_table

if TYPE_CHECKING:
    import numpy as np


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search",
        help="rank local files by meaning: text, audio transcripts, image labels (no Azure)",
    )
    parser.add_argument("query", help="what to look for, in words")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE")
    parser.add_argument(
        "--stored", action="store_true", help="search the stored results (local stack)"
    )
    parser.add_argument("--modality", choices=[m.value for m in Modality], default=None)
    parser.add_argument("--limit", type=int, default=10, help="hits to show (default 10)")
    parser.add_argument("--json", action="store_true", help="print the hits as JSON")
    parser.set_defaults(handler=run)


def text_embedder(engine: Engine) -> Any:
    """The engine's text model as a :data:`prism.search.Embed`."""

    def embed(texts: Sequence[str]) -> list[np.ndarray]:
        vectors = []
        for outcome in engine.run(Modality.TEXT, [text.encode("utf-8") for text in texts]):
            if outcome.error is not None:
                raise outcome.error
            assert outcome.result is not None
            vectors.append(decode_embedding(outcome.result["embedding"]))
        return vectors

    return embed


def run(args: argparse.Namespace) -> int:
    query = str(args.query).strip()
    if not query:
        raise PermanentError(ErrorCode.BAD_REQUEST, "the query is empty")
    if args.limit < 1:
        raise PermanentError(ErrorCode.BAD_REQUEST, "--limit must be at least 1")
    if bool(args.files) == bool(args.stored):
        raise PermanentError(ErrorCode.BAD_REQUEST, "search FILE... or --stored, one of them")
    engine = get_engine()
    if args.stored:
        candidates = _stored(args.modality)
    else:
        outcomes = infer_files(engine, list(args.files))
        candidates = [
            Candidate(o.file, o.modality.value, o.result)
            for o in outcomes
            if o.modality is not None
            and o.result is not None
            and args.modality in (None, o.modality.value)
        ]
    hits = rank(query, candidates, text_embedder(engine), limit=args.limit)
    if args.json:
        print(json.dumps([hit.__dict__ for hit in hits], indent=2))
        return 0
    rows = [
        [str(i), Path(hit.key).name, hit.modality, f"{hit.score:.3f}", _short(hit.matched)]
        for i, hit in enumerate(hits, 1)
    ]
    print(format_table(rows, ["rank", "file", "modality", "score", "matched"]))
    return 0


def _stored(modality: str | None) -> list[Candidate]:
    from prism.client import connect
    from prism.commands.pipeline import use_local_stack
    from prism.queries import every_result

    use_local_stack()
    return list(stored_candidates(every_result(connect().results), modality))


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
