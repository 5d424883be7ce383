"""Commands for a running pipeline: ``submit``, ``replay-poison``,
``doctor`` and ``demo`` (what the README's first command runs)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from prism.errors import ConfigurationError
from prism.settings import PROJECT_ROOT, Env
from prism_local.localstack import DEFAULT_STATE_DIR, LocalStack
from prism_tools.commands.arguments import positive_number, readable_file
from prism_tools.summary import describe, format_table

if TYPE_CHECKING:
    from prism_local.devhost.indexing import Binding, FunctionSpec

SETTINGS_FILE = PROJECT_ROOT / "local.settings.json"
SAMPLES = PROJECT_ROOT / "samples"


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser("submit", help="upload files into the incoming container")
    submit.add_argument("files", nargs="+", type=readable_file, metavar="FILE")
    submit.add_argument("--wait", action="store_true", help="wait for every result")
    submit.add_argument(
        "--timeout", type=positive_number, default=300.0, help="seconds to wait (300)"
    )
    submit.add_argument("--json", action="store_true", help="print JSON")
    submit.set_defaults(handler=run_submit)

    replay = subparsers.add_parser(
        "replay-poison", help="move poisoned messages back to their queues"
    )
    replay.set_defaults(handler=run_replay)

    doctor = subparsers.add_parser(
        "doctor", help="show the app's functions and check the emulators and models"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler=run_doctor)

    demo = subparsers.add_parser(
        "demo", help="start the local stack, process the sample files, show the results"
    )
    demo.add_argument("--keep", action="store_true", help="leave the stack running after")
    demo.set_defaults(handler=run_demo)


def use_local_stack() -> None:
    """Point this process at the stack `prism up` started (ports and keys)."""
    from prism_local.devhost import prepare_environment

    if LocalStack(DEFAULT_STATE_DIR).running_state() is None:
        raise ConfigurationError("the local stack is not running: start it with `prism up`")
    prepare_environment(SETTINGS_FILE, DEFAULT_STATE_DIR)


def _progress_bar(total: int, unit: str, description: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit == "B", desc=description, leave=False)


def submit_and_wait(paths: list[Path], *, wait: bool, timeout: float) -> tuple[list[Any], bool]:
    from prism.client import connect

    client = connect()
    with _progress_bar(sum(p.stat().st_size for p in paths), "B", "uploading") as bar:
        submissions = client.submit(paths, bar.update)
    finished = True
    if wait:
        with _progress_bar(len(submissions), "file", "processing") as bar:
            finished = client.wait(submissions, timeout, bar.update)
    return submissions, finished


def print_submissions(submissions: list[Any], as_json: bool) -> None:
    rows = [s.to_dict() for s in submissions]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(format_table([_row(Path(r["file"]).name, r) for r in rows], _HEADERS))


_HEADERS = ["file", "modality", "status", "result"]


def _row(name: str, document: dict[str, Any]) -> list[str]:
    return [name, str(document.get("modality") or "-"), str(document["status"]), describe(document)]


def run_submit(args: argparse.Namespace) -> int:
    use_local_stack()
    submissions, finished = submit_and_wait(list(args.files), wait=args.wait, timeout=args.timeout)
    print_submissions(submissions, args.json)
    return 0 if finished else 1


def run_replay(args: argparse.Namespace) -> int:
    """Replay both kinds of poison queue; one line per message left behind (which, and
    why), a summary last. Non-zero only if something failed: a skipped message can
    never succeed and stays for an operator, which is not a failure of the replay."""
    from prism.client import connect
    from prism.pipeline import get_pipeline
    from prism.poison import replay_blob_trigger_poison

    use_local_stack()
    report = connect().replay_poison()
    pipeline = get_pipeline()
    report.merge(
        replay_blob_trigger_poison(
            pipeline.queues, pipeline.settings.incoming_container, pipeline.ingest
        )
    )
    for queue, count in report.replayed.items():
        print(f"{queue}: {count} replayed")
    for skipped in report.skipped:
        print(f"{skipped.queue}: message {skipped.message_id} skipped: {skipped.reason}")
    for failed in report.failed:
        which = "the queue" if failed.message_id is None else f"message {failed.message_id}"
        print(f"{failed.queue}: {which} failed: {failed.reason}")
    print(f"replay-poison: {report.summary()}")
    return 1 if report.failed else 0


def run_doctor(args: argparse.Namespace) -> int:
    import asyncio

    from prism_local.devhost import RuntimeWorker, worker_package

    async def indexed() -> list[FunctionSpec]:
        # The app's functions as Microsoft's worker runtime indexes them on Azure.
        worker = RuntimeWorker(PROJECT_ROOT)
        try:
            return await worker.start()
        finally:
            await worker.stop()

    functions = asyncio.run(indexed())
    services = LocalStack(DEFAULT_STATE_DIR).status()
    report: dict[str, Any] = {
        "worker": worker_package(),
        "functions": [
            {"name": spec.name, "trigger": spec.trigger.type,
             "binding": _binding_detail(spec.trigger)}
            for spec in functions
        ],
        "services": [
            {"name": status.name, "running": status.running, "where": status.where}
            for status in services
        ],
    }  # fmt: skip
    try:
        use_local_stack()
    except ConfigurationError as exc:
        report["health"] = {"status": "unavailable", "detail": exc.message}
    else:
        from prism.health import check_health
        from prism.pipeline import get_pipeline

        report["health"] = check_health(get_pipeline())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_doctor(report)
    return 0 if report["health"].get("status") == "ok" else 1


def _print_doctor(report: dict[str, Any]) -> None:
    worker = report["worker"]
    print(f"worker: {worker['package']} {worker['version']}\n")
    rows = [[f["name"], f["trigger"], f["binding"]] for f in report["functions"]]
    print(format_table(rows, ["function", "trigger", "binding"]))
    print()
    for service in report["services"]:
        state = "running" if service["running"] else "stopped"
        print(f"{service['name']:<8} {state:<8} {service['where']}")
    health = report["health"]
    if "checks" not in health:
        print(f"\n{health['detail']}")
        return
    print()
    for name, check in health["checks"].items():
        print(f"{name:<8} {'ok' if check['ok'] else 'FAIL':<5} {check['detail']}")


def _binding_detail(binding: Binding) -> str:
    keys = ("path", "queueName", "route", "schedule", "connection", "source", "authLevel")
    return ", ".join(f"{key}={binding.get(key)}" for key in keys if binding.get(key))


# Written before looking at any result: what a user would type to find each sample.
DEMO_SEARCHES = (
    "a cat", "someone saying hello", "will it rain tomorrow", "a cup of coffee",
    "a delivery of printer paper", "a shop that sells bagels", "when does the rocket take off",
)  # fmt: skip


def print_searches(host_url: str, queries: tuple[str, ...]) -> None:
    """Each query's first hit among the stored results, through ``GET /api/v1/search``
    on the local host, as a user's own call would go."""
    import re
    import urllib.request
    from urllib.parse import urlencode

    key = os.environ.get(Env.FUNCTION_KEY, "")
    rows = []
    for query in queries:
        url = f"{host_url}/api/v1/search?{urlencode({'q': query, 'limit': 1})}"
        request = urllib.request.Request(url, headers={"x-functions-key": key})
        with urllib.request.urlopen(request, timeout=60) as answer:
            hits = json.load(answer)["results"]
        if not hits:
            rows.append([query, "-", "-", "-", "-"])
            continue
        hit = hits[0]
        # Uploads carry an 8-hex prefix that keeps same-named files apart.
        name = re.sub(r"^[0-9a-f]{8}-", "", Path(str(hit["name"])).name)
        rows.append([query, name, hit["modality"], f"{hit['score']:.2f}", str(hit["matched"])[:50]])
    print("\nSearch by meaning (GET /api/v1/search), the first hit of each query:")
    print(format_table(rows, ["query", "first hit", "modality", "score", "matched"]))


