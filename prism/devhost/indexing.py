"""Index a Functions app the way the Python worker does: import it, call
``app.get_functions()`` once (a second call raises a duplicate-name error), and read
each function's bindings from its ``function.json`` representation."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    trigger: Binding
    outputs: tuple[Binding, ...]
    user_function: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    def annotation(self, parameter: str) -> str:
        """The parameter's annotation as written (a string under postponed evaluation)."""
        annotation = inspect.signature(self.user_function).parameters[parameter].annotation
        if annotation is inspect.Parameter.empty:
            return ""
        if isinstance(annotation, str):
            return annotation
        return f"{getattr(annotation, '__module__', '')}.{getattr(annotation, '__qualname__', '')}"


def _binding(data: Mapping[str, Any]) -> Binding:
    return Binding(
        name=str(data["name"]),
        type=str(data["type"]),
        direction=str(data.get("direction", "IN")).upper(),
        options={k: v for k, v in data.items() if k not in ("name", "type", "direction")},
    )


def describe(function: Any) -> FunctionSpec:
    """One indexed function (an ``azure.functions`` ``Function``) as the host sees it."""
    name = function.get_function_name()
    bindings = [_binding(b) for b in json.loads(function.get_function_json())["bindings"]]
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
    user_function = function.get_user_function()
    parameters = set(inspect.signature(user_function).parameters)
    expected = {b.name for b in bindings if b.name != "$return"}
    if parameters != expected:
        raise ConfigurationError(
            f"function {name}: parameters {sorted(parameters)} do not match its bindings "
            f"{sorted(expected)}"
        )
    return FunctionSpec(name, triggers[0], tuple(others), user_function)


# Indexed apps by reference: `get_functions()` raises on a second call for one app object.
_indexed: dict[str, list[FunctionSpec]] = {}


def load_app(reference: str, app_dir: Path | None = None) -> list[FunctionSpec]:
    """Import ``module`` or ``module:attribute`` (default attribute ``app``) and index it
    (once per process: later calls return the same functions)."""
    if reference not in _indexed:
        _indexed[reference] = _index(reference, app_dir)
    return _indexed[reference]


def _index(reference: str, app_dir: Path | None) -> list[FunctionSpec]:
    module_name, _, attribute = reference.partition(":")
    if app_dir is not None and str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    if app is None or not hasattr(app, "get_functions"):
        raise ConfigurationError(f"{reference}: no FunctionApp named {attribute or 'app'}")
    functions = [describe(function) for function in app.get_functions()]
    names = [spec.name for spec in functions]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{reference}: duplicate function names in {names}")
    return functions
