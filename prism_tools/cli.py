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

from prism.errors import ErrorCode, PrismError
from prism_tools.commands.arguments import CommandLineParser, print_error

# Modules that contribute sub-commands, in the order `prism --help` lists them.
COMMAND_MODULES = (
    "prism_tools.commands.models",
    "prism_tools.commands.infer",
    "prism_tools.commands.search",
    "prism_tools.commands.pipeline",
    "prism_tools.commands.results",
    "prism_tools.commands.migrate",
    "prism_tools.commands.deadletter",
    "prism_tools.commands.cost",
    "prism_tools.commands.plan",
    "prism_tools.commands.lifecycle",
    "prism_tools.commands.stack",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
        prog="prism",
        description="Prism: a serverless multimodal AI pipeline (images, audio, text).",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an unexpected error, show Python's traceback, not only its one line",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every error is one coded line on stderr and a non-zero exit
    (usage errors: see :class:`~prism_tools.commands.arguments.CommandLineParser`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except PrismError as exc:
        print_error(exc.code, exc.message)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # A file the arguments named changed after they were checked, or the system
        # refused (a full disk, a port in use): the caller's to fix, not a bug.
        code_of = ErrorCode.BAD_REQUEST if exc.filename else ErrorCode.DEPENDENCY_UNAVAILABLE
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(code_of, f"{where}{exc.strerror or exc}")
        return 2
    except Exception as exc:
        # A bug: still one line, with what it was; --traceback shows where.
        if args.traceback:
            raise
        print_error(
            ErrorCode.INTERNAL,
            f"unexpected {type(exc).__name__}: {exc} (run with --traceback to see where)",
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
