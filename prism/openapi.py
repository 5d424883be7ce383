"""The OpenAPI 3.1 document of every HTTP route the app serves: the API under ``/api/v1``
(functions/api.py) and the console (functions/console.py: its page, its files and the
JSON views only it uses).

Generated from the typed contract (:mod:`prism.http_contract`): each route's parameters
from the model the route parses its query with, each answer's schema from its model, so
the document cannot drift from what the routes accept and answer. Served at
``GET /api/v1/openapi.json`` and held to the running app by schemathesis
(tests/security/test_api_contract.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from prism.http_contract import (
    KEY_HEADER,
    Error,
    FileParameters,
    FileState,
    Health,
    InferParameters,
    Lifecycle,
    ListParameters,
    Models,
    Parameters,
    Result,
    ResultList,
    SearchParameters,
    SearchResults,
    Stats,
    Upload,
    UploadParameters,
)
from prism.params import KEY_PARAMETER

JsonSchema = dict[str, Any]
_ANSWERS: tuple[type[BaseModel], ...] = (
    Error, Result, ResultList, FileState, SearchResults, Upload, Stats, Lifecycle, Health,
    Models,
)  # fmt: skip

# What each error status of an operation means.
_ERRORS = {
    400: "a parameter is invalid (`bad_request`: the message names each one and what it "
    "takes), or the continuation token is not one this API issued for these filters "
    "(`invalid_continuation`)",
    404: "no such result or file (`not_found`)",
    413: "the body is over the size cap (`too_large`), or processing it would take more "
    "memory than an instance has for files (`over_budget`): send a smaller file",
    415: "the content is of an unsupported type (`unsupported_type`), or not of the "
    "modality asked for",
    422: "the input is empty, corrupt, a decompression bomb, encrypted, not UTF-8 or too "
    "long: the content, which no schema can describe, decides",
    500: "an unexpected failure (`internal`), logged with the request",
    503: "a dependency (storage, Cosmos DB) is unavailable, or the instance's memory for "
    "files is all reserved (`busy`, with a `Retry-After` header in seconds): retry later",
}
_UNAUTHORIZED = {
    "description": "no or wrong function key. Answered by the Functions host before the "
    "API runs, so its body is the host's (empty on Azure), not an Error document."
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "with `busy`: seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def _json(model: type[BaseModel], description: str) -> JsonSchema:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _ref(model)}}},
    }


def _ref(model: type[BaseModel]) -> str:
    return f"#/components/schemas/{model.__name__}"


def _error(status: int) -> JsonSchema:
    answer = _json(Error, _ERRORS[status])
    if status == 503:
        answer["headers"] = _RETRY_AFTER
    return answer


def _parameters(model: type[Parameters]) -> list[JsonSchema]:
    """A route's query parameters, from the model that parses them: a parameter that
    may be left out is one whose schema is "this, or nothing" (``anyOf`` with null)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, generated in schema["properties"].items():
        field = {k: v for k, v in generated.items() if k != "title"}
        description = field.pop("description", "")
        options = field.pop("anyOf", None)
        if options is not None:
            present = [option for option in options if option.get("type") != "null"]
            field = (present[0] if len(present) == 1 else {"anyOf": present}) | field
        if field.get("default") is None:
            field.pop("default", None)
        parameters.append(
            {"name": name, "in": "query", "required": name in required, "schema": field,
             "description": description}
        )  # fmt: skip
    return parameters


def _operation(
    operation_id: str,
    summary: str,
    ok: JsonSchema,
    errors: tuple[int, ...],
    *,
    parameters: list[JsonSchema] | None = None,
    anonymous: bool = False,
    ok_status: int = 200,
    **extra: Any,
) -> JsonSchema:
    responses = {str(ok_status): ok} | {str(s): _error(s) for s in (*errors, 500)}
    if not anonymous:
        responses["401"] = _UNAUTHORIZED
    operation: JsonSchema = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters or [],
        "responses": responses,
        **extra,
    }
    if anonymous:
        operation["security"] = []
    return operation


def _content(description: str, *media_types: str) -> JsonSchema:
    return {
        "description": description,
        "content": {media: {"schema": {"type": "string"}} for media in media_types},
    }


