"""What the host puts into an ``InvocationRequest`` for each trigger, and carries out
from an ``InvocationResponse`` — the Functions host's half of the binding contract.

The worker runtime turns these messages into the objects a function receives
(``func.HttpRequest``, ``func.QueueMessage``, an SDK ``BlobClient``, ``func.TimerRequest``)
and its results back; nothing here builds a function's arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from prism_local.devhost.config import resolve_settings
from prism_local.devhost.indexing import Binding, FunctionSpec
from prism_local.functionrpc import messages

_BINDING_DATA = re.compile(r"\{([^{}]+)\}")
# What the Python worker's blob extension expects of an SDK-type blob binding's datum.
BLOB_MODEL_SOURCE = "AzureStorageBlobs"


@dataclass(frozen=True)
class Inputs:
    """An invocation's input bindings and trigger metadata, as FunctionRpc messages."""

    data: list[Any]
    trigger_metadata: dict[str, Any]


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


def _text(value: str) -> Any:
    return messages().TypedData(string=value)


def _json(value: Any) -> Any:
    return messages().TypedData(json=json.dumps(value))


def _parameter(name: str, data: Any) -> Any:
    return messages().ParameterBinding(name=name, data=data)


def _bytes_or_text(body: bytes) -> Any:
    """Text when the bytes are UTF-8 (as the host hands a queue message), else bytes."""
    protos = messages()
    try:
        return protos.TypedData(string=body.decode("utf-8"))
    except UnicodeDecodeError:
        return protos.TypedData(bytes=body)


def _time(moment: datetime | None) -> Any:
    return _text(moment.isoformat() if moment else "")


def queue_inputs(spec: FunctionSpec, message: ReceivedMessage, body: bytes) -> Inputs:
    return Inputs(
        [_parameter(spec.trigger.name, _bytes_or_text(body))],
        {
            "Id": _text(message.id),
            "DequeueCount": _json(message.dequeue_count),
            "InsertionTime": _time(message.inserted_on),
            "NextVisibleTime": _time(message.next_visible_on),
            "PopReceipt": _text(message.pop_receipt),
        },
    )


def blob_inputs(spec: FunctionSpec, store: AzureBlobStore, info: BlobInfo) -> Inputs:
    """An SDK-type binding gets a reference the worker resolves from the app settings
    (``ModelBindingData``); any other blob binding gets the content (this blocks: call
    it off the event loop)."""
    protos = messages()
    metadata = {
        "BlobTrigger": _text(f"{info.container}/{info.name}"),
        "Uri": _text(store.client(info.container, info.name).url),
        "Properties": _json(
            {"ETag": info.etag, "ContentType": info.content_type, "Length": info.size,
             "LastModified": info.last_modified.isoformat()}
        ),
        "Metadata": _json(dict(info.metadata)),
    }  # fmt: skip
    if spec.trigger.deferred:
        reference = {
            "Connection": spec.trigger.get("connection") or Env.WEBJOBS_STORAGE,
            "ContainerName": info.container,
            "BlobName": info.name,
        }
        data = protos.TypedData(
            model_binding_data=protos.ModelBindingData(
                version="1.0",
                source=BLOB_MODEL_SOURCE,
                content_type="application/json",
                content=json.dumps(reference).encode(),
            )
        )
    else:
        data = protos.TypedData(bytes=store.download(info.container, info.name, if_match=info.etag))
    return Inputs([_parameter(spec.trigger.name, data)], metadata)


def timer_inputs(
    spec: FunctionSpec, past_due: bool, last: datetime | None, next_: datetime | None
) -> Inputs:
    status = {
        "Last": last.isoformat() if last else None,
        "Next": next_.isoformat() if next_ else None,
        "LastUpdated": last.isoformat() if last else None,
    }
    return Inputs(
        [_parameter(spec.trigger.name, _json({"ScheduleStatus": status, "IsPastDue": past_due}))],
        {},
    )


@dataclass(frozen=True)
class HttpCall:
    """A request as the host routed it: what the worker builds ``func.HttpRequest`` from."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    route_params: Mapping[str, str]
    body: bytes


def http_inputs(spec: FunctionSpec, call: HttpCall) -> Inputs:
    protos = messages()
    request = protos.RpcHttp(
        method=call.method.upper(),
        url=call.url,
        headers=dict(call.headers),
        query=dict(call.query),
        params=dict(call.route_params),
        body=protos.TypedData(bytes=call.body),
    )
    return Inputs([_parameter(spec.trigger.name, protos.TypedData(http=request))], {})


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes


def typed_bytes(data: Any) -> bytes | None:
    """A ``TypedData``'s value as bytes (JSON and numbers as their text), None if empty."""
    kind = data.WhichOneof("data")
    if kind is None:
        return None
    if kind in ("bytes", "stream"):
        return bytes(getattr(data, kind))
    if kind in ("string", "json"):
        return str(getattr(data, kind)).encode()
    if kind in ("int", "double"):
        return str(getattr(data, kind)).encode()
    raise ConfigurationError(f"an output of kind {kind} cannot be written by the local host")


def _typed_items(data: Any) -> list[bytes]:
    """The messages one output holds: a collection gives one each."""
    kind = data.WhichOneof("data")
    if kind == "collection_string":
        return [item.encode() for item in data.collection_string.string]
    if kind == "collection_bytes":
        return [bytes(item) for item in data.collection_bytes.bytes]
    if kind == "json":
        value = json.loads(data.json)
        if isinstance(value, list):
            return [item.encode() if isinstance(item, str) else json.dumps(item).encode()
                    for item in value]  # fmt: skip
    single = typed_bytes(data)
    return [] if single is None else [single]


def http_result(response: Any) -> HttpResult | None:
    """The HTTP answer in an ``InvocationResponse`` (``$return``), or None."""
    if response.return_value.WhichOneof("data") != "http":
        return None
    http = response.return_value.http
    return HttpResult(
        status=int(http.status_code or 200),
        headers=dict(http.headers),
        body=typed_bytes(http.body) or b"",
    )


def write_outputs(
    spec: FunctionSpec,
    response: Any,
    binding_data: Mapping[str, str],
    connections: Connections,
) -> None:
    """Carry out the queue and blob output bindings the worker reported (the HTTP
    ``$return`` is the response)."""
    values = {binding.name: binding.data for binding in response.output_data}
    if response.HasField("return_value"):
        values["$return"] = response.return_value
    for binding in spec.outputs:
        value = values.get(binding.name)
        if value is None or binding.type == "http" or value.WhichOneof("data") is None:
            continue
        if binding.type == "queue":
            queue = _expand(str(binding.get("queueName")), connections.environ, binding_data)
            queues = connections.queues(binding.get("connection"))
            queues.ensure_queue(queue)
            for item in _typed_items(value):
                queues.send(queue, item)
        elif binding.type == "blob":
            path = _expand(str(binding.get("path")), connections.environ, binding_data)
            container, _, name = path.partition("/")
            blobs = connections.blobs(binding.get("connection"))
            blobs.ensure_container(container)
            blobs.upload(container, name, typed_bytes(value) or b"")


def _expand(expression: str, environ: Mapping[str, str], binding_data: Mapping[str, str]) -> str:
    resolved = resolve_settings(expression, environ)

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in binding_data:
            raise ConfigurationError(f"binding expression {expression!r}: no {{{key}}} here")
        return binding_data[key]

    return _BINDING_DATA.sub(value, resolved)
