"""Session fixtures: the real emulators (Azurite, the Cosmos DB emulator) on free
loopback ports, started once for the test session in a temporary state directory and
stopped at its end. Fixtures are lazy: a run of unit tests starts nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from prism.storage import CosmosConnection, StorageConnection
from prism_local.localstack import LocalStack, StackState


@pytest.fixture(scope="session")
def local_stack_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The session's stack (installs the npm packages first if they are missing)."""
    # Kernel-chosen ports: never collide with a stack a developer started with `prism up`.
    stack = LocalStack(tmp_path_factory.mktemp("stack"), prefer_default_ports=False)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def local_stack(local_stack_manager: LocalStack) -> StackState:
    state = local_stack_manager.read_state()
    assert state is not None
    return state


@pytest.fixture(scope="session")
def storage_connection_string(local_stack: StackState) -> str:
    return local_stack.azurite.connection_string


@pytest.fixture(scope="session")
def storage_connection(storage_connection_string: str) -> StorageConnection:
    return StorageConnection(connection_string=storage_connection_string)


@pytest.fixture(scope="session")
def cosmos_settings(local_stack: StackState) -> CosmosConnection:
    """Endpoint and key of the session's Cosmos DB emulator."""
    return CosmosConnection(endpoint=local_stack.cosmos.endpoint, key=local_stack.cosmos.key)


@pytest.fixture
def unique_name() -> str:
    """A fresh container/queue/database name (3-63 lowercase characters), so tests
    sharing the session's emulators never see each other's data."""
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def built_models() -> dict[str, object]:
    """The lock of the real, gated models in the configured model directory, built now
    if missing or stale — by `make models`, in the build's own environment (.venv-build
    holds torch; the test environment does not). `make test` builds them first, so this
    is a no-op there."""
    import json
    import subprocess

    from models.build import current_build
    from prism.onnx.registry import LOCK_NAME
    from prism.settings import PROJECT_ROOT, get_settings

    model_dir = get_settings().model_dir
    if not current_build(model_dir):
        subprocess.run(["make", "models"], cwd=PROJECT_ROOT, check=True)
    lock: dict[str, object] = json.loads((model_dir / LOCK_NAME).read_text("utf-8"))
    return lock
