"""Checks of the API's own rules that schemathesis runs beside its built-in ones (loaded
with ``SCHEMATHESIS_HOOKS``; tests/security/test_api_contract.py).

Two built-in checks are replaced by stricter ones that know what no schema can say:

- ``not_a_server_error`` fails on every 5xx. The one 5xx the API answers by design is
  503 ``busy`` with ``Retry-After`` (every byte of the instance's memory for files is
  reserved: prism.budget); any other 5xx is a failure here too.
- ``positive_data_acceptance`` lets a schema-valid request be refused with any 5xx. Here
  a schema-valid request must be answered 2xx, or 404 (an id or name that names nothing
  stored), or with one of the verdicts the document declares that no schema can rule
  out: a continuation token of the right form that this API did not issue, and what the
  posted content itself is (``/v1/infer``: not of the modality asked for, corrupt...).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

# What a posted file's content may earn however well formed the request is.
CONTENT_VERDICTS = {413: {"too_large", "over_budget"}, 415: {"unsupported_type"},
                    422: {"empty", "corrupt", "decompression_bomb", "invalid_encoding",
                          "too_long", "encrypted"}}  # fmt: skip


def _error_code(response: Any) -> str | None:
    try:
        return str(json.loads(response.content)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _is_busy(response: Any) -> bool:
    return (
        response.status_code == 503
        and _error_code(response) == "busy"
        and response.headers.get("retry-after") is not None
    )


@schemathesis.check
def prism_no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's own check, but for 503 busy with Retry-After."""
    if _is_busy(response):
        return None
    return not_a_server_error(ctx, response, case)


@schemathesis.check
def prism_valid_requests_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's own check (which requests are schema-valid is its judgement), with
    no 5xx but busy among the acceptable answers, and the declared verdicts no schema can
    rule out."""
    status, code = response.status_code, _error_code(response)
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if status >= 500 and not _is_busy(response):
        # Its own check counts any 5xx as an answer to a valid request: here only busy is.
        if positive:
            raise AssertionError(f"a schema-valid request failed: {status} {code}")
        return None
    if status == 400 and code == "invalid_continuation" and "continuation" in (case.query or {}):
        return None
    if case.operation.path == "/v1/infer" and code in CONTENT_VERDICTS.get(status, ()):
        return None
    return positive_data_acceptance(ctx, response, case)
