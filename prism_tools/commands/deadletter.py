"""``prism replay-deadletter``: route again the blobs whose Event Grid events were
dead-lettered (the sibling of ``replay-poison``, which handles the queues)."""

from __future__ import annotations

import argparse
from typing import Any

# The container bicep/modules/storage.bicep creates and the Event Grid subscription
# dead-letters into (scripts/create-eventgrid-subscription.*).
DEFAULT_CONTAINER = "eventgrid-deadletter"


def register(subparsers: Any) -> None:
    replay = subparsers.add_parser(
        "replay-deadletter",
        help="route again the blobs whose Event Grid events were dead-lettered",
        description=(
            "Reads the Event Grid dead-letter container with the app settings in the "
            "environment (as the app does; on Azure, your login's roles: see "
            "docs/deploy.md), routes every incoming blob named there through ingest, "
            "and deletes each dead-letter blob whose events were all routed."
        ),
    )
    replay.add_argument(
        "--container", default=DEFAULT_CONTAINER, help="dead-letter container (%(default)s)"
    )
    replay.add_argument("--keep", action="store_true", help="leave the dead-letter blobs in place")
    replay.add_argument("--local", action="store_true", help="use the stack `prism up` started")
    replay.set_defaults(handler=run_replay_deadletter)


def run_replay_deadletter(args: argparse.Namespace) -> int:
    from prism.pipeline import get_pipeline
    from prism.settings import get_settings
    from prism.storage import ContainerNotFoundError
    from prism_tools.deadletter import replay_dead_letters

    if args.local:
        from prism_tools.commands.pipeline import use_local_stack

        use_local_stack()
    pipeline = get_pipeline()
    try:
        report = replay_dead_letters(
            pipeline.blobs,
            args.container,
            {get_settings().incoming_container},
            pipeline.ingest,
            delete=not args.keep,
        )
    except ContainerNotFoundError:
        print(f"{args.container}: no such container, so nothing was dead-lettered")
        return 0
    for blob in report.routed:
        print(f"routed {blob.container}/{blob.name} ({blob.reason or 'no reason given'})")
    for name, skipped in report.skipped.items():
        for event in skipped:
            print(f"{name}: left there: event {event.event_id or '?'}: {event.why}")
    for name, why in report.unreadable.items():
        print(f"{name}: left there: {why}")
    for failure in report.failed:
        which = "" if failure.blob is None else f" {failure.blob.container}/{failure.blob.name}"
        print(f"{failure.dead_letter}: failed:{which} {failure.why}")
    print(
        f"{len(report.routed)} blob(s) routed again, {len(report.deleted)} dead-letter "
        f"blob(s) deleted, {len(report.skipped) + len(report.unreadable)} left for a look, "
        f"{len(report.failed)} failed (run again to retry)"
    )
    return 1 if report.skipped or report.unreadable or report.failed else 0
