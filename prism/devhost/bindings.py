"""Binding objects built the real way (``azure.functions`` types, or an SDK
``BlobClient`` for SDK-type blob bindings), and the output bindings the host carries
out after a function returns."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import azure.functions as func
from azure.functions.blob import InputStream
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from prism.devhost.config import resolve_settings
from prism.devhost.indexing import Binding, FunctionSpec
from prism.errors import ConfigurationError
from prism.settings import Env
from prism.storage import (
    AzureBlobStore,
    BlobInfo,
    MessageQueues,
    ReceivedMessage,
    StorageConnection,
    blob_store,
    message_queues,
)

T = TypeVar("T")
_BINDING_DATA = re.compile(r"\{([^{}]+)\}")


class OutValue(func.Out[T]):
    """The host's side of a ``func.Out[T]`` parameter (``func.Out`` is abstract)."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        self._value = val

    def get(self) -> T:
        return self._value  # type: ignore[return-value]  # unset outputs are None, as in Azure


class Connections:
    """A binding's ``connection`` setting → the storage adapters it names (the host's
    own ``AzureWebJobsStorage`` when a binding names none)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def _connection(self, name: str | None) -> StorageConnection:
        return StorageConnection.from_environ(self.environ, name=name or Env.WEBJOBS_STORAGE)

    def blobs(self, name: str | None) -> AzureBlobStore:
        return blob_store(self._connection(name))

    def queues(self, name: str | None) -> MessageQueues:
        return message_queues(self._connection(name))


def blob_path(binding: Binding, environ: Mapping[str, str]) -> tuple[str, str]:
    """(container, blob-name prefix) of a blob trigger's ``path``, e.g.
    ``%PRISM_INCOMING_CONTAINER%/{name}`` → ("incoming", "")."""
    path = resolve_settings(str(binding.get("path", "")), environ)
    container, _, pattern = path.partition("/")
    if not container:
        raise ConfigurationError(f"blob binding {binding.name}: no container in path {path!r}")
    return container, pattern.split("{", 1)[0]


def blob_argument(spec: FunctionSpec, store: AzureBlobStore, info: BlobInfo) -> Any:
    annotation = spec.annotation(spec.trigger.name)
    if "BlobClient" in annotation:  # SDK-type binding: the function reads what it needs
        return store.client(info.container, info.name)
    data = store.download(info.container, info.name, if_match=info.etag)
    if annotation.endswith("bytes"):
        return data
    if annotation.endswith("str"):
        return data.decode()
    return InputStream(
        data=data,
        name=f"{info.container}/{info.name}",
        uri=store.client(info.container, info.name).url,
        length=info.size,
        blob_properties={
            "ETag": info.etag,
            "ContentType": info.content_type,
            "Length": info.size,
            "LastModified": info.last_modified.isoformat(),
        },
        metadata=dict(info.metadata),
    )


def queue_argument(spec: FunctionSpec, message: ReceivedMessage, body: bytes) -> Any:
    annotation = spec.annotation(spec.trigger.name)
    if annotation.endswith("bytes"):
        return body
    if annotation.endswith("str"):
        return body.decode()
    # The library leaves this constructor unannotated.
    return QueueMessage(  # type: ignore[no-untyped-call]
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        pop_receipt=message.pop_receipt,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
    )


def timer_argument(past_due: bool, last: datetime | None, next_: datetime | None) -> Any:
    return TimerRequest(
        past_due=past_due,
        schedule_status={
            "Last": last.isoformat() if last else None,
            "Next": next_.isoformat() if next_ else None,
        },
    )


def output_parameters(spec: FunctionSpec) -> dict[str, OutValue[Any]]:
    return {b.name: OutValue() for b in spec.outputs if b.name != "$return"}


def _message_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


def write_outputs(
    spec: FunctionSpec,
    outputs: Mapping[str, OutValue[Any]],
    result: Any,
    binding_data: Mapping[str, str],
    connections: Connections,
) -> None:
    """Carry out the queue and blob output bindings (HTTP ``$return`` is the response)."""
    for binding in spec.outputs:
        value = result if binding.name == "$return" else outputs[binding.name].get()
        if value is None or binding.type == "http":
            continue
        if binding.type == "queue":
            queue = _expand(str(binding.get("queueName")), connections.environ, binding_data)
            queues = connections.queues(binding.get("connection"))
            queues.ensure_queue(queue)
            for item in value if isinstance(value, list) else [value]:
                queues.send(queue, _message_bytes(item))
        elif binding.type == "blob":
            path = _expand(str(binding.get("path")), connections.environ, binding_data)
            container, _, name = path.partition("/")
            blobs = connections.blobs(binding.get("connection"))
            blobs.ensure_container(container)
            blobs.upload(container, name, _message_bytes(value))


def _expand(expression: str, environ: Mapping[str, str], binding_data: Mapping[str, str]) -> str:
    resolved = resolve_settings(expression, environ)

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in binding_data:
            raise ConfigurationError(f"binding expression {expression!r}: no {{{key}}} here")
        return binding_data[key]

    return _BINDING_DATA.sub(value, resolved)
