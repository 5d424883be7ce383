"""``prism results``: pages of results with filters and continuation tokens, every page
(``--all``), or a blob's result by its name (``--blob NAME --latest``) — the same
queries and the same strict parsing as ``GET /api/v1/results``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from prism.summary import describe, format_table

HEADERS = ["blob or name", "modality", "status", "created", "result"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "results",
        help="results, newest first: filter, page, or look a blob up by its name",
        description="Pages of results newest first, as GET /api/v1/results gives them. "
        "Times are UTC (2026-11-30 or 2026-11-30T16:08:55Z); since is inclusive, until "
        "exclusive.",
    )
    parser.add_argument("--modality", help="image, audio, text or unrouted")
    parser.add_argument("--status", help="ok or rejected")
    parser.add_argument("--error-code", dest="error_code", help="e.g. corrupt, too_large")
    parser.add_argument("--since", help="created at or after this UTC time")
    parser.add_argument("--until", help="created before this UTC time")
    names = parser.add_mutually_exclusive_group()
    names.add_argument("--blob", help="this blob name exactly")
    names.add_argument("--prefix", help="blob names starting with this")
    parser.add_argument(
        "--latest",
        action="store_true",
        help="with --blob: the result of the blob's current version (or that it is pending)",
    )
    parser.add_argument("--limit", help="results per page (1-500, default 20)")
    parser.add_argument("--continuation", help="the token a previous page printed")
    parser.add_argument("--all", action="store_true", help="follow every page to the end")
    parser.add_argument("--json", action="store_true", help="print JSON (JSON lines with --all)")
    parser.set_defaults(handler=run)


def params_of(args: argparse.Namespace) -> dict[str, str]:
    from prism.queries import LIST_PARAMETERS

    # Each option sets the query parameter of its name (the API's strict parsers check
    # the values); --latest is a flag.
    params = {name: str(getattr(args, name)) for name in LIST_PARAMETERS
              if name != "latest" and getattr(args, name) is not None}  # fmt: skip
    if args.latest:
        params["latest"] = "true"
    return params


def row(document: dict[str, Any]) -> list[str]:
    source = document.get("source") or {}
    return [
        str(source.get("blob") or source.get("name") or document["id"]),
        str(document.get("modality") or "-"),
        str(document.get("status")),
        str(document.get("created_at", "")),
        describe(document),
    ]


def run(args: argparse.Namespace) -> int:
    from prism.client import connect
    from prism.commands.pipeline import use_local_stack
    from prism.errors import ConfigurationError
    from prism.queries import query_results

    if args.all and (args.latest or args.continuation):
        raise ConfigurationError("--all lists from the start: not with --latest or --continuation")
    use_local_stack()
    client = connect()
    params = params_of(args)

    def page() -> dict[str, Any]:
        return query_results(
            client.results, client.blobs, client.settings.incoming_container, params
        )

    body = page()
    if args.all:
        while True:
            for document in body["results"]:
                print(json.dumps(document) if args.json else "  ".join(row(document)))
            if body["continuation"] is None:
                return 0
            params["continuation"] = body["continuation"]
            body = page()
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    print(format_table([row(d) for d in body["results"]], HEADERS))
    if "blob" in body:
        blob = body["blob"]
        print(f"\n{blob['name']}: {blob['state']} (result id {blob['id']})")
    if body["continuation"]:
        print(f"\nmore: prism results … --continuation {body['continuation']}")
    return 0
