from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import pytest

from prism.localstack import LocalStack, StackState
from prism.localstack.processes import is_running
from prism.localstack.stack import AZURITE_MARKER, COSMOS_MARKER

pytestmark = pytest.mark.integration


def test_start_again_returns_the_running_stack(
    local_stack_manager: LocalStack, local_stack: StackState
) -> None:
    assert local_stack_manager.start() == local_stack
    rows = {row.name: row for row in local_stack_manager.status()}
    assert rows["azurite"].running
    assert rows["cosmos"].running
    assert not rows["devhost"].running


def test_stop_ends_both_emulators_and_forgets_them(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, prefer_default_ports=False)
    state = stack.start()

    assert sorted(stack.stop()) == ["azurite", "cosmos"]

    assert not is_running(state.azurite.pid, AZURITE_MARKER)
    assert not is_running(state.cosmos.pid, COSMOS_MARKER)
    assert stack.read_state() is None
    assert not list((tmp_path / "run").glob("*.pid"))
    assert stack.stop() == []  # stopping a stopped stack is a no-op


def test_cosmos_emulator_keeps_connections_alive_over_tls_with_its_generated_certificate(
    local_stack: StackState,
) -> None:
    context = ssl.create_default_context(cafile=local_stack.cosmos.certificate)
    connection = http.client.HTTPSConnection("127.0.0.1", local_stack.cosmos.port, context=context)
    try:
        for _ in range(2):  # the second request reuses the socket
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            assert response.getheader("connection") == "keep-alive"
    finally:
        connection.close()
