"""Azurite stopped and started again on the same data folder while a host serves: the
pipeline recovers by itself. A stack of this module's own, so the session's shared
emulators are never disturbed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prism_local.localstack import LocalStack
from prism_local.localstack.processes import stop
from prism_local.localstack.stack import AZURITE_MARKER
from tests.e2e.conftest import PipelineUnderTest
from tests.reliability.harness import (
    SHORT_LEASE,
    Host,
    assert_converged,
    mixed_files,
    wait_until,
)
from tests.reliability.own_stack import local_stack, own_stack

__all__ = ["local_stack", "own_stack"]  # fixtures of this module
pytestmark = pytest.mark.e2e
FILES = 40
AZURITE_DOWN_SECONDS = 3.0


def test_azurite_restarted_mid_run_on_its_data_folder_converges_with_nothing_lost(
    own_stack: LocalStack, pipeline: PipelineUnderTest, tmp_path: Path
) -> None:
    submissions = pipeline.client.submit(mixed_files(tmp_path, FILES))
    host = Host({**pipeline.environ, **SHORT_LEASE}, tmp_path / "host.log")
    wait_until(lambda: len(pipeline.documents()) >= 3, 120, "the first results")
    # SIGTERM (SIGKILL after 10 s): Azurite writes its metadata to the data folder every
    # few seconds, so a SIGKILL can lose writes it acknowledged; Azure Storage cannot.
    assert stop(own_stack.files("azurite"), AZURITE_MARKER)
    time.sleep(AZURITE_DOWN_SECONDS)  # the outage itself, not a wait for a result
    done_while_down = len(pipeline.documents())
    own_stack.restart_azurite()
    assert done_while_down < FILES, "every file was done before Azurite went away"
    # No help from outside: the serving host alone must bring every file to its result.
    wait_until(lambda: pipeline.client.wait(submissions, timeout=0), 240, "every result")
    host.stop()
    assert_converged(pipeline, submissions)
