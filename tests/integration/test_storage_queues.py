from __future__ import annotations

import base64
import json

import pytest
from azure.storage.queue import QueueClient

from prism.storage import AzureMessageQueues, StorageConnection, json_body, message_queues

pytestmark = pytest.mark.integration


@pytest.fixture
def queues(storage_connection: StorageConnection) -> AzureMessageQueues:
    return message_queues(storage_connection)


def test_messages_are_stored_base64_encoded_as_the_functions_host_expects(
    queues: AzureMessageQueues, storage_connection_string: str, unique_name: str
) -> None:
    queues.ensure_queue(unique_name)
    queues.send(unique_name, json_body({"v": 1, "blob": "cat.jpg"}))

    raw = QueueClient.from_connection_string(storage_connection_string, unique_name)
    [stored] = raw.peek_messages()

    assert json.loads(base64.b64decode(stored.content)) == {"blob": "cat.jpg", "v": 1}


def test_approximate_count_counts_sent_messages(
    queues: AzureMessageQueues, unique_name: str
) -> None:
    queues.ensure_queue(unique_name)
    queues.ensure_queue(unique_name)  # creating twice is fine
    for n in range(3):
        queues.send(unique_name, json_body({"n": n}))
    assert queues.approximate_count(unique_name) == 3
