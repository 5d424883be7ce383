"""Storage queues: a small interface and its Azure Storage adapter (Azurite locally).

Message encoding matches the Functions host's ``messageEncoding: base64`` (host.json):
the queue stores the base64 text of the message's bytes, and the host decodes it before
the function sees it. A producer that sends anything else gets its messages poisoned,
so every send here goes through :func:`encode_content`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from prism.errors import ErrorCode, PermanentError
from prism.names import POISON_SUFFIX
from prism.storage.errors import LeaseLostError, translated

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueServiceClient

# Where the Functions host (and the local host) report blobs whose trigger failed
# maxDequeueCount times.
BLOB_TRIGGER_POISON_QUEUE = "webjobs-blobtrigger-poison"
MAX_MESSAGES_PER_RECEIVE = 32  # the service's limit for one Get Messages call
# The service stores a message of at most 64 KiB; as base64 text that is 48 KiB of bytes.
MAX_MESSAGE_BYTES = 64 * 1024 * 3 // 4


def poison_queue_name(queue: str) -> str:
    """Where the Functions host moves a message after ``maxDequeueCount`` failures."""
    return f"{queue}{POISON_SUFFIX}"


def encode_content(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


def decode_content(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PermanentError(
            ErrorCode.INVALID_ENCODING, "queue message is not base64 (host.json messageEncoding)"
        ) from exc


def json_body(payload: Mapping[str, Any]) -> bytes:
    """The bytes of a JSON job message (compact, keys sorted: equal jobs, equal bytes)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def validate_receive_timeout(visibility_timeout: int) -> None:
    if visibility_timeout < 1:
        raise ValueError(f"a receive's visibility timeout must be >= 1 s: {visibility_timeout}")


@dataclass(frozen=True)
class ReceivedMessage:
    """A message leased by :meth:`MessageQueues.receive`; ``pop_receipt`` proves the lease."""

    queue: str
    id: str
    pop_receipt: str
    dequeue_count: int
    content: str  # as stored: base64 text
    inserted_on: datetime | None = None
    next_visible_on: datetime | None = None

    def body(self) -> bytes:
        return decode_content(self.content)

    def json(self) -> Any:
        try:
            return json.loads(self.body())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PermanentError(ErrorCode.BAD_REQUEST, f"message {self.id} is not JSON") from exc


class MessageQueues(Protocol):
    """What the pipeline and the local host need from a queue service.

    Semantics (Azure Storage queues): ``receive`` leases messages for
    ``visibility_timeout`` seconds (at least 1) and increments each one's ``dequeue_count``; a lease
    that expires makes the message visible again; ``delete`` and ``release`` need the
    current ``pop_receipt`` (a stale one, or a message that is gone →
    :class:`~prism.storage.errors.LeaseLostError`).
    """

    def ensure_queue(self, queue: str) -> None: ...

    def send(self, queue: str, body: bytes, *, visibility_timeout: int = 0) -> str: ...

    def receive(
        self, queue: str, *, max_messages: int, visibility_timeout: int
    ) -> list[ReceivedMessage]: ...

    def delete(self, message: ReceivedMessage) -> None: ...

    def release(self, message: ReceivedMessage, *, visibility_timeout: int) -> None: ...

    def move(self, message: ReceivedMessage, target_queue: str) -> str: ...

    def approximate_count(self, queue: str) -> int: ...


@contextmanager
def _lease(operation: str) -> Iterator[None]:
    """The service's two answers to a lease we no longer hold → :class:`LeaseLostError`."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise LeaseLostError(f"{operation}: the message is gone") from exc
    except HttpResponseError as exc:
        if getattr(exc, "error_code", None) != "PopReceiptMismatch":
            raise
        raise LeaseLostError(f"{operation}: the pop receipt is stale") from exc


class AzureMessageQueues:
    """:class:`MessageQueues` over ``azure-storage-queue``."""

    def __init__(self, service: QueueServiceClient) -> None:
        self.service = service

    def _queue(self, queue: str) -> QueueClient:
        # No SDK encode/decode policy: content is encoded here, and decoded per message
        # so one badly encoded message cannot fail a whole receive.
        return self.service.get_queue_client(queue)

    def ensure_queue(self, queue: str) -> None:
        # Exists already, or another worker won the race to create it: both fine.
        with translated(f"create queue {queue}"), suppress(ResourceExistsError):
            self._queue(queue).create_queue()

    def send(self, queue: str, body: bytes, *, visibility_timeout: int = 0) -> str:
        """Enqueue ``body`` (base64-encoded); returns the message id."""
        return self._send_content(queue, encode_content(body), visibility_timeout)

    def _send_content(self, queue: str, content: str, visibility_timeout: int = 0) -> str:
        with translated(f"send to queue {queue}"):
            sent = self._queue(queue).send_message(
                content, visibility_timeout=visibility_timeout or None
            )
        return str(sent.id)

    def receive(
        self, queue: str, *, max_messages: int, visibility_timeout: int
    ) -> list[ReceivedMessage]:
        validate_receive_timeout(visibility_timeout)
        count = max(1, min(max_messages, MAX_MESSAGES_PER_RECEIVE))
        with translated(f"receive from queue {queue}"):
            pages = self._queue(queue).receive_messages(
                messages_per_page=count, max_messages=count, visibility_timeout=visibility_timeout
            )
            return [
                ReceivedMessage(
                    queue=queue,
                    id=message.id,
                    pop_receipt=str(message.pop_receipt),
                    dequeue_count=int(message.dequeue_count or 0),
                    content=message.content,
                    inserted_on=message.inserted_on,
                    next_visible_on=message.next_visible_on,
                )
                for message in pages
            ]

    def delete(self, message: ReceivedMessage) -> None:
        operation = f"delete message {message.id} from queue {message.queue}"
        with translated(operation), _lease(operation):
            self._queue(message.queue).delete_message(message.id, message.pop_receipt)

    def release(self, message: ReceivedMessage, *, visibility_timeout: int) -> None:
        """End the lease early: visible again after ``visibility_timeout`` seconds (what
        the Functions host does after a failed invocation)."""
        operation = f"release message {message.id} on queue {message.queue}"
        with translated(operation), _lease(operation):
            self._queue(message.queue).update_message(
                message.id, message.pop_receipt, visibility_timeout=visibility_timeout
            )

    def move(self, message: ReceivedMessage, target_queue: str) -> str:
        """Copy the message, content unchanged, to ``target_queue``, then delete it here.

        Sent before deleting: a crash in between leaves a duplicate (at least once),
        never a loss. Returns the new message's id.
        """
        self.ensure_queue(target_queue)
        moved = self._send_content(target_queue, message.content)
        self.delete(message)
        return moved

    def approximate_count(self, queue: str) -> int:
        with translated(f"properties of queue {queue}"):
            return int(self._queue(queue).get_queue_properties().approximate_message_count or 0)
