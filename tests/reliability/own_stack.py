"""A stack of the test module's own, for tests that stop, pause or restart its
emulators: the session's shared ones are never disturbed. A module imports both
fixtures (``local_stack`` overrides the session's for its ``pipeline``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prism_local.localstack import LocalStack, StackState


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_path_factory.mktemp("own-stack"), prefer_default_ports=False)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def local_stack(own_stack: LocalStack) -> StackState:
    """Overrides the session's stack for the ``pipeline`` fixture of the module."""
    state = own_stack.read_state()
    assert state is not None
    return state
