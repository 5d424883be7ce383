"""``python -m bench.emulators``: what the local stack sustains, through the real SDKs.

Blob uploads, queue sends and receives on Azurite; Cosmos DB upserts and point reads on
the emulator with keep-alive (as the stack runs it) and without (the package's default),
side by side in one run. Sequential calls from one client: this measures per-request
cost, the figure that bounds a local pipeline run, not the emulators' peak.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prism.storage import (
    CosmosConnection,
    DocumentContainer,
    MessageQueues,
    StorageConnection,
    blob_store,
    cosmos_client,
    message_queues,
)
from prism_local.localstack import LocalStack

OPERATIONS = 300
# Without keep-alive every request opens a TLS connection: fewer, or the run drags.
SLOW_OPERATIONS = 60


def rate(operation: Callable[[int], object], count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        operation(n)
    return count / (time.perf_counter() - started)


def drain_rate(queues: MessageQueues, queue: str) -> float:
    """Messages per second received and deleted until the queue is empty."""
    count = 0
    started = time.perf_counter()
    while batch := queues.receive(queue, max_messages=32, visibility_timeout=60):
        for message in batch:
            queues.delete(message)
        count += len(batch)
    return count / (time.perf_counter() - started)


def cosmos_rates(stack: LocalStack, count: int) -> tuple[float, float]:
    state = stack.start()
    documents = DocumentContainer(
        cosmos_client(CosmosConnection(state.cosmos.endpoint, state.cosmos.key)),
        "bench",
        "docs",
        "/modality",
        create_if_missing=True,
    )
    upserts = rate(lambda n: documents.upsert({"id": str(n), "modality": "image"}), count)
    reads = rate(lambda n: documents.read(str(n), "image"), count)
    return upserts, reads


def main() -> int:
    with tempfile.TemporaryDirectory() as root:
        fast = LocalStack(Path(root) / "keep-alive", prefer_default_ports=False)
        slow = LocalStack(
            Path(root) / "no-keep-alive",
            prefer_default_ports=False,
            cosmos_arguments=["--no-keep-alive"],
        )
        try:
            state = fast.start()
            connection = StorageConnection(connection_string=state.azurite.connection_string)
            blobs, queues = blob_store(connection), message_queues(connection)
            blobs.ensure_container("bench")
            queues.ensure_queue("bench")
            payload = b"x" * 1024
            rows = {
                "blob upload (1 KiB)": rate(
                    lambda n: blobs.upload("bench", f"b{n}", payload), OPERATIONS
                ),
                "queue send": rate(lambda n: queues.send("bench", payload), OPERATIONS),
                "queue receive+delete (32 per call)": drain_rate(queues, "bench"),
            }
            upserts, reads = cosmos_rates(fast, OPERATIONS)
            slow_upserts, slow_reads = cosmos_rates(slow, SLOW_OPERATIONS)
        finally:
            fast.stop()
            slow.stop()
    rows["cosmos upsert, keep-alive"] = upserts
    rows["cosmos point read, keep-alive"] = reads
    rows["cosmos upsert, no keep-alive"] = slow_upserts
    rows["cosmos point read, no keep-alive"] = slow_reads
    for name, value in rows.items():
        print(f"{name:<40} {value:8.0f} ops/s")
    print(
        f"keep-alive speed-up: upsert x{upserts / slow_upserts:.1f}, read x{reads / slow_reads:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
