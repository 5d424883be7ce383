"""The OpenAPI 3 contract of every HTTP route the app serves: the API under ``/api/v1``
(functions/api.py) and the console (functions/console.py: its page, its files and the
JSON views only it uses).

Built from the same enums the code answers with (error codes, modalities, result
modalities, the list limit), so the document cannot drift from them. Served at
``GET /api/v1/openapi.json`` and checked against the running app by schemathesis
(tests/security/test_api_contract.py).
"""

from __future__ import annotations

from typing import Any

from prism.errors import ErrorCode
from prism.modality import Modality
from prism.queries import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    MAX_TOKEN_CHARS,
    STATUSES,
)
from prism.results import RESULT_MODALITIES, SCHEMA_VERSIONS
from prism.search import DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT
from prism.storage.blobs import MAX_BLOB_NAME_CHARS

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
    "SearchResults": {
        "type": "object",
        "description": "Stored results nearest in meaning to the query, best first: text "
        "by its embedding, audio by its transcript, images by their top labels, all through "
        "the int8 text model. `backend` says how they were ranked: `vector` (Cosmos DB "
        "VectorDistance over the vector index) or `scan` (an exact scan, the local emulator).",
        "required": ["query", "backend", "results", "count"],
        "properties": {
            "query": {"type": "string"},
            "backend": {"type": "string", "enum": ["vector", "scan"]},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "modality", "score", "matched", "created_at"],
                    "properties": {
                        "id": _ID,
                        "name": {"type": "string", "description": "blob name or HTTP name"},
                        "modality": {"type": "string", "enum": _MODALITIES},
                        "score": {
                            "type": "number",
                            "minimum": -1,
                            "maximum": 1,
                            "description": "cosine similarity to the query",
                        },
                        "matched": {
                            "type": "string",
                            "description": "the words compared with the query (a transcript, "
                            "labels), or `embedding` for a text file",
                        },
                        "created_at": {"type": "string"},
                    },
                },
            },
            "count": {"type": "integer", "minimum": 0, "maximum": MAX_SEARCH_LIMIT},
        },
    },
    "ResultList": {
        "type": "object",
        "description": "One page of results, newest first. `continuation` resumes the "
        "listing after this page (null on the last); with `latest=true`, `blob` says what "
        "was found for the blob's current version.",
        "required": ["results", "count", "continuation"],
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            "count": {"type": "integer", "minimum": 0, "maximum": MAX_LIST_LIMIT},
            "continuation": {"type": "string", "nullable": True, "maxLength": MAX_TOKEN_CHARS},
            "blob": {
                "type": "object",
                "required": ["name", "state", "id"],
                "properties": {
                    "name": {"type": "string"},
                    "state": {
                        "type": "string",
                        "enum": ["done", "pending", "gone"],
                        "description": "done: its current version has a result; pending: "
                        "it has none yet; gone: no longer in the incoming container (the "
                        "newest result of the name is returned)",
                    },
                    "id": _ID,
                },
            },
        },
    },
    "Upload": {
        "type": "object",
        "description": "The file is in the incoming container; its result will have `id`.",
        "required": ["id", "blob", "name", "size"],
        "properties": {
            "id": _ID,
            "blob": {"type": "string"},
            "name": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
        },
    },
    "Stats": {
        "type": "object",
        "description": "Counters of the newest `window` results of each modality, and the "
        "queue depths.",
        "required": ["window", "modalities", "queues"],
        "properties": {
            "window": {"type": "integer", "minimum": 1},
            "modalities": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["processed", "rejected", "cache_hits", "p50_ms", "p95_ms"],
                    "properties": {
                        "processed": {"type": "integer", "minimum": 0},
                        "rejected": {"type": "integer", "minimum": 0},
                        "cache_hits": {"type": "integer", "minimum": 0},
                        "p50_ms": {"type": "number", "nullable": True},
                        "p95_ms": {"type": "number", "nullable": True},
                    },
                },
            },
            "queues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["modality", "queue", "depth", "poison_queue", "poison_depth"],
                    "properties": {
                        "modality": {"type": "string"},
                        "queue": {"type": "string"},
                        "depth": {"type": "integer", "minimum": 0},
                        "poison_queue": {"type": "string"},
                        "poison_depth": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
    },
    "Lifecycle": {
        "type": "object",
        "description": "The lifecycle policy simulated over a year of the example workload "
        "beside keeping everything hot (prism lifecycle simulate).",
        "required": ["days", "currency", "series", "policy_file", "workload_file"],
        "properties": {
            "days": {"type": "integer", "minimum": 1},
            "currency": {"type": "string"},
            "savings_percent": {"type": "number"},
            "policy_file": {"type": "string"},
            "workload_file": {"type": "string"},
            "series": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["day", "gigabytes", "cumulative_cost", "baseline_cumulative_cost"],
                    "properties": {
                        "day": {"type": "integer", "minimum": 0},
                        "gigabytes": {"type": "object", "additionalProperties": {"type": "number"}},
                        "cumulative_cost": {"type": "number"},
                        "baseline_cumulative_cost": {"type": "number"},
                    },
                },
            },
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
    400: "a parameter is invalid (`bad_request`), or the continuation token is not one "
    "this API issued for these filters (`invalid_continuation`)",
    404: "no such result or file (`not_found`)",
    413: "the body is over the size cap (`too_large`), or processing it would take more "
    "memory than an instance has for files (`over_budget`): send a smaller file",
    415: "the content is of an unsupported type (`unsupported_type`)",
    422: "the input is empty, corrupt, a decompression bomb, not UTF-8 or too long",
    500: "an unexpected failure (`internal`), logged with the request",
    503: "a dependency (storage, Cosmos DB) is unavailable, or the instance's memory for "
    "files is all reserved (`busy`, with a `Retry-After` header in seconds): retry later",
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
    ok_status: int = 200,
    **extra: Any,
) -> JsonSchema:
    responses = {str(ok_status): ok} | {str(s): _json("Error", _ERRORS[s]) for s in (*errors, 500)}
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


