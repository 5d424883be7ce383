"""The functions of an app as the worker indexed them: each ``RpcFunctionMetadata``'s
raw bindings (its ``function.json`` entries) read into a trigger and its outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prism.errors import ConfigurationError

TRIGGER_TYPES = frozenset({"blobTrigger", "queueTrigger", "httpTrigger", "timerTrigger"})
# Output bindings the local host carries out after the function returns.
OUTPUT_TYPES = frozenset({"queue", "blob", "http"})


@dataclass(frozen=True)
class Binding:
    name: str
    type: str
    direction: str
    options: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def deferred(self) -> bool:
        """An SDK-type binding: the worker gets a reference, not the content."""
        properties = self.options.get("properties") or {}
        return str(properties.get("SupportsDeferredBinding", "")).lower() == "true"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    function_id: str
    trigger: Binding
    outputs: tuple[Binding, ...]


def binding_from(data: Mapping[str, Any]) -> Binding:
    return Binding(
        name=str(data["name"]),
        type=str(data["type"]),
        direction=str(data.get("direction", "IN")).upper(),
        options={k: v for k, v in data.items() if k not in ("name", "type", "direction")},
    )


def function_spec(name: str, function_id: str, raw_bindings: list[str]) -> FunctionSpec:
    """One function from its raw bindings, refusing what the local host cannot carry
    out (it would silently do nothing)."""
    bindings = [binding_from(json.loads(raw)) for raw in raw_bindings]
    triggers = [b for b in bindings if b.type in TRIGGER_TYPES]
    if len(triggers) != 1:
        raise ConfigurationError(f"function {name}: expected one trigger, found {len(triggers)}")
    others = [b for b in bindings if b is not triggers[0]]
    unsupported = [b.type for b in others if b.direction != "OUT" or b.type not in OUTPUT_TYPES]
    if unsupported:
        raise ConfigurationError(
            f"function {name}: the local host does not support bindings {unsupported}; "
            "use the SDK clients from prism.storage instead"
        )
    return FunctionSpec(name, function_id, triggers[0], tuple(others))
