"""The binding contract of the real function_app, as the Functions host indexes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def functions() -> dict[str, Any]:
    # get_functions() may be called once per app object: index in a fresh interpreter.
    script = """
import json, inspect, function_app
out = {}
for f in function_app.app.get_functions():
    out[f.get_function_name()] = {
        "trigger": f.get_trigger().get_dict_repr(),
        "bindings": [b.get_dict_repr() for b in f.get_bindings()],
        "parameters": list(inspect.signature(f.get_user_function()).parameters),
        "is_async": inspect.iscoroutinefunction(f.get_user_function()),
    }
print(json.dumps(out, default=str))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    indexed: dict[str, Any] = json.loads(completed.stdout)
    return indexed


def test_the_app_has_the_nineteen_functions_of_the_design(functions: dict[str, Any]) -> None:
    assert set(functions) == {
        "ingest", "infer_image", "infer_audio", "infer_text", "infer_document", "infer_video",
        "api_infer", "api_result", "api_results", "api_search", "api_health", "api_models",
        "api_openapi",
        "console_page", "console_asset", "api_files", "api_file_state", "api_stats",
        "api_lifecycle",
    }  # fmt: skip


def test_ingest_is_an_event_grid_blob_trigger_on_the_incoming_container(
    functions: dict[str, Any],
) -> None:
    trigger = functions["ingest"]["trigger"]
    assert trigger["type"] == "blobTrigger"
    assert trigger["source"] == "EventGrid"  # what Flex Consumption requires
    assert trigger["path"] == "%PRISM_INCOMING_CONTAINER%/{name}"
    assert trigger["connection"] == "PRISM_STORAGE"


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("infer_image", "%PRISM_IMAGE_QUEUE%"),
        ("infer_audio", "%PRISM_AUDIO_QUEUE%"),
        ("infer_text", "%PRISM_TEXT_QUEUE%"),
        ("infer_document", "%PRISM_DOCUMENT_QUEUE%"),
        ("infer_video", "%PRISM_VIDEO_QUEUE%"),
    ],
)
def test_each_modality_has_its_own_async_queue_function(
    functions: dict[str, Any], name: str, setting: str
) -> None:
    function = functions[name]
    assert function["trigger"]["type"] == "queueTrigger"
    assert function["trigger"]["queueName"] == setting
    assert function["trigger"]["connection"] == "PRISM_STORAGE"
    assert function["is_async"]  # so a micro-batcher can coalesce concurrent invocations


def test_http_routes_are_versioned_and_only_health_and_the_contract_are_anonymous(
    functions: dict[str, Any],
) -> None:
    routes = {
        name: (f["trigger"]["route"], f["trigger"]["authLevel"])
        for name, f in functions.items()
        if f["trigger"]["type"] == "httpTrigger"
    }
    assert routes == {
        "api_infer": ("v1/infer", "FUNCTION"),
        "api_result": ("v1/results/{id}", "FUNCTION"),
        "api_results": ("v1/results", "FUNCTION"),
        "api_search": ("v1/search", "FUNCTION"),
        "api_health": ("v1/health", "ANONYMOUS"),
        "api_models": ("v1/models", "FUNCTION"),
        "api_openapi": ("v1/openapi.json", "ANONYMOUS"),
        "api_files": ("v1/files", "FUNCTION"),
        "api_file_state": ("v1/files", "FUNCTION"),
        "api_stats": ("v1/stats", "FUNCTION"),
        "api_lifecycle": ("v1/lifecycle", "FUNCTION"),
        # The console page is not part of the versioned API; it needs the key too.
        "console_page": ("console", "FUNCTION"),
        "console_asset": ("console/{name}", "FUNCTION"),
    }


def test_parameter_names_match_binding_names(functions: dict[str, Any]) -> None:
    for name, function in functions.items():
        bound = {b["name"] for b in function["bindings"] if b["name"] != "$return"}
        assert set(function["parameters"]) == bound, name


def test_every_name_comes_from_a_setting_expression_not_a_literal(
    functions: dict[str, Any],
) -> None:
    for function in functions.values():
        trigger = function["trigger"]
        for key in ("path", "queueName"):
            if key in trigger:
                assert trigger[key].startswith("%PRISM_"), trigger[key]


def test_importing_the_app_reads_no_settings_loads_no_model_and_touches_no_network() -> None:
    script = """
import os, socket, sys
reads = []
class Watched(dict):
    def __getitem__(self, key):
        reads.append(key); return super().__getitem__(key)
    def get(self, key, default=None):
        reads.append(key); return super().get(key, default)
os.environ = Watched()  # an empty environment that records every read
def no_network(*args, **kwargs):
    raise AssertionError("network touched at import")
socket.socket.connect = no_network
import function_app
prism_reads = [k for k in reads if str(k).startswith(("PRISM_", "APPLICATIONINSIGHTS"))]
heavy = [m for m in ("numpy", "onnxruntime", "PIL", "librosa", "tokenizers", "azure.cosmos",
                     "prism.pipeline", "prism.inference.engine") if m in sys.modules]
print(prism_reads, heavy)
"""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[] []"


def test_the_functions_layer_is_thin_and_the_core_never_imports_it() -> None:
    for path in (ROOT / "prism").rglob("*.py"):
        if {"devhost", "functionrpc"} & set(path.parts):
            continue  # the local host and the worker process it starts: outside the core
        source = path.read_text(encoding="utf-8")
        assert "azure.functions" not in source, path
        assert "from functions" not in source and "import function_app" not in source, path
