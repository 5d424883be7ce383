"""The deployment package, run as Azure runs it: the files `.funcignore` lets through,
in a fresh Python 3.13 environment holding `requirements.txt` alone (what Flex
Consumption's remote build installs), indexed and invoked by Microsoft's worker
runtime from that environment. Every HTTP route and every trigger is called once
against the emulators.

A run-time import of a dev-only package, a data file left out of the package, or a
function that fails to index fails here — the worker's log (captured below) says which.
The only addition to the environment is what Azure's own worker host brings and the
app never imports: protobuf, for the FunctionRpc messages.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest

from prism.settings import Env
from prism.storage import StorageConnection, blob_store, message_queues
from prism_local.devhost import DevHost, HostConfig, RuntimeWorker
from prism_local.devhost.routes import Route
from prism_local.functionrpc import messages
from prism_local.localstack import StackState
from tests.deployment import ROOT, copy_package
from tests.isolation import own_resources

pytestmark = pytest.mark.integration

SAMPLES = ROOT / "samples"
# One file per modality: every queue trigger runs once.
FILES = ("forecast.md", "cat.jpg", "greeting.flac", "scanned.pdf", "launch.mp4")
# The version the host side of FunctionRpc uses (requirements-dev.txt pins the same).
PROTOBUF = "protobuf==7.36.2"


def _pip(python: Path, *arguments: str) -> None:
    completed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, f"pip install {' '.join(arguments)}:\n{completed.stderr}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, built_models: Any) -> Path:
    """The package in a folder, with its own environment in ``<folder>/.python``."""
    messages()  # the FunctionRpc messages exist before the package is copied
    root = tmp_path_factory.mktemp("package")
    app = root / "app"
    copy_package(app)
    assert (app / "models" / "build" / "lock.json").is_file(), "the models are not in it"
    environment = root / "python"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    _pip(python, "-r", str(app / "requirements.txt"))
    _pip(python, "--target", str(root / "worker-host"), PROTOBUF)
    return app


def _worker(app: Path, settings: dict[str, str]) -> RuntimeWorker:
    shim = app.parent / "worker-host"
    python = app.parent / "python" / "bin" / "python"
    return RuntimeWorker(app, {**settings, "PYTHONPATH": str(shim)}, python=str(python))


@pytest.fixture
def settings(local_stack: StackState, unique_name: str) -> dict[str, str]:
    return {
        **local_stack.app_settings(),
        **own_resources(unique_name),
        Env.FUNCTION_KEY: "package-check-key",
    }


EXAMPLE_VALUES = {"id": "0" * 64, "name": "console.css"}


def _example_path(prefix: str, route: Route) -> str:
    """A path that reaches ``route``: each parameter gets a value of the right kind."""
    template = str(route.spec.trigger.get("route") or route.spec.name)
    path = re.sub(r"\{(\w+)[^}]*\}", lambda match: EXAMPLE_VALUES[match.group(1)], template)
    return f"/{prefix}/{path}"


def test_the_package_indexes_and_serves_every_route_and_trigger_on_requirements_txt_alone(
    package: Path, settings: dict[str, str]
) -> None:
    host = DevHost(_worker(package, settings), HostConfig.from_file(package / "host.json"),
                   settings)  # fmt: skip
    connection = StorageConnection(connection_string=settings[Env.STORAGE_CONNECTION])
    store = blob_store(connection)
    store.ensure_container(settings[Env.INCOMING_CONTAINER])
    for queue in (
        Env.IMAGE_QUEUE,
        Env.AUDIO_QUEUE,
        Env.TEXT_QUEUE,
        Env.DOCUMENT_QUEUE,
        Env.VIDEO_QUEUE,
    ):  # as deployed
        message_queues(connection).ensure_queue(settings[queue])

    async def scenario() -> list[str]:
        await host.start()
        failures = []
        headers = {"x-functions-key": settings[Env.FUNCTION_KEY]}
        for route in host.router.routes:
            method = sorted(route.methods)[0] if route.methods else "GET"
            answer = await host.handle_http(
                method,
                f"{_example_path(host.config.route_prefix, route)}?name=note.txt",
                headers,
                b"a short note",
            )
            if answer.status >= 500:
                failures.append(f"{method} {route.spec.name}: {answer.status} {answer.body!r}")
        for name in FILES:
            store.upload(settings[Env.INCOMING_CONTAINER], name, (SAMPLES / name).read_bytes())
        # Neither magic bytes nor UTF-8 decide this one: magika's model (run at fp32) must
        # ship too, or its routing fails instead of rejecting the file.
        store.upload(settings[Env.INCOMING_CONTAINER], "noise.bin", bytes(range(256)) * 64)
        stats = await host.run_until_idle(timeout=300)  # stops the worker when idle
        failures += [f"{name} failed {count}x" for name, count in stats.failed.items()]
        ran = set(stats.succeeded)
        triggers = ("ingest", "infer_text", "infer_image", "infer_audio", "infer_document",
                    "infer_video")  # fmt: skip
        for trigger in triggers:
            if trigger not in ran:
                failures.append(f"{trigger} never ran")
        return failures

    failures = asyncio.run(scenario())
    assert failures == [], "the deployment package failed:\n" + "\n".join(failures)
