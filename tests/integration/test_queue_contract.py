"""One behaviour list, two implementations: Azurite (the real protocol) and the unit
tests' fake. A check that passes on one and fails on the other is a fake that lies.

Only zero or long visibility timeouts are used: nothing here waits on a clock.
"""

from __future__ import annotations

import pytest

from prism.storage import (
    LeaseLostError,
    MessageQueues,
    StorageConnection,
    json_body,
    message_queues,
    poison_queue_name,
)
from tests.fakes import FakeMessageQueues

LONG = 300  # seconds: a lease that cannot expire during a test


@pytest.fixture(params=[pytest.param("azurite", marks=pytest.mark.integration), "fake"])
def queues(request: pytest.FixtureRequest, unique_name: str) -> MessageQueues:
    implementation: MessageQueues
    if request.param == "azurite":
        connection: StorageConnection = request.getfixturevalue("storage_connection")
        implementation = message_queues(connection)
    else:
        implementation = FakeMessageQueues()
    implementation.ensure_queue(unique_name)
    return implementation


def test_received_message_carries_its_body_and_first_dequeue_count(
    queues: MessageQueues, unique_name: str
) -> None:
    queues.send(unique_name, json_body({"job": 1}))

    [message] = queues.receive(unique_name, max_messages=32, visibility_timeout=LONG)

    assert message.json() == {"job": 1}
    assert message.dequeue_count == 1


def test_leased_message_is_invisible_to_other_receivers(
    queues: MessageQueues, unique_name: str
) -> None:
    queues.send(unique_name, b"a")
    queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)

    assert queues.receive(unique_name, max_messages=32, visibility_timeout=LONG) == []
    assert queues.approximate_count(unique_name) == 1


def test_released_message_comes_back_with_a_higher_dequeue_count(
    queues: MessageQueues, unique_name: str
) -> None:
    queues.send(unique_name, b"a")
    [first] = queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)

    queues.release(first, visibility_timeout=0)
    [second] = queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)

    assert second.id == first.id
    assert second.dequeue_count == 2


def test_stale_pop_receipt_cannot_delete_or_release(
    queues: MessageQueues, unique_name: str
) -> None:
    queues.send(unique_name, b"a")
    [first] = queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)
    queues.release(first, visibility_timeout=0)
    queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)  # a new lease

    with pytest.raises(LeaseLostError):
        queues.delete(first)
    with pytest.raises(LeaseLostError):
        queues.release(first, visibility_timeout=0)


def test_deleted_message_is_gone(queues: MessageQueues, unique_name: str) -> None:
    queues.send(unique_name, b"a")
    [message] = queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)

    queues.delete(message)

    assert queues.approximate_count(unique_name) == 0
    with pytest.raises(LeaseLostError):
        queues.delete(message)


def test_move_to_poison_keeps_the_content_and_leaves_the_source_empty(
    queues: MessageQueues, unique_name: str
) -> None:
    queues.send(unique_name, json_body({"job": 7}))
    [message] = queues.receive(unique_name, max_messages=1, visibility_timeout=LONG)
    poison = poison_queue_name(unique_name)

    queues.move(message, poison)

    [poisoned] = queues.receive(poison, max_messages=32, visibility_timeout=LONG)
    assert poisoned.content == message.content
    assert poisoned.dequeue_count == 1
    assert queues.approximate_count(unique_name) == 0


def test_receive_honours_max_messages(queues: MessageQueues, unique_name: str) -> None:
    for n in range(5):
        queues.send(unique_name, json_body({"n": n}))

    batch = queues.receive(unique_name, max_messages=3, visibility_timeout=LONG)

    assert len(batch) == 3


def test_receive_needs_a_lease_of_at_least_one_second(
    queues: MessageQueues, unique_name: str
) -> None:
    with pytest.raises(ValueError, match="visibility"):
        queues.receive(unique_name, max_messages=1, visibility_timeout=0)
