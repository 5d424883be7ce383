"""A serving local host stops when told, even when its emulators vanished under it
(its invocations then block in SDK retries, which must not keep the process alive)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from prism_local.localstack import LocalStack, devhost_command
from prism_local.localstack.processes import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_a_serving_host_stops_on_sigterm_after_its_emulators_vanished(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path / "stack", prefer_default_ports=False)
    state = stack.start()
    host = subprocess.Popen(
        devhost_command("serve", "--port", str(free_port(None))),
        env={**os.environ, **state.app_settings(), "PRISM_INCOMING_CONTAINER": "shutdown-in"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # serving: polling the container and the queues
        stack.stop()
        time.sleep(3)  # its polls now retry against closed ports
        host.send_signal(signal.SIGTERM)
        # Generous bound: the grace period is 10 s; before the fix it hung for minutes.
        assert host.wait(timeout=45) == 0
    finally:
        if host.poll() is None:
            host.kill()
        stack.stop()
