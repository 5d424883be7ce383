"""``prism up`` / ``prism down`` / ``prism status``: the local stack (emulators and the
local Functions host) in the background."""

from __future__ import annotations

import argparse
from typing import Any

from prism.settings import PROJECT_ROOT
from prism_local.localstack import DEFAULT_STATE_DIR, LocalStack
from prism_tools.commands.arguments import directory_used_or_created, file_read_or_created


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up", help="start the emulators and the local Functions host (idempotent)"
    )
    up.add_argument("--app", default="function_app", help="module[:attribute] of the app")
    up.add_argument(
        "--settings",
        type=file_read_or_created,
        default=PROJECT_ROOT / "local.settings.json",
        help="created from local.settings.example.json if missing",
    )
    up.add_argument("--no-host", action="store_true", help="start the emulators only")
    up.set_defaults(handler=run_up)
    down = subparsers.add_parser("down", help="stop everything `prism up` started")
    down.set_defaults(handler=run_down)
    status = subparsers.add_parser("status", help="what runs where")
    status.set_defaults(handler=run_status)
    for parser in (up, down, status):
        parser.add_argument(
            "--state-dir",
            type=directory_used_or_created,
            default=DEFAULT_STATE_DIR,
            help="default .prism/",
        )


def run_up(args: argparse.Namespace) -> int:
    stack = LocalStack(args.state_dir)
    if args.no_host:
        stack.start()
    else:
        stack.start_devhost(args.app, args.settings)
    if stack.redelivered:
        print(f"The Cosmos DB emulator started empty (it keeps results in memory): "
              f"{stack.redelivered} blob(s) processed before will run again.")  # fmt: skip
    return run_status(args)


def run_down(args: argparse.Namespace) -> int:
    stopped = LocalStack(args.state_dir).stop()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def run_status(args: argparse.Namespace) -> int:
    stack = LocalStack(args.state_dir)
    rows = stack.status()
    for row in rows:
        state = "running" if row.running else "stopped"
        pid = "-" if row.pid is None else str(row.pid)
        print(f"{row.name:<8} {state:<8} pid {pid:<8} {row.where}")
    print(f"logs: {stack.state_dir / 'logs'}")
    return 0
