"""The HTTP API's OpenAPI contract: it covers every route the app registers, and the app
served by the local host keeps it under schemathesis (valid and invalid requests)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prism.http_contract import KEY_HEADER
from prism.openapi import openapi_document
from prism.params import KEY_PARAMETER
from tests.e2e.conftest import FUNCTION_KEY, ServedApp

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = openapi_document()


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


# The fuzzer's budget: bounded and reproducible (a fixed seed, a fixed number of examples
# per operation; coverage sends each parameter's boundaries and every undeclared method).
FUZZ_SEED = 20261205
EXAMPLES_PER_OPERATION = 150
FUZZ_CHECKS = "all"
# Replaced by stricter ones of this project's own (tests/security/contract_checks.py).
REPLACED_CHECKS = "not_a_server_error,positive_data_acceptance"


@pytest.mark.e2e
def test_the_running_app_keeps_its_contract_under_an_openapi_fuzzer_with_every_check(
    served_app: ServedApp, tmp_path: Path
) -> None:
    served = served_app.request("GET", "/v1/openapi.json", key=None)
    assert served.status == 200 and served.body == json.loads(json.dumps(DOCUMENT))
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(served.body))
    fuzzer = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", str(schema),
         "--url", served_app.base_url, "--header", f"{KEY_HEADER}: {FUNCTION_KEY}",
         "--checks", FUZZ_CHECKS, "--exclude-checks", REPLACED_CHECKS,
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES_PER_OPERATION),
         "--seed", str(FUZZ_SEED), "--workers", "1", "--no-color", "--continue-on-failure",
         "--generation-database", "none"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=900,
        env=os.environ | {"SCHEMATHESIS_HOOKS": "tests.security.contract_checks",
                          "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    summary = fuzzer.stdout[fuzzer.stdout.find("SUMMARY") :]
    assert fuzzer.returncode == 0, fuzzer.stdout[-30_000:] + fuzzer.stderr[-4_000:]
    tested = re.search(r"Tested: (\d+)", summary)
    assert tested is not None and int(tested.group(1)) == len(DOCUMENT_LABELS), summary
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert cases is not None and cases.group(1) == cases.group(2), summary
    # The run's size, for the record (`pytest -s` shows it).
    print(f"fuzzer: {cases.group(1)} cases over {tested.group(1)} operations, all passed")


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
