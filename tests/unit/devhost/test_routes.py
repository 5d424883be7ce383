from __future__ import annotations

import json

import azure.functions as func
import pytest

from prism_local.devhost.indexing import function_spec
from prism_local.devhost.routes import HostKeys, Router, WrongMethod, authorized, compile_route


@pytest.mark.parametrize(
    ("route", "path", "params"),
    [
        ("v1/results/{id}", "/api/v1/results/abc", {"id": "abc"}),
        ("v1/results/{id:int}", "/api/v1/results/7/", {"id": "7"}),
        ("files/{*rest}", "/api/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("v1/results/{id?}", "/api/v1/results/", {}),
    ],
)
def test_route_templates_match_paths_under_the_prefix(
    route: str, path: str, params: dict[str, str]
) -> None:
    found = compile_route("api", route).match(path)
    assert found is not None
    assert {k: v for k, v in found.groupdict().items() if v is not None} == params


@pytest.mark.parametrize("path", ["/v1/results/abc", "/api/v1/results/a/b", "/api/v1/resultsx"])
def test_route_templates_reject_other_paths(path: str) -> None:
    assert compile_route("api", "v1/results/{id}").match(path) is None


def test_empty_route_prefix_serves_from_the_root() -> None:
    assert compile_route("", "health").match("/health")


def router() -> Router:
    app = func.FunctionApp()

    @app.route(route="items/{item}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    def get_item(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    @app.route(auth_level=func.AuthLevel.ANONYMOUS)
    def ping(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    specs = [
        function_spec(str(f.get_function_name()), str(f.get_function_name()),
                      [json.dumps(b) for b in json.loads(f.get_function_json())["bindings"]])
        for f in app.get_functions()
    ]  # fmt: skip
    return Router(specs, "api")


def test_router_finds_the_function_its_parameters_and_auth_level() -> None:
    found = router().match("GET", "/api/items/9")
    assert isinstance(found, tuple)
    route, params = found
    assert (route.spec.name, params, route.auth_level) == ("get_item", {"item": "9"}, "function")


def test_router_defaults_the_route_to_the_function_name_and_allows_any_method() -> None:
    found = router().match("DELETE", "/api/ping")
    assert isinstance(found, tuple)
    assert found[0].spec.name == "ping"


def test_router_tells_a_wrong_method_from_an_unknown_path() -> None:
    assert router().match("POST", "/api/items/9") == WrongMethod(frozenset({"GET"}))
    assert router().match("GET", "/api/nothing") is None


@pytest.mark.parametrize(
    ("level", "headers", "query", "allowed"),
    [
        ("anonymous", {}, {}, True),
        ("function", {}, {}, False),
        ("function", {"X-Functions-Key": "k"}, {}, True),
        ("function", {}, {"code": "k"}, True),
        ("function", {"x-functions-key": "other"}, {}, False),
        ("function", {"x-functions-key": "m"}, {}, True),
        # A function key never opens an admin route; only the master key does.
        ("admin", {"x-functions-key": "k"}, {}, False),
        ("admin", {}, {"code": "k"}, False),
        ("admin", {"x-functions-key": "m"}, {}, True),
    ],
)
def test_auth_levels_need_their_key_except_anonymous(
    level: str, headers: dict[str, str], query: dict[str, str], allowed: bool
) -> None:
    assert authorized(level, headers, query, HostKeys(function="k", master="m")) is allowed


def test_without_a_configured_key_only_anonymous_routes_answer() -> None:
    no_keys = HostKeys(function=None, master=None)
    assert not authorized("function", {"x-functions-key": ""}, {"code": ""}, no_keys)
    assert not authorized("admin", {"x-functions-key": ""}, {}, no_keys)
    assert authorized("anonymous", {}, {}, no_keys)


def test_routes_match_without_regard_to_case_as_the_functions_host_does() -> None:
    found = router().match("GET", "/API/Items/9")
    assert found is not None and not isinstance(found, str)
