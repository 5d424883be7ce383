"""HTTP routing and authorisation as the Functions host does them: ``/<routePrefix>/
<route>`` with ``{param}`` segments, methods, and auth levels (``function`` and
``admin`` need a key in the ``x-functions-key`` header or the ``code`` query parameter;
``anonymous`` needs none)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prism.params import KEY_PARAMETER
from prism_local.devhost.indexing import FunctionSpec

_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::[^}]*)?\}")
KEY_HEADER = "x-functions-key"


@dataclass(frozen=True)
class Route:
    spec: FunctionSpec
    pattern: re.Pattern[str]
    methods: frozenset[str]  # empty: every method
    auth_level: str

    def allows(self, method: str) -> bool:
        return not self.methods or method.upper() in self.methods


def compile_route(prefix: str, route: str) -> re.Pattern[str]:
    """``v1/results/{id}`` under prefix ``api`` → a regex for ``/api/v1/results/<id>``;
    ``{*rest}`` takes the remainder, ``{id?}`` may be absent, ``{id:int}`` ignores the
    constraint."""
    regex = ""
    position = 0
    for match in _PARAMETER.finditer(route):
        regex += re.escape(route[position : match.start()])
        catch_all, name, optional = match.groups()
        regex += f"(?P<{name}>{'.*' if catch_all else '[^/]+'}){'?' if optional else ''}"
        position = match.end()
    regex += re.escape(route[position:])
    path = "/".join(part for part in (prefix.strip("/"), regex.strip("/")) if part)
    # The Functions host matches routes without regard to case.
    return re.compile(f"^/{path}/?$", re.IGNORECASE)


class Router:
    def __init__(self, functions: Sequence[FunctionSpec], route_prefix: str) -> None:
        self.routes = [
            Route(
                spec=spec,
                pattern=compile_route(route_prefix, str(spec.trigger.get("route") or spec.name)),
                methods=frozenset(m.upper() for m in spec.trigger.get("methods") or ()),
                auth_level=str(spec.trigger.get("authLevel", "FUNCTION")).lower(),
            )
            for spec in functions
            if spec.trigger.type == "httpTrigger"
        ]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | WrongMethod | None:
        """The route and its parameters; :class:`WrongMethod` with the methods the path
        takes if only the method is wrong; None if no route has the path."""
        allowed: set[str] = set()
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if not route.allows(method):
                allowed |= route.methods
                continue
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
        return WrongMethod(frozenset(allowed)) if allowed else None


@dataclass(frozen=True)
class WrongMethod:
    """A path some route has, asked with a method none of them takes."""

    allowed: frozenset[str]

    @property
    def allow_header(self) -> str:
        """RFC 9110 section 15.5.6: a 405 names the methods the target supports."""
        return ", ".join(sorted(self.allowed))


@dataclass(frozen=True)
class HostKeys:
    """The host's keys: a function key opens ``function`` routes; only the master key
    opens ``admin`` routes (and, as on Azure, ``function`` routes too)."""

    function: str | None
    master: str | None


def authorized(
    auth_level: str, headers: Mapping[str, str], query: Mapping[str, str], keys: HostKeys
) -> bool:
    if auth_level == "anonymous":
        return True
    accepted = [keys.master] if auth_level == "admin" else [keys.function, keys.master]
    given = next((v for k, v in headers.items() if k.lower() == KEY_HEADER), None)
    given = given or query.get(KEY_PARAMETER)
    if given is None:
        return False
    # No key configured: nothing but anonymous routes can be called.
    return any(key and hmac.compare_digest(given.encode(), key.encode()) for key in accepted)
