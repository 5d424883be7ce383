"""``prism migrate-results``: copy the v1 ``results`` container into the configured
results container in the current schema, or (``--in-place``) give results written
before the ``search`` field existed their ``search`` field — see :mod:`prism_tools.migration`.

Against Azure it uses the app's own settings from the environment:
``PRISM_COSMOS__accountEndpoint``, ``PRISM_COSMOS_DATABASE`` (``prism``) and
``PRISM_RESULTS_CONTAINER`` (the target), authenticated by ``DefaultAzureCredential``
(``az login``; ``PRISM_COSMOS__clientId`` picks a user-assigned managed identity
instead). ``--local`` points at the stack ``prism up`` started.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from prism.errors import ConfigurationError
from prism_tools.commands.arguments import int_between, positive_int

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from prism.storage.documents import DocumentContainer
    from prism_tools.migration import MigrationReport


def register(subparsers: Any) -> None:
    from prism_tools.migration import DEFAULT_ATTEMPTS, DEFAULT_PAGE_SIZE, DEFAULT_SOURCE

    parser = subparsers.add_parser(
        "migrate-results",
        help="upgrade stored results to the current schema: copy the v1 container over, "
        "or backfill the search field in place",
        description="Reads every document of the source container (the v1 'results' "
        "by default), upgrades it to the current schema (compact int8 embedding, the "
        "search field) and upserts it into the target (the configured results "
        "container). Re-running skips what is current already, so an interrupted run "
        "is resumed by running it again.",
    )
    parser.add_argument(
        "--source", default=None, help=f"the container to read (default: {DEFAULT_SOURCE})"
    )
    parser.add_argument(
        "--target",
        default=None,
        help="the container to write (default: the configured PRISM_RESULTS_CONTAINER)",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="backfill the target's own documents (source = target): add missing search fields",
    )
    parser.add_argument("--dry-run", action="store_true", help="count only: write nothing")
    parser.add_argument(
        "--local", action="store_true", help="the local stack `prism up` started (emulator)"
    )
    parser.add_argument(
        "--page-size",
        type=int_between(1, 1000),
        default=DEFAULT_PAGE_SIZE,
        help="documents per read (1-1000)",
    )
    parser.add_argument(
        "--attempts",
        type=positive_int,
        default=DEFAULT_ATTEMPTS,
        help=f"tries per storage call before the run stops (default {DEFAULT_ATTEMPTS})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def containers(
    source: str, target: str | None, *, in_place: bool
) -> tuple[DocumentContainer, DocumentContainer]:
    """The source and target containers from the app settings (the same object when
    they are one container)."""
    from functools import partial

    from prism.settings import get_settings
    from prism.storage import CosmosConnection, DocumentContainer, cosmos_client
    from prism.storage.clients import RESULTS_INDEXING_POLICY, RESULTS_PARTITION_KEY

    settings = get_settings()
    connection = CosmosConnection.from_environ()
    client = partial(cosmos_client, connection)
    target_container = DocumentContainer(
        client,
        settings.cosmos_database,
        target or settings.results_container,
        RESULTS_PARTITION_KEY,
        # As prism.storage.results_container: the emulator's is created on first use,
        # Azure's comes from the Bicep.
        create_if_missing=connection.key is not None,
        indexing_policy=RESULTS_INDEXING_POLICY,
    )
    if in_place or source == target_container.container:
        return target_container, target_container
    # Only read, never created: a missing source container is an error, not a new one.
    # Its partition key (/modality for v1) plays no part in a read across partitions.
    source_container = DocumentContainer(
        client, settings.cosmos_database, source, "/modality", create_if_missing=False
    )
    return source_container, target_container


def lazy_text_model() -> Any:
    """The engine's text model as an Embed, loaded on its first call (a run that
    meets no audio or image result without its search field never loads it)."""
    from prism.inference.engine import get_engine
    from prism.search import text_embedder

    def embed(texts: Sequence[str]) -> list[np.ndarray]:
        embedder = text_embedder(get_engine())
        return embedder(texts)

    return embed


def summary(report: MigrationReport) -> str:
    verb = "would be upgraded" if report.dry_run else "upgraded"
    where = (
        f"{report.target} in place"
        if report.source == report.target
        else f"{report.source} → {report.target}"
    )
    lines = [
        f"{'dry run: ' if report.dry_run else ''}{where}",
        f"  read             {report.read}",
        f"  {verb:<16} {report.upgraded} ({report.searchable_added} given a search field, "
        f"{report.embedded} text-model calls)",
        f"  already current  {report.already_current}",
        f"  skipped          {report.skipped_total}",
    ]
    lines += [f"    {count:>6}  {reason}" for reason, count in sorted(report.skipped.items())]
    if report.unsearchable:
        lines.append(
            f"  unsearchable     {report.unsearchable} (the text model refuses their words)"
        )
    if report.stopped is not None:
        lines.append(f"stopped after id {report.last_id}: {report.stopped}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from prism_tools.migration import DEFAULT_SOURCE, migrate_results

    if args.in_place and args.source is not None:
        raise ConfigurationError("--in-place reads the target itself: not with --source")
    if args.local:
        from prism_tools.commands.pipeline import use_local_stack

        use_local_stack()
    source, target = containers(args.source or DEFAULT_SOURCE, args.target, in_place=args.in_place)

    def progress(report: MigrationReport) -> None:
        print(
            f"\r{report.read} read, {report.upgraded} upgraded, "
            f"{report.already_current} current, {report.skipped_total} skipped",
            end="",
            file=sys.stderr,
            flush=True,
        )

    report = migrate_results(
        source,
        target,
        None if args.dry_run else lazy_text_model(),
        dry_run=args.dry_run,
        page_size=args.page_size,
        attempts=args.attempts,
        progress=None if args.json else progress,
    )
    if not args.json:
        print(file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=2) if args.json else summary(report))
    return 0 if report.finished else 1
