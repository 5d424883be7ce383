"""The end-to-end harness's fixtures (a pipeline with its own names; the app served over
HTTP by the local host), shared with the security tests."""

from __future__ import annotations

from tests.e2e.conftest import pipeline, served_app

__all__ = ["pipeline", "served_app"]
