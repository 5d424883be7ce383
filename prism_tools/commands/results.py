"""``prism results``: pages of results with filters and continuation tokens, every page
(``--all``) — the same queries and the same parameter model as ``GET /api/v1/results``
— or a blob's state and result by its name (``--blob NAME --latest``), as
``GET /api/v1/files`` gives them."""

from __future__ import annotations

import argparse
import json
from typing import Any

from prism.modality import RESULT_MODALITIES
from prism_tools.summary import describe, format_table

HEADERS = ["blob or name", "modality", "status", "created", "result"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "results",
        help="results, newest first: filter, page, or look a blob up by its name",
        description="Pages of results newest first, as GET /api/v1/results gives them. "
        "Times are UTC (2026-11-30 or 2026-11-30T16:08:55Z); since is inclusive, until "
        "exclusive.",
    )
    parser.add_argument("--modality", help=", ".join(RESULT_MODALITIES))
    parser.add_argument("--status", help="ok or rejected")
    parser.add_argument("--error-code", dest="error_code", help="e.g. corrupt, too_large")
    parser.add_argument("--since", help="created at or after this UTC time")
    parser.add_argument("--until", help="created before this UTC time")
    parser.add_argument("--blob", help="this blob name exactly")
    parser.add_argument("--prefix", help="blob names starting with this")
    parser.add_argument(
        "--latest",
        action="store_true",
        help="with --blob alone: the blob's state and the result of its current version, as "
        "GET /api/v1/files?name=BLOB gives them",
    )
    parser.add_argument("--limit", help="results per page (1-500, default 20)")
    parser.add_argument("--continuation", help="the token a previous page printed")
    parser.add_argument("--all", action="store_true", help="follow every page to the end")
    parser.add_argument("--json", action="store_true", help="print JSON (JSON lines with --all)")
    parser.set_defaults(handler=run)


def params_of(args: argparse.Namespace) -> dict[str, str]:
    """Each option as the query parameter of its name: the API's own model checks them."""
    from prism.http_contract import ListParameters

    return {name: str(getattr(args, name)) for name in ListParameters.model_fields
            if getattr(args, name) is not None}  # fmt: skip


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
    from prism.errors import ConfigurationError
    from prism.http_contract import FileParameters, ListParameters
    from prism.queries import file_state, list_results
    from prism_tools.commands.pipeline import use_local_stack

    if args.all and (args.latest or args.continuation):
        raise ConfigurationError("--all lists from the start: not with --latest or --continuation")
    params = params_of(args)
    if args.latest and set(params) != {"blob"}:
        raise ConfigurationError("--latest takes --blob and no other filter, limit or continuation")
    use_local_stack()
    client = connect()
    if args.latest:
        name = FileParameters.from_params({"name": params["blob"]}).name
        found = file_state(client.results, client.blobs, client.settings.incoming_container, name)
        return _show_file(found, args.json)

    def page() -> dict[str, Any]:
        wanted = ListParameters.from_params(params)
        found = list_results(
            client.results, wanted.result_filter(), wanted.limit, wanted.continuation
        )
        return found.to_dict()

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
    if body["continuation"]:
        print(f"\nmore: prism results … --continuation {body['continuation']}")
    return 0


def _show_file(found: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    result = found["result"]
    if result is not None:
        print(format_table([row(result)], HEADERS))
    print(f"\n{found['name']}: {found['state']} (result id {found['id']})")
    return 0
