"""The ``prism`` command.

Each feature area owns its sub-commands in a ``commands`` module exposing
``register(subparsers)``; this file only assembles them. Feature modules are imported
when the CLI starts, but heavy libraries load only inside the command that runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from prism.errors import PrismError

# Modules that contribute sub-commands, in the order `prism --help` lists them.
COMMAND_MODULES = (
    "prism.commands.models",
    "prism.commands.infer",
    "prism.commands.search",
    "prism.commands.pipeline",
    "prism.commands.results",
    "prism.commands.migrate",
    "prism.commands.deadletter",
    "prism.commands.cost",
    "prism.commands.plan",
    "prism.commands.lifecycle",
    "prism.commands.stack",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prism",
        description="Prism: a serverless multimodal AI pipeline (images, audio, text).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except PrismError as exc:
        print(f"prism: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
