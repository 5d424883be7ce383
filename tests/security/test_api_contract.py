"""The HTTP API's OpenAPI contract: it covers every route the app registers, and the app
served by the local host keeps it under schemathesis (valid and invalid requests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prism.errors import ErrorCode
from prism.openapi import KEY_HEADER, KEY_PARAMETER, openapi_document
from tests.e2e.conftest import FUNCTION_KEY, ServedApp

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = openapi_document()
EXAMPLES_PER_OPERATION = 12
CODES = {code.value for code in ErrorCode}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


# The blueprints whose routes the contract documents: every HTTP route of the app (the
# API, the console and its JSON views, the contract itself).
DOCUMENTED_MODULES = ("functions.api", "functions.console", "functions.openapi")


DOCUMENT_LABELS = [f"{method} {path}" for method, path, _ in operations(DOCUMENT)]


def test_the_contract_documents_every_api_route_with_its_methods_and_auth() -> None:
    script = f"""
import json, function_app
print(json.dumps([f.get_trigger().get_dict_repr() for f in function_app.app.get_functions()
                  if f.get_user_function().__module__ in {DOCUMENTED_MODULES!r}], default=str))
"""
    indexed = json.loads(
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                       text=True, check=True).stdout
    )  # fmt: skip
    routes = {
        (method.upper(), "/" + trigger["route"], trigger["authLevel"] == "ANONYMOUS")
        for trigger in indexed
        if trigger["type"] == "httpTrigger"
        for method in trigger["methods"]
    }
    documented = {
        (method, path, operation.get("security") == [])
        for method, path, operation in operations(DOCUMENT)
    }
    assert documented == routes


def test_every_error_answer_of_the_contract_is_the_coded_error_body() -> None:
    for method, path, operation in operations(DOCUMENT):
        for status, response in operation["responses"].items():
            if int(status) < 400 or status == "401" or path == "/v1/health":
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def error_carries_its_code(ctx: object, response: Any, case: Any) -> bool | None:
    """Every error the API itself answers is ``{"error": {"code", "message"}}`` with a
    known code (401 is the host's, before the API runs)."""
    if response.status_code < 400 or response.status_code == 401:
        return None
    if case.operation.path == "/v1/health" and response.status_code == 503:
        return None  # a degraded health report, documented as such
    error = json.loads(response.content)["error"]
    assert error["code"] in CODES and error["message"], error
    return True


@pytest.mark.e2e
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_without_a_5xx_and_every_error_carries_its_code(
    served_app: ServedApp, mode: GenerationMode
) -> None:
    served = served_app.request("GET", "/v1/openapi.json", key=None)
    assert served.status == 200 and served.body == json.loads(json.dumps(DOCUMENT))
    # from_url would leave out the document's own operation; from_dict tests all of them.
    schema = schemathesis.openapi.from_dict(served.body)
    # Invalid requests need something to make invalid: a parameter or a body.
    with_inputs = {f"{method} {path}" for method, path, operation in operations(DOCUMENT)
                   if operation["parameters"] or "requestBody" in operation}  # fmt: skip
    expected = with_inputs if mode is GenerationMode.NEGATIVE else set(DOCUMENT_LABELS)
    tried = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.label not in expected:
            continue

        # Bounded and reproducible: a fixed number of examples, derandomized, no database.
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                  deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def keeps_the_contract(case: Any) -> None:
            response = case.call(base_url=served_app.base_url, headers={KEY_HEADER: FUNCTION_KEY})
            case.validate_response(
                response,
                checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                        response_schema_conformance],
                additional_checks=[error_carries_its_code],
            )  # fmt: skip

        keeps_the_contract()
        tried.add(operation.label)
    assert tried == expected


def concrete(path: str) -> str:
    return path.replace("{id}", "0" * 64)


@pytest.mark.e2e
def test_every_protected_operation_answers_401_without_the_key_and_runs_with_it(
    served_app: ServedApp,
) -> None:
    for method, path, operation in operations(DOCUMENT):
        body = b"key check" if method == "POST" else None
        unkeyed = served_app.request(method, concrete(path), body, key=None)
        if operation.get("security") == []:
            assert unkeyed.status != 401, path
            continue
        assert unkeyed.status == 401, path
        assert served_app.request(method, concrete(path), body, key="wrong").status == 401
        separator = "&" if "?" in path else "?"
        by_query = served_app.request(
            method, f"{concrete(path)}{separator}{KEY_PARAMETER}={FUNCTION_KEY}", body, key=None
        )
        assert by_query.status not in (401, 403), (path, by_query.body)