def _schemas() -> dict[str, JsonSchema]:
    """Every answer's schema, under its model's name, references resolved between them."""
    _, top = models_json_schema(
        [(model, "serialization") for model in _ANSWERS],
        ref_template="#/components/schemas/{model}",
    )
    return dict(top["$defs"])


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Prism API",
            "version": "1",
            "description": "Inference on images, audio, text, documents and video; results, "
            'files, search, health and models. Every error answers `{"error": {"code", '
            '"message"}}`.',
        },
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {
            **_inference_paths(),
            **_result_paths(),
            **_service_paths(),
            **_console_paths(),
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": KEY_PARAMETER},
            },
        },
    }


def _inference_paths() -> dict[str, Any]:
    """POST /v1/infer: the synchronous path."""
    return {
        "/v1/infer": {
            "post": _operation(
                "infer",
                "Infer on the posted file; the same content posted twice is one result",
                _json(Result, "the result (status ok)"),
                (400, 413, 415, 422, 503),
                parameters=_parameters(InferParameters),
                requestBody={
                    "required": True,
                    "description": "the file's bytes; the content decides what it is",
                    "content": _BINARY,
                },
            )
        },
    }


def _result_paths() -> dict[str, Any]:
    """Results by id and a page at a time, files by name, and search."""
    return {
        "/v1/results/{id}": {
            "get": _operation(
                "getResult",
                "One result by id",
                _json(Result, "the result"),
                (404, 503),
                parameters=[
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": Result.model_json_schema()["properties"]["id"],
                        "description": "a result id (sha256 hex)",
                    }
                ],
            )
        },
        "/v1/results": {
            "get": _operation(
                "listResults",
                "Results, newest first, a page at a time: filters and continuation tokens",
                _json(ResultList, "a page of results"),
                (400, 503),
                parameters=_parameters(ListParameters),
            )
        },
        "/v1/files": {
            "get": _operation(
                "getFile",
                "A file of the incoming container by its name: its state and the result "
                "of its current version",
                _json(FileState, "the file's state and result"),
                (400, 404, 503),
                parameters=_parameters(FileParameters),
            ),
            "post": _operation(
                "uploadFile",
                "Put a file into the incoming container (the console's uploads); the "
                "pipeline routes it like any other",
                _json(Upload, "stored; its result will have this id"),
                (400, 413, 503),
                ok_status=202,
                parameters=_parameters(UploadParameters),
                # No body is an empty file: it is stored, and its result is the
                # rejection `empty` (ingest judges content, not the upload).
                requestBody={
                    "required": False,
                    "description": "the file's bytes (none: an empty file)",
                    "content": _BINARY,
                },
            ),
        },
        "/v1/search": {
            "get": _operation(
                "search",
                "Stored results ranked by meaning across modalities",
                _json(SearchResults, "the nearest results, best first"),
                (400, 503),
                parameters=_parameters(SearchParameters),
            )
        },
    }


def _service_paths() -> dict[str, Any]:
    """What the service is made of: health, models, counters, the lifecycle, this document."""
    return {
        "/v1/health": {
            "get": _operation(
                "health",
                "Storage, queues, Cosmos DB and models",
                _json(Health, "every dependency is ok"),
                (),
                anonymous=True,
            )
            | {
                "responses": {
                    "200": _json(Health, "every dependency is ok"),
                    "503": _json(Health, "at least one dependency failed (degraded)"),
                    "500": _error(500),
                }
            }
        },
        "/v1/models": {
            "get": _operation(
                "listModels",
                "Every model with its size and quantization gate",
                _json(Models, "the models"),
                (503,),
            )
        },
        "/v1/stats": {
            "get": _operation(
                "stats",
                "Counters per modality over the newest results, and queue depths",
                _json(Stats, "the counters"),
                (503,),
            )
        },
        "/v1/lifecycle": {
            "get": _operation(
                "lifecycle",
                "The storage lifecycle policy's simulated year",
                _json(Lifecycle, "the simulation"),
                (),
            )
        },
        "/v1/openapi.json": {
            "get": _operation(
                "openapi",
                "This document",
                {
                    "description": "the OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                (),
                anonymous=True,
            )
        },
    }


def _console_paths() -> dict[str, Any]:
    """The console's page and files."""
    return {
        "/console": {
            "get": _operation(
                "console",
                "The console's page (its files and the API take the key from its address)",
                _content("the page", "text/html"),
                (),
            )
        },
        "/console/{name}": {
            "get": _operation(
                "consoleAsset",
                "One of the console's files (its script, styles, icon)",
                _content("the file", "text/css", "text/javascript", "image/svg+xml"),
                (404,),
                parameters=[
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
    }
