"""``prism search QUERY (FILE... | --stored) [--modality M] [--limit N] [--json]``.

Ranks by meaning with :mod:`prism.search` — text by its embedding, audio by its
transcript, images by their labels, all through the same int8 text model — either
local files, run through the models as ``prism infer`` does (no Azure), or, with
``--stored`` (and ``--since``/``--until``), the results the local stack's pipeline
stored, by the ``search`` field each carries, as ``GET /api/v1/search`` ranks them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import get_engine
from prism.modality import Modality
from prism.search import Candidate, rank, text_embedder
from prism_tools.commands.arguments import positive_int, readable_file
from prism_tools.commands.infer import infer_files
from prism_tools.summary import format_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search",
        help="rank local files by meaning: text, audio transcripts, image labels (no Azure)",
    )
    parser.add_argument("query", help="what to look for, in words")
    parser.add_argument("files", nargs="*", type=readable_file, metavar="FILE")
    parser.add_argument(
        "--stored", action="store_true", help="search the stored results (local stack)"
    )
    parser.add_argument("--modality", choices=[m.value for m in Modality], default=None)
    parser.add_argument("--limit", type=positive_int, default=10, help="hits to show (default 10)")
    parser.add_argument("--since", default=None, help="with --stored: created at or after (UTC)")
    parser.add_argument("--until", default=None, help="with --stored: created before (UTC)")
    parser.add_argument("--json", action="store_true", help="print the hits as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prism.http_contract import query_words

    query = query_words(args.query, "QUERY")  # the rule GET /api/v1/search applies to q
    if bool(args.files) == bool(args.stored):
        raise PermanentError(ErrorCode.BAD_REQUEST, "search FILE... or --stored, one of them")
    engine = get_engine()
    if args.stored:
        found = _stored(query, args, text_embedder(engine))
        if args.json:
            print(json.dumps(found, indent=2))
            return 0
        keyed = [(h["name"], h["modality"], h["score"], h["matched"]) for h in found["results"]]
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
        keyed = [(hit.key, hit.modality, hit.score, hit.matched) for hit in hits]
    rows = [
        [str(i), Path(key).name, modality, f"{score:.3f}", _short(matched)]
        for i, (key, modality, score, matched) in enumerate(keyed, 1)
    ]
    print(format_table(rows, ["rank", "file", "modality", "score", "matched"]))
    return 0


def _stored(query: str, args: argparse.Namespace, embed: Any) -> dict[str, Any]:
    """The local stack's stored results, searched as ``GET /api/v1/search`` does
    (:func:`prism.search.search_stored`, the exact scan the emulator needs)."""
    from prism.client import connect
    from prism.http_contract import SearchParameters
    from prism.search import configured_backend, search_stored
    from prism.settings import get_settings
    from prism_tools.commands.pipeline import use_local_stack

    use_local_stack()
    params = {"q": query, "limit": str(args.limit)}
    for name in ("modality", "since", "until"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    request = SearchParameters.from_params(params).request()
    backend = configured_backend(get_settings().search)
    return search_stored(connect().results, request, embed, backend=backend)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