def _content(description: str, *media_types: str) -> JsonSchema:
    return {
        "description": description,
        "content": {media: {"schema": {"type": "string"}} for media in media_types},
    }


_UTC_TIME = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|\+00:00))?$",
    "description": "a UTC date, or date and time: 2026-11-30, 2026-11-30T16:08:55Z",
}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_BLOB_NAME_CHARS}


def _list_parameters() -> list[JsonSchema]:
    """The filters, page size and continuation of ``GET /v1/results`` (prism/queries.py)."""
    return [
        _query("modality", {"type": "string", "enum": list(RESULT_MODALITIES)},
               "only this modality (unrouted: rejected before routing)"),
        _query("status", {"type": "string", "enum": list(STATUSES)}, "only ok or only rejected"),
        _query("error_code", {"type": "string", "enum": [c.value for c in ErrorCode]},
               "only rejections with this code"),
        _query("since", _UTC_TIME, "created at or after this time"),
        _query("until", _UTC_TIME, "created before this time"),
        _query("blob", _NAME, "only results of the blob with exactly this name"),
        _query("prefix", _NAME, "only results of blobs whose name starts with this (not with "
               "blob)"),
        _query("latest", {"type": "string", "enum": ["true", "false"]},
               "with blob and nothing else: the result of the blob's current version (404 if "
               "neither the blob nor any result of that name exists)"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT,
                         "default": DEFAULT_LIST_LIMIT}, "results per page"),
        _query("continuation", {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_CHARS,
                                "pattern": "^[A-Za-z0-9_-]+$"},
               "the `continuation` of the previous page, with the same filters; any other "
               "value is 400 invalid_continuation"),
    ]  # fmt: skip


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
                    "Results, newest first, a page at a time: filters, continuation tokens, "
                    "and a blob's latest result by its name",
                    _json("ResultList", "a page of results"),
                    (400, 404, 503),
                    parameters=_list_parameters(),
                )
            },
            "/v1/search": {
                "get": _operation(
                    "search",
                    "Stored results ranked by meaning across modalities",
                    _json("SearchResults", "the nearest results, best first"),
                    (400, 503),
                    parameters=[
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_QUERY_CHARS,
                            },
                            "description": "what to look for, in words",
                        },
                        _query(
                            "modality",
                            {"type": "string", "enum": _MODALITIES},
                            "only this modality",
                        ),
                        _query("since", _UTC_TIME, "created at or after this time"),
                        _query("until", _UTC_TIME, "created before this time"),
                        _query(
                            "limit",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_SEARCH_LIMIT,
                                "default": DEFAULT_SEARCH_LIMIT,
                            },
                            "hits to return",
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
            "/v1/files": {
                "post": _operation(
                    "uploadFile",
                    "Put a file into the incoming container (the console's uploads); the "
                    "pipeline routes it like any other",
                    _json("Upload", "stored; its result will have this id"),
                    (413, 503),
                    ok_status=202,
                    parameters=[
                        _query(
                            "name",
                            {"type": "string", "maxLength": 1024},
                            "the file's name (its last segment, made safe, is kept)",
                        ),
                    ],
                    requestBody={
                        "required": True,
                        "description": "the file's bytes",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                )
            },
            "/v1/stats": {
                "get": _operation(
                    "stats",
                    "Counters per modality over the newest results, and queue depths",
                    _json("Stats", "the counters"),
                    (503,),
                )
            },
            "/v1/lifecycle": {
                "get": _operation(
                    "lifecycle",
                    "The storage lifecycle policy's simulated year",
                    _json("Lifecycle", "the simulation"),
                    (),
                )
            },
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
