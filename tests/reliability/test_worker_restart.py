"""The language worker SIGKILLed while the host is idle: the host replaces it at once,
not when a request finds it dead, and a request never gets the dead worker's 500."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PipelineUnderTest, ServedApp, app_not_ready
from tests.reliability.harness import Host, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def idle_host(pipeline: PipelineUnderTest, tmp_path: Path) -> Iterator[Host]:
    host = Host(pipeline.environ, tmp_path / "host.log")
    try:
        wait_until(lambda: not app_not_ready(ServedApp(host.api)), 60, "the local host")
        yield host
    finally:
        host.stop()


def kill_worker(host: Host) -> int:
    worker = host.worker_pid()
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    return worker


def test_a_worker_killed_while_idle_is_replaced_before_any_request_comes(
    idle_host: Host,
) -> None:
    killed = kill_worker(idle_host)
    wait_until(lambda: idle_host.worker_pid() not in (None, killed), 120, "a new worker")
    answer = ServedApp(idle_host.api).request("GET", "/v1/models")
    assert answer.status == 200, answer.body


def test_a_request_arriving_while_the_worker_is_replaced_waits_for_the_new_one(
    idle_host: Host,
) -> None:
    killed = kill_worker(idle_host)
    # Reaped: the host has seen it end and is starting the next one (a request sent
    # before then could reach the dying worker, and fail as an invocation in flight does).
    wait_until(lambda: not Path(f"/proc/{killed}").exists(), 60, "the host to reap the worker")
    answer = ServedApp(idle_host.api).request("GET", "/v1/models")
    assert answer.status == 200, answer.body
    assert idle_host.worker_pid() not in (None, killed)
