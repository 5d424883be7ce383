"""Azurite paused (SIGSTOP: connections are accepted and never answered, the way a
stalled storage service behaves) under a serving host: routes that do not touch
storage still answer, and /health says 503 instead of hanging. A stack of this
module's own, so the session's shared emulators are never paused."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from prism_local.localstack import LocalStack
from tests.e2e.conftest import HttpAnswer, PipelineUnderTest, ServedApp, app_not_ready
from tests.reliability.harness import Host, wait_until
from tests.reliability.own_stack import local_stack, own_stack

__all__ = ["local_stack", "own_stack"]  # fixtures of this module
pytestmark = pytest.mark.e2e


def test_with_storage_paused_models_still_answer_and_health_answers_503(
    own_stack: LocalStack, pipeline: PipelineUnderTest, tmp_path: Path
) -> None:
    host = Host(pipeline.environ, tmp_path / "host.log")
    app = ServedApp(host.api)
    azurite = own_stack.files("azurite").read_pid()
    assert azurite is not None
    try:
        wait_until(lambda: not app_not_ready(app), 60, "the local host to answer")
        os.kill(azurite, signal.SIGSTOP)
        try:
            # Every trigger's poll now hangs in storage. The client waits up to 60 s per
            # request, far above any deadline involved: these hold by construction, not
            # by speed. Health answers from its last report until that lapses.
            answers: list[HttpAnswer] = []

            def health_has_checked() -> bool:
                answers.append(app.request("GET", "/v1/health", key=None))
                return answers[-1].status != 200

            wait_until(health_has_checked, 60, "a health report made while storage hangs")
            models = app.request("GET", "/v1/models")
        finally:
            os.kill(azurite, signal.SIGCONT)
        health = answers[-1]
        assert models.status == 200, models.body
        assert models.body["models"]
        assert health.status == 503, health.body
        assert health.body["status"] == "degraded"
        assert health.body["checks"]["storage"] is False
        # Storage back: so is health, with nothing restarted.
        wait_until(lambda: app.request("GET", "/v1/health", key=None).status == 200, 120, "health")
    finally:
        host.stop()
