"""Faults around the local host and Cosmos DB, on the session's emulators: the host
SIGKILLed mid-run, and Cosmos DB unreachable for a while under a serving host."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from prism.modality import Modality
from tests.e2e.conftest import PipelineUnderTest
from tests.reliability.harness import (
    SHORT_LEASE,
    SHORT_LEASE_SECONDS,
    Host,
    Link,
    assert_converged,
    mixed_files,
    wait_until,
)

pytestmark = pytest.mark.e2e
FILES = 48
COSMOS_OUTAGE_SECONDS = 5.0
# Functions' own switch (an app setting per function) for every inference function.
INFERENCE_OFF = {f"AzureWebJobs.infer_{modality.value}.Disabled": "true" for modality in Modality}


def routed(pipeline: PipelineUnderTest) -> int:
    """Files with a document or a job waiting on a queue."""
    return len(pipeline.documents()) + sum(pipeline.queue_depths().values())


def test_host_killed_mid_run_then_restarted_leaves_exactly_one_result_per_file(
    pipeline: PipelineUnderTest, tmp_path: Path
) -> None:
    submissions = pipeline.client.submit(mixed_files(tmp_path, FILES))
    host = Host({**pipeline.environ, **SHORT_LEASE}, tmp_path / "killed.log")
    # Killed once a third of the files are done: by then most blobs are ingested, so
    # what is in flight are queue messages as well as blobs.
    wait_until(lambda: len(pipeline.documents()) >= FILES // 3, 120, "a third of the results")
    host.kill()
    done_at_kill = len(pipeline.documents())
    assert done_at_kill < FILES, "the host finished before it was killed"
    # Restarted: the killed host's leased messages reappear when the lease ends, blobs
    # it never receipted are ingested again; deterministic ids absorb every repeat.
    pipeline.run_until_idle(PRISM_DEVHOST_LEASE_SECONDS=SHORT_LEASE_SECONDS)
    assert_converged(pipeline, submissions)


def test_cosmos_unreachable_for_a_while_loses_no_result_and_duplicates_none(
    pipeline: PipelineUnderTest, tmp_path: Path
) -> None:
    endpoint = urlsplit(pipeline.environ["PRISM_COSMOS__accountEndpoint"])
    assert endpoint.port is not None
    link = Link(endpoint.port)
    link_endpoint = f"https://127.0.0.1:{link.port}/"
    through_link = {"PRISM_COSMOS__accountEndpoint": link_endpoint}
    environ = {**pipeline.environ, **through_link, **SHORT_LEASE}
    try:
        submissions = pipeline.client.submit(mixed_files(tmp_path, FILES))
        # Every blob routed first (a result, or a job on a queue), straight to Cosmos DB,
        # by a host whose inference functions are off; then the link is cut and a host
        # that infers through it starts: the outage hits the inference stage's writes
        # by construction, not by which stage happens to be faster. (Ingest's own
        # retries are the blob trigger's: see docs/reliability.md.)
        router = Host({**pipeline.environ, **INFERENCE_OFF}, tmp_path / "router.log")
        wait_until(lambda: routed(pipeline) >= FILES, 120, "every blob routed")
        router.stop()
        link.cut()
        log = tmp_path / "host.log"
        host = Host(environ, log)
        wait_until(lambda: " failed on message " in log.read_text(), 120,
                   "an inference to fail against the cut link")  # fmt: skip
        time.sleep(COSMOS_OUTAGE_SECONDS)  # the outage itself, not a wait for a result
        done_during_outage = len(pipeline.documents())
        link.restore()
        assert done_during_outage < FILES, "every file was done before Cosmos DB went away"
        # Back: retried messages succeed. One that ran out of attempts during the
        # outage is in its poison queue; replaying it is the documented recovery.
        wait_until(
            lambda: (
                len(pipeline.documents()) + sum(pipeline.client.poison_depths().values()) >= FILES
            ),
            180,
            "every file to be done or poisoned",
        )
        host.stop()
        pipeline.client.replay_poison()
        pipeline.run_until_idle(PRISM_COSMOS__accountEndpoint=link_endpoint)
    finally:
        link.close()
    assert_converged(pipeline, submissions)
