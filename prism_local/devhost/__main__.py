"""``python -m prism_local.devhost {serve,run}``: serve an app, or run it until idle."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from prism.errors import PrismError
from prism_local.devhost.host import DevHost
from prism_local.devhost.launch import build_host, prepare_environment
from prism_local.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prism_local.devhost")
    parser.add_argument("mode", choices=("serve", "run"), help="run: until idle, then exit")
    parser.add_argument("--app", default="function_app", help="module[:attribute]")
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    parser.add_argument("--settings", type=Path, help="default: APP_DIR/local.settings.json")
    parser.add_argument("--state-dir", type=Path, help="the local stack's state directory")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port (serve)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (run)")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        prepare_environment(args.settings or args.app_dir / "local.settings.json", args.state_dir)
        host = build_host(args.app, args.app_dir)
        if args.mode == "run":
            stats = asyncio.run(host.run_until_idle(args.timeout))
            print(f"succeeded {dict(stats.succeeded)} failed {dict(stats.failed)} "
                  f"poisoned {dict(stats.poisoned)}")  # fmt: skip
            return 0
        asyncio.run(_serve(host, args.port))
    except PrismError as exc:
        print(f"devhost: error: {exc}", file=sys.stderr)
        return 2
    return 0


async def _serve(host: DevHost, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await host.serve(stop, http_port=port)
    # Threads of invocations still blocked in SDK retries (a vanished emulator) would
    # keep asyncio.run's executor shutdown — and so this process — waiting for
    # minutes; a host ends its worker instead, after the grace period serve() gave.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