def console_url(host_url: str) -> str:
    """The console's address on the local host, with the local function key (from
    local.settings.json, loaded by ``use_local_stack``) that the page passes on."""
    key = os.environ.get(Env.FUNCTION_KEY, "")
    return f"{host_url}/api/console?code={quote(key, safe='')}"


def run_demo(args: argparse.Namespace) -> int:
    stack = LocalStack(DEFAULT_STATE_DIR)
    print("Starting the local stack: Azurite, the Cosmos DB emulator, the Functions host…")
    state = stack.start_devhost("function_app", SETTINGS_FILE)
    try:
        use_local_stack()
        # Good files first, then the bad ones (samples/bad/), each set by name.
        paths = sorted(
            (p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md"),
            key=lambda p: (p.parent != SAMPLES, p.name),
        )
        print(f"Dropping {len(paths)} sample files into the incoming container…")
        start = time.perf_counter()
        submissions, finished = submit_and_wait(paths, wait=True, timeout=300.0)
        elapsed = time.perf_counter() - start
        print_submissions(submissions, as_json=False)
        done = sum(1 for s in submissions if s.result is not None)
        print(f"\n{done} of {len(paths)} files processed in {elapsed:.1f} s.")
        if state.devhost is not None:
            print_searches(state.devhost.url, DEMO_SEARCHES)
            print(f"API: {state.devhost.url}/api/v1/results  (header x-functions-key, see "
                  "local.settings.json)")  # fmt: skip
            print(f"Console: {console_url(state.devhost.url)}")
        return 0 if finished else 1
    finally:
        if args.keep:
            print("The stack is still running: `prism status`, `prism down` to stop it.")
        else:
            stack.stop()
            print("Stopped the local stack.")
