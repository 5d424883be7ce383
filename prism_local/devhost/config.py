"""What the local host reads besides the app: ``host.json`` and ``local.settings.json``,
and the ``%Setting%`` binding expressions that join the two."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prism.errors import ConfigurationError

_SETTING_EXPRESSION = re.compile(r"%([^%]+)%")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


def parse_timespan(value: str | int | float) -> float:
    """Seconds in a host.json TimeSpan: ``"hh:mm:ss"``, ``"d.hh:mm:ss"`` (or a number)."""
    if isinstance(value, int | float):
        return float(value)
    match = _TIMESPAN.match(value.strip())
    if match is None:
        raise ConfigurationError(f"host.json: {value!r} is not a TimeSpan like 00:00:30")
    days, hours, minutes, seconds = match.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


def resolve_settings(expression: str, environ: Mapping[str, str]) -> str:
    """Replace each ``%Name%`` with that app setting, as the Functions host does."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not environ.get(name):
            raise ConfigurationError(f"binding expression {expression!r}: app setting {name} unset")
        return environ[name]

    return _SETTING_EXPRESSION.sub(value, expression)


MESSAGE_ENCODINGS = ("base64", "none")


@dataclass(frozen=True)
class QueueOptions:
    """host.json ``extensions.queues``, with the Functions host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0  # seconds a failed message stays hidden before a retry
    max_polling_interval: float = 60.0
    # How the queue holds a message's bytes: base64 text, or the text itself ("none").
    message_encoding: str = "base64"

    @property
    def max_concurrency(self) -> int:
        """Invocations in flight per queue function: a new batch is fetched whenever no
        more than ``newBatchThreshold`` are running."""
        return self.batch_size + self.new_batch_threshold

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QueueOptions:
        batch_size = int(data.get("batchSize", cls.batch_size))
        if not 1 <= batch_size <= 32:
            raise ConfigurationError(f"host.json queues.batchSize must be 1..32: {batch_size}")
        options = cls(
            batch_size=batch_size,
            new_batch_threshold=int(data.get("newBatchThreshold", batch_size // 2)),
            max_dequeue_count=int(data.get("maxDequeueCount", cls.max_dequeue_count)),
            visibility_timeout=parse_timespan(data.get("visibilityTimeout", 0)),
            max_polling_interval=parse_timespan(
                data.get("maxPollingInterval", cls.max_polling_interval)
            ),
            message_encoding=str(data.get("messageEncoding", cls.message_encoding)).lower(),
        )
        if options.message_encoding not in MESSAGE_ENCODINGS:
            raise ConfigurationError(
                f"host.json queues.messageEncoding must be base64 or none: "
                f"{options.message_encoding!r}"
            )
        if options.max_dequeue_count < 1 or options.new_batch_threshold < 0:
            raise ConfigurationError(
                "host.json queues: maxDequeueCount >= 1, newBatchThreshold >= 0"
            )
        return options


@dataclass(frozen=True)
class BlobOptions:
    """host.json ``extensions.blobs`` (Storage extension 5.x)."""

    # Blob-triggered invocations in flight at once on one instance, across every blob
    # function of the app; unset, the extension allows 8 per core.
    max_degree_of_parallelism: int = field(default_factory=lambda: 8 * (os.cpu_count() or 1))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BlobOptions:
        if "maxDegreeOfParallelism" not in data:
            return cls()
        parallelism = int(data["maxDegreeOfParallelism"])
        if parallelism < 1:
            raise ConfigurationError(
                f"host.json blobs.maxDegreeOfParallelism must be at least 1: {parallelism}"
            )
        return cls(max_degree_of_parallelism=parallelism)


# Flex Consumption's default and maximum-free function timeout is 30 minutes.
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 30 * 60.0


@dataclass(frozen=True)
class HostConfig:
    queues: QueueOptions = field(default_factory=QueueOptions)
    blobs: BlobOptions = field(default_factory=BlobOptions)
    route_prefix: str = "api"
    # host.json functionTimeout; None: unbounded ("-1").
    function_timeout: float | None = DEFAULT_FUNCTION_TIMEOUT_SECONDS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostConfig:
        if str(data.get("version")) != "2.0":
            raise ConfigurationError('host.json must declare "version": "2.0"')
        extensions = data.get("extensions", {})
        timeout = data.get("functionTimeout")
        return cls(
            queues=QueueOptions.from_json(extensions.get("queues", {})),
            blobs=BlobOptions.from_json(extensions.get("blobs", {})),
            route_prefix=str(extensions.get("http", {}).get("routePrefix", "api")).strip("/"),
            function_timeout=(
                DEFAULT_FUNCTION_TIMEOUT_SECONDS
                if timeout is None
                else None
                if str(timeout).strip() == "-1"
                else parse_timespan(timeout)
            ),
        )

    @classmethod
    def from_file(cls, path: Path) -> HostConfig:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigurationError(
                f"{path} not found: the Functions app needs a host.json"
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}: not JSON: {exc}") from exc


def load_local_settings(path: Path, example: Path | None = None) -> dict[str, str]:
    """The ``Values`` of ``local.settings.json``, first created from ``example`` if
    missing (the real file is git-ignored: it may hold secrets). A setting the file
    lacks and the example has (one added since the file was made, such as a new
    modality's queue) comes from the example."""
    if not path.exists():
        if example is None or not example.exists():
            raise ConfigurationError(f"{path} not found (and no example to create it from)")
        shutil.copyfile(example, path)
    values = _values(path)
    if example is not None and example.exists() and example != path:
        values = _values(example) | values
    return values


def _values(path: Path) -> dict[str, str]:
    try:
        values = json.loads(path.read_text()).get("Values", {})
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not JSON: {exc}") from exc
    return {str(name): str(value) for name, value in values.items()}
