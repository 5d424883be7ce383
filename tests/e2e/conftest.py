"""End-to-end harness: the real ``function_app`` served by the local host in a child
process (as ``func start`` would), against the session's real emulators and the real
built models. Every test gets its own containers, queues and database, so tests never
see each other's data; the test process reads results through the same adapters."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prism.client import PipelineClient, connect
from prism.queries import every_result
from prism.settings import Settings, load_settings
from prism.storage import CosmosConnection, StorageConnection, poison_queue_name
from prism_local.localstack import StackState, devhost_command
from prism_local.localstack.processes import free_port
from tests.isolation import own_resources, provision

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_KEY = "e2e-function-key"
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class PipelineUnderTest:
    environ: dict[str, str]
    settings: Settings
    client: PipelineClient
    storage: StorageConnection
    cosmos: CosmosConnection

    def run_until_idle(self, timeout: float = 180.0, **overrides: str) -> str:
        """Run the app until every blob, queue and in-flight invocation is done."""
        completed = subprocess.run(
            devhost_command("run", "--timeout", str(timeout)),
            env={**self.environ, **overrides},
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
        return completed.stdout

    def documents(self) -> list[dict[str, Any]]:
        return list(every_result(self.client.results))

    def queue_depths(self) -> dict[str, int]:
        depths = {}
        for queue in self.settings.modality_queues.values():
            for name in (queue, poison_queue_name(queue)):
                self.client.queues.ensure_queue(name)
                depths[name] = self.client.queues.approximate_count(name)
        return depths


@pytest.fixture
def pipeline(
    local_stack: StackState, built_models: Mapping[str, Any], unique_name: str
) -> PipelineUnderTest:
    return make_pipeline(local_stack, unique_name)


def make_pipeline(local_stack: StackState, unique_name: str) -> PipelineUnderTest:
    """Settings naming containers, queues and a database of this test's own."""
    environ = {
        **os.environ,
        **local_stack.app_settings(),
        **own_resources(unique_name),
        "PRISM_FUNCTION_KEY": FUNCTION_KEY,
        # Small caps keep the oversized-input tests small.
        "PRISM_MAX_IMAGE_BYTES": str(MAX_BYTES),
        "PRISM_MAX_AUDIO_BYTES": str(MAX_BYTES),
        "PRISM_MAX_TEXT_BYTES": str(MAX_BYTES // 4),
        "PRISM_MAX_DOCUMENT_BYTES": str(MAX_BYTES),
        "PRISM_MAX_VIDEO_BYTES": str(MAX_BYTES),
    }
    settings = load_settings(environ)
    storage = StorageConnection(connection_string=local_stack.azurite.connection_string)
    cosmos = CosmosConnection(endpoint=local_stack.cosmos.endpoint, key=local_stack.cosmos.key)
    client = connect(settings, storage=storage, cosmos=cosmos)
    provision(client.blobs, client.queues, settings)
    return PipelineUnderTest(environ, settings, client, storage, cosmos)


@dataclass
class HttpAnswer:
    status: int
    body: Any


class ServedApp:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        key: str | None = FUNCTION_KEY,
        headers: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=body, method=method, headers=dict(headers or {})
        )
        if key is not None:
            request.add_header("x-functions-key", key)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return HttpAnswer(status, json.loads(raw))
        except json.JSONDecodeError:
            return HttpAnswer(status, raw.decode(errors="replace"))


@pytest.fixture
def served_app(pipeline: PipelineUnderTest, tmp_path: Path) -> Iterator[ServedApp]:
    """The app served over HTTP on a free loopback port until the test ends."""
    with serve(pipeline, tmp_path / "devhost.log") as app:
        yield app


@contextmanager
def serve(pipeline: PipelineUnderTest, log_path: Path) -> Iterator[ServedApp]:
    """Serve the app for ``pipeline`` on a free loopback port, logging to ``log_path``."""
    port = free_port(None)
    log = log_path.open("w")
    process = subprocess.Popen(
        devhost_command("serve", "--port", str(port)),
        env=pipeline.environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app = ServedApp(f"http://127.0.0.1:{port}/api")
    try:
        deadline = time.monotonic() + 60
        while app_not_ready(app):
            assert process.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < deadline, "the local host did not answer within 60 s"
            time.sleep(0.2)
        yield app
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def app_not_ready(app: ServedApp) -> bool:
    try:
        app.request("GET", "/v1/health", key=None)
    except OSError:
        return True
    return False
