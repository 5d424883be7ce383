"""The end-to-end harness's fixtures, shared with the fault tests."""

from __future__ import annotations

from tests.e2e.conftest import pipeline

__all__ = ["pipeline"]
