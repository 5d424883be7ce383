"""Health checks against a dependency that hangs: the report still comes, with that
dependency failing, and however often it is asked for, one thread waits on it."""

from __future__ import annotations

import threading

from prism.health import check_health, public_health
from prism.pipeline import Pipeline
from tests.unit.stubs import make_pipeline


class HangingBlobs:
    """Blob storage that took the connection and went silent (Azurite SIGSTOPped)."""

    def __init__(self) -> None:
        self.let_go = threading.Event()
        self.calls = 0

    def container_exists(self, container: str) -> bool:
        self.calls += 1
        self.let_go.wait(60)
        return True


def hanging_pipeline() -> tuple[Pipeline, HangingBlobs]:
    blobs = HangingBlobs()
    pipeline = make_pipeline(blobs=blobs)
    return pipeline, blobs


def test_a_hanging_dependency_is_reported_failing_once_the_deadline_passes() -> None:
    pipeline, blobs = hanging_pipeline()
    try:
        # The probe cannot answer before the test lets it: the deadline must pass.
        report = check_health(pipeline, deadline=0.1)
    finally:
        blobs.let_go.set()
    assert report["status"] == "degraded"
    assert report["checks"]["storage"]["ok"] is False
    assert report["checks"]["storage"]["detail"] == "no answer within 0.1 s"
    # The other dependencies were probed meanwhile, each with its own answer.
    assert report["checks"]["cosmos"]["ok"] is True


def test_a_hanging_dependency_holds_one_thread_however_often_health_is_checked() -> None:
    pipeline, blobs = hanging_pipeline()
    try:
        for _ in range(3):
            assert check_health(pipeline, deadline=0.05)["checks"]["storage"]["ok"] is False
        assert blobs.calls == 1  # each later check waited on the first probe
        blobs.let_go.set()
        # Once it has answered (a check may still meet it finishing), checks probe anew.
        for _ in range(2):
            assert check_health(pipeline, deadline=30)["checks"]["storage"]["ok"] is True
        assert blobs.calls >= 2
    finally:
        blobs.let_go.set()


def test_callers_waiting_on_a_public_check_share_its_answer() -> None:
    pipeline, blobs = hanging_pipeline()
    blobs.let_go.set()
    answers = [public_health(pipeline) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert blobs.calls == 1
