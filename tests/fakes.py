"""In-memory stand-ins with the real services' semantics, for unit tests only.

``tests/integration/test_queue_contract.py`` and ``test_documents_contract.py`` run the
same checks against these fakes and against the emulators, so a fake cannot drift from
what the real service does (``tests/fake_worker.py`` has the worker's fake).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prism.storage import (
    Keyset,
    LeaseLostError,
    NotFoundError,
    ReceivedMessage,
    Where,
    encode_content,
)
from prism.storage.queues import MAX_MESSAGES_PER_RECEIVE, validate_receive_timeout


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Stored:
    id: str
    content: str
    visible_at: float
    order: int
    dequeue_count: int = 0
    pop_receipt: str | None = None


@dataclass
class FakeMessageQueues:
    """:class:`prism.storage.MessageQueues` in memory: leases hide a message for the
    visibility timeout, each receive increments ``dequeue_count`` and issues a new pop
    receipt, and a stale receipt cannot delete or release."""

    clock: FakeClock = field(default_factory=FakeClock)
    queues: dict[str, dict[str, _Stored]] = field(default_factory=dict)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def _queue(self, queue: str) -> dict[str, _Stored]:
        if queue not in self.queues:
            raise NotFoundError(f"queue {queue}: not found")
        return self.queues[queue]

    def ensure_queue(self, queue: str) -> None:
        self.queues.setdefault(queue, {})

    def send(self, queue: str, body: bytes, *, visibility_timeout: int = 0) -> str:
        return self.send_content(queue, encode_content(body), visibility_timeout)

    def send_content(self, queue: str, content: str, visibility_timeout: int = 0) -> str:
        message_id = str(uuid.uuid4())
        self._queue(queue)[message_id] = _Stored(
            message_id, content, self.clock() + visibility_timeout, next(self._order)
        )
        return message_id

    def receive(
        self, queue: str, *, max_messages: int, visibility_timeout: int
    ) -> list[ReceivedMessage]:
        validate_receive_timeout(visibility_timeout)
        now = self.clock()
        visible = sorted(
            (m for m in self._queue(queue).values() if m.visible_at <= now),
            key=lambda m: m.order,
        )[: max(1, min(max_messages, MAX_MESSAGES_PER_RECEIVE))]
        received = []
        for stored in visible:
            stored.dequeue_count += 1
            stored.pop_receipt = uuid.uuid4().hex
            stored.visible_at = now + visibility_timeout
            received.append(
                ReceivedMessage(
                    queue=queue,
                    id=stored.id,
                    pop_receipt=stored.pop_receipt,
                    dequeue_count=stored.dequeue_count,
                    content=stored.content,
                )
            )
        return received

    def _leased(self, message: ReceivedMessage) -> _Stored:
        stored = self._queue(message.queue).get(message.id)
        if stored is None:
            raise LeaseLostError(f"message {message.id}: the message is gone")
        if stored.pop_receipt != message.pop_receipt:
            raise LeaseLostError(f"message {message.id}: the pop receipt is stale")
        return stored

    def delete(self, message: ReceivedMessage) -> None:
        self._leased(message)
        del self.queues[message.queue][message.id]

    def release(self, message: ReceivedMessage, *, visibility_timeout: int) -> None:
        stored = self._leased(message)
        stored.visible_at = self.clock() + visibility_timeout
        stored.pop_receipt = uuid.uuid4().hex

    def move(self, message: ReceivedMessage, target_queue: str) -> str:
        self.ensure_queue(target_queue)
        moved = self.send_content(target_queue, message.content)
        self.delete(message)
        return moved

    def approximate_count(self, queue: str) -> int:
        return len(self._queue(queue))


@dataclass
class FakeDocuments:
    """:class:`prism.storage.DocumentContainer` in memory: ids are unique per
    partition, ``create`` refuses an existing id (None, as the adapter's 409), ``read``
    of a missing id is None, and :meth:`page` filters, orders by (field, id) descending
    and resumes after a keyset as the SQL the adapter sends does. Contract-tested
    against the Cosmos DB emulator in ``tests/integration/test_documents_contract.py``."""

    partition_key_field: str = "id"
    documents: dict[tuple[str, object], dict[str, object]] = field(default_factory=dict)
    # The adapter's names of its database and container (reports name the container).
    database: str = "prism"
    container: str = "results"

    def _key(self, document: Mapping[str, object]) -> tuple[str, object]:
        return str(document["id"]), document[self.partition_key_field]

    def upsert(self, document: Mapping[str, object]) -> dict[str, object]:
        self.documents[self._key(document)] = dict(document)
        return dict(document)

    def create(self, document: Mapping[str, object]) -> dict[str, object] | None:
        key = self._key(document)
        if key in self.documents:
            return None
        self.documents[key] = dict(document)
        return dict(document)

    def read(self, document_id: str, partition_value: object) -> dict[str, object] | None:
        found = self.documents.get((document_id, partition_value))
        return None if found is None else dict(found)

    def page(
        self,
        conditions: Sequence[Where] = (),
        *,
        order_by: str,
        limit: int,
        after: Keyset | None = None,
    ) -> list[dict[str, object]]:
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000: {limit}")
        rows = []
        for document in self.documents.values():
            order = _lookup(document, order_by)
            if not isinstance(order, str) or not all(_meets(document, c) for c in conditions):
                continue
            key = (order, str(document["id"]))
            if after is not None and key >= (after.value, after.id):
                continue
            rows.append((key, document))
        rows.sort(key=lambda row: row[0], reverse=True)
        return [dict(document) for _, document in rows[:limit]]

    def page_by_id(self, *, limit: int, after_id: str | None = None) -> list[dict[str, object]]:
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000: {limit}")
        rows = sorted(
            (
                (str(document["id"]), document)
                for document in self.documents.values()
                if after_id is None or str(document["id"]) > after_id
            ),
            key=lambda row: row[0],
        )
        return [dict(document) for _, document in rows[:limit]]


class RecordingDocuments(FakeDocuments):
    """Records every id a point read asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def read(self, document_id: str, partition_value: object) -> dict[str, object] | None:
        self.asked.append(document_id)
        return super().read(document_id, partition_value)


def _lookup(document: Mapping[str, object], path: str) -> Any:
    value: Any = document
    for segment in path.split("."):
        if not isinstance(value, Mapping) or segment not in value:
            return None
        value = value[segment]
    return value


def _kind(value: object) -> str:
    """Cosmos DB compares only values of one kind: booleans, numbers, strings."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _meets(document: Mapping[str, object], condition: Where) -> bool:
    value = _lookup(document, condition.path)
    if value is None or _kind(value) != _kind(condition.value):
        return False
    wanted: Any = condition.value
    if condition.op == "startswith":
        return bool(value.startswith(wanted))
    return bool(
        {
            "=": value == wanted,
            "<": value < wanted,
            "<=": value <= wanted,
            ">": value > wanted,
            ">=": value >= wanted,
        }[condition.op]
    )
