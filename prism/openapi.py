"""The OpenAPI 3 contract of the HTTP API under ``/api/v1`` (see functions/api.py).

Built from the same enums the code answers with (error codes, modalities, result
modalities, the list limit), so the document cannot drift from them. Served at
``GET /api/v1/openapi.json`` and checked against the running app by schemathesis
(tests/security/test_api_contract.py).
"""

from __future__ import annotations

from typing import Any

from prism.errors import ErrorCode
from prism.modality import Modality
from prism.queries import MAX_LIST_LIMIT
from prism.results import RESULT_MODALITIES, SCHEMA_VERSIONS

JsonSchema = dict[str, Any]
KEY_HEADER = "x-functions-key"
KEY_PARAMETER = "code"

_ID = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "a result id (sha256 hex)"}
_MODALITIES = [m.value for m in Modality]

SCHEMAS: dict[str, JsonSchema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
                    "message": {"type": "string", "minLength": 1},
                },
            }
        },
    },
    "Result": {
        "type": "object",
        "description": "One result document per input (schema version 1, prism/results.py).",
        "required": ["id", "schema_version", "modality", "status", "source", "created_at"],
        "properties": {
            "id": _ID,
            "schema_version": {"type": "integer", "enum": list(SCHEMA_VERSIONS)},
            "modality": {"type": "string", "enum": list(RESULT_MODALITIES)},
            "status": {"type": "string", "enum": ["ok", "rejected"]},
            "source": {
                "type": "object",
                "required": ["kind", "name", "size"],
                "properties": {
                    "kind": {"type": "string", "enum": ["blob", "http"]},
                    "name": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                    "media_type": {"type": "string"},
                    "container": {"type": "string"},
                    "blob": {"type": "string"},
                    "etag": {"type": "string"},
                },
            },
            "content_sha256": {"type": "string", "nullable": True},
            "model": {"type": "object", "nullable": True},
            "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
            "cache": {"type": "string", "nullable": True},
            "result": {
                "type": "object",
                "nullable": True,
                "description": "the modality's result: labels (image), segments and "
                "loudness (audio), embedding and labels (text)",
            },
            "error": {
                "type": "object",
                "nullable": True,
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
                    "message": {"type": "string"},
                },
            },
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "ResultList": {
        "type": "object",
        "required": ["results", "count"],
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            "count": {"type": "integer", "minimum": 0, "maximum": MAX_LIST_LIMIT},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            # Anonymous: whether each dependency answers, nothing more (details are
            # `prism doctor`'s).
            "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    },
    "Models": {
        "type": "object",
        "required": ["models"],
        "properties": {
            "models": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "modality", "version", "built", "gate_passed"],
                    "properties": {
                        "name": {"type": "string"},
                        "role": {"type": "string"},
                        "modality": {"type": "string"},
                        "version": {"type": "string"},
                        "runtime_precision": {"type": "string"},
                        "built": {"type": "boolean"},
                        "gate_passed": {"type": "boolean"},
                    },
                },
            }
        },
    },
}

# Which error statuses each operation can answer, with what they mean.
_ERRORS = {
    400: "a parameter is invalid (`bad_request`)",
    404: "no such result (`not_found`)",
    413: "the body is over the size cap (`too_large`)",
    415: "the content is of an unsupported type (`unsupported_type`)",
    422: "the input is empty, corrupt, a decompression bomb, not UTF-8 or too long",
    500: "an unexpected failure (`internal`), logged with the request",
    503: "a dependency (storage, Cosmos DB) is unavailable: retry later",
}
_UNAUTHORIZED = {
    "description": "no or wrong function key. Answered by the Functions host before the "
    "API runs, so its body is the host's (empty on Azure), not an Error document."
}


def _json(schema: str, description: str) -> JsonSchema:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _operation(
    operation_id: str,
    summary: str,
    ok: JsonSchema,
    errors: tuple[int, ...],
    *,
    parameters: list[JsonSchema] | None = None,
    anonymous: bool = False,
    **extra: Any,
) -> JsonSchema:
    responses = {"200": ok} | {str(s): _json("Error", _ERRORS[s]) for s in (*errors, 500)}
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


def _query(name: str, schema: JsonSchema, description: str) -> JsonSchema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``/api/v1``."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Prism API",
            "version": "1",
            "description": "Synchronous inference on images, audio and text; results, health "
            'and models. Every error answers `{"error": {"code", "message"}}`.',
        },
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {
            "/v1/infer": {
                "post": _operation(
                    "infer",
                    "Infer on the posted file; the same content posted twice is one result",
                    _json("Result", "the result (status ok)"),
                    (400, 413, 415, 422, 503),
                    parameters=[
                        _query(
                            "name",
                            {"type": "string", "maxLength": 1024},
                            "the file's name: only its extension is used, as a hint",
                        ),
                        _query(
                            "modality",
                            {"type": "string", "enum": _MODALITIES},
                            "skip routing and use this modality",
                        ),
                    ],
                    requestBody={
                        "required": True,
                        "description": "the file's bytes; the content decides what it is",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                )
            },
            "/v1/results/{id}": {
                "get": _operation(
                    "getResult",
                    "One result by id",
                    _json("Result", "the result"),
                    (404, 503),
                    parameters=[{"name": "id", "in": "path", "required": True, "schema": _ID}],
                )
            },
            "/v1/results": {
                "get": _operation(
                    "listResults",
                    "The newest results, of one modality or all",
                    _json("ResultList", "the newest results first"),
                    (400, 503),
                    parameters=[
                        _query(
                            "modality",
                            {"type": "string", "enum": list(RESULT_MODALITIES)},
                            "only this modality (unrouted: rejected before routing)",
                        ),
                        _query(
                            "limit",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_LIST_LIMIT,
                                "default": 20,
                            },
                            "how many results",
                        ),
                    ],
                )
            },
            "/v1/health": {
                "get": _operation(
                    "health",
                    "Storage, queues, Cosmos DB and models",
                    _json("Health", "every dependency is ok"),
                    (),
                    anonymous=True,
                )
                | {"responses": _health_responses()}
            },
            "/v1/models": {
                "get": _operation(
                    "listModels",
                    "Every model with its size and quantization gate",
                    _json("Models", "the models"),
                    (503,),
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
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": KEY_PARAMETER},
            },
        },
    }


def _health_responses() -> JsonSchema:
    return {
        "200": _json("Health", "every dependency is ok"),
        "503": _json("Health", "at least one dependency failed (status degraded)"),
        "500": _json("Error", _ERRORS[500]),
    }
