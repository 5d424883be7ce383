"""Telemetry is configured only when a connection string is set."""

from __future__ import annotations

import subprocess
import sys

import pytest

from prism import telemetry


def test_without_a_connection_string_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    assert telemetry.configure() is False


def test_recording_metrics_without_an_exporter_is_harmless() -> None:
    # The OpenTelemetry API's default meter is a no-op until an SDK is configured.
    code = (
        "from prism import telemetry\n"
        "telemetry.record_routed('image', 'magic', 1.0)\n"
        "telemetry.record_processed('text', 'ok', inference_ms=2.0, write_ms=1.0,"
        " error_code=None)\n"
        "telemetry.record_rejected('unrouted', 'empty')\n"
        "telemetry.record_cache('image', hit=True)\n"
        "telemetry.record_batch('text', 8)\n"
        "import sys; print('azure.monitor.opentelemetry' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={}
    )
    assert completed.stdout.strip() == "False"
