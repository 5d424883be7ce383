from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic_core import ErrorDetails

from prism import jobs
from prism.jobs import (
    InvalidJobError,
    Job,
    unprocessable_envelope,
    unprocessable_reason,
)
from prism.results import blob_result_id
from prism.storage.queues import MAX_MESSAGE_BYTES
from tests.unit.stubs import job_fields


def valid() -> dict[str, Any]:
    return job_fields("image", "cat.png", "image/png")


def test_a_job_survives_its_own_round_trip() -> None:
    job = Job(**valid())
    assert Job.from_json(job.to_json()) == job


@pytest.mark.parametrize("body", [b"[1]", b"1", b'"x"', b"null", b"true", b"{", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_invalid_not_a_crash(body: bytes) -> None:
    with pytest.raises(InvalidJobError):
        Job.from_json(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("modality", "hologram"),
        ("route_ms", "abc"),
        ("route_ms", float("nan")),
        ("route_ms", -1),
        ("route_ms", True),
        ("enqueued_at", 5),
        ("enqueued_at", "yesterday"),
        ("enqueued_at", "2026-11-30T12:00:00"),  # no UTC offset: which 12:00?
        ("enqueued_at", 1_764_504_000),  # a number is not a written time
        ("modality", ["text"]),
        ("modality", {"text": 1}),
        ("route_ms", 1e308 * 10),
        ("route_ms", "1.5"),
        ("version", True),
        ("version", "1"),
        ("id", "a/b"),
        ("id", "0" * 65),
        ("blob", "x" * 40_000),
        ("blob", ""),
        ("blob", 7),
        ("size", -1),
        ("size", "10"),
        ("size", True),
        ("container", "UPPER"),
        ("container", "a"),
        ("etag", None),
        ("version", 2),
    ],
)
def test_a_field_of_the_wrong_kind_makes_the_job_invalid(field: str, value: object) -> None:
    raw = valid() | {field: value}
    with pytest.raises(InvalidJobError):
        Job.from_json(json.dumps(raw))


def test_a_route_time_too_large_for_a_float_makes_the_job_invalid() -> None:
    body = json.dumps(valid() | {"route_ms": 1}).replace(
        '"route_ms": 1', '"route_ms": 1' + "0" * 400
    )
    with pytest.raises(InvalidJobError, match="route_ms"):
        Job.from_json(body)


def test_every_reason_a_message_is_not_a_job_is_given_at_once() -> None:
    raw = valid() | {"size": -1, "modality": "hologram", "extra": 1}
    del raw["etag"]
    with pytest.raises(InvalidJobError) as refused:
        Job.from_json(json.dumps(raw))
    for reason in ("unknown fields 'extra'", "missing fields etag", "size:", "modality:"):
        assert reason in refused.value.message


def test_the_queue_wait_is_measured_from_the_aware_enqueue_time() -> None:
    job = Job.from_json(json.dumps(valid() | {"enqueued_at": "2026-11-30T13:00:00+01:00"}))
    assert job.queue_wait_ms(datetime(2026, 11, 30, 12, 0, 2, tzinfo=UTC)) == 2000.0
    assert job.queue_wait_ms(datetime(2026, 11, 30, 11, 0, tzinfo=UTC)) == 0.0


def test_unknown_and_missing_fields_make_the_job_invalid() -> None:
    with pytest.raises(InvalidJobError, match="unknown fields"):
        Job.from_json(json.dumps(valid() | {"extra": 1}))
    raw = valid()
    del raw["etag"]
    with pytest.raises(InvalidJobError, match="missing fields etag"):
        Job.from_json(json.dumps(raw))


def test_an_id_that_is_not_its_blob_versions_own_is_refused() -> None:
    # It would write (or skip) another input's result.
    other = blob_result_id("incoming", "dog.png", '"0x1"')
    with pytest.raises(InvalidJobError, match="id is not the one"):
        Job.from_json(json.dumps(valid() | {"id": other}))


def test_a_refused_message_is_kept_whole_and_marked_with_its_reason() -> None:
    error = InvalidJobError("unknown modality 'video'")
    envelope = unprocessable_envelope(b"\xff binary", error)
    assert unprocessable_reason(envelope) == error.message
    assert json.loads(envelope)["body"] == {"base64": "/yBiaW5hcnk="}
    assert json.loads(unprocessable_envelope(b'{"a":1}', error))["body"] == {"text": '{"a":1}'}


@pytest.mark.parametrize(
    "body",
    [b"A" * 60_000, b"\x01" * 20_000, b"\xff" * 100_000],  # JSON writes \x01 as \u0001
    ids=["long text", "text that escaping inflates", "long binary"],
)
def test_a_refused_message_too_large_to_keep_whole_keeps_its_start_within_a_queue_message(
    body: bytes,
) -> None:
    error = InvalidJobError("the body is not JSON")
    envelope = unprocessable_envelope(body, error)
    assert len(envelope) <= MAX_MESSAGE_BYTES
    assert unprocessable_reason(envelope) == error.message
    kept = json.loads(envelope)["body"]
    assert kept["truncated"] is True and kept["bytes"] == len(body)
    assert body.startswith(base64.b64decode(kept["base64"]))


@pytest.mark.parametrize("body", [b"{}", b"[]", b"not json", Job(**valid()).to_json()])
def test_only_a_marked_envelope_has_an_unprocessable_reason(body: bytes) -> None:
    assert unprocessable_reason(body) is None


def test_a_body_nested_too_deep_to_parse_is_invalid_and_has_no_reason() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InvalidJobError):
        Job.from_json(deep)
    assert unprocessable_reason(deep) is None


def refusal(body: str | bytes) -> str:
    with pytest.raises(InvalidJobError) as refused:
        Job.from_json(body)
    return refused.value.message.removeprefix("not a valid Prism job message: ")


def test_the_reasons_name_five_unknown_fields_every_missing_one_and_each_wrong_value() -> None:
    raw = valid() | {"size": -1} | {f"u{n}": 1 for n in range(6)}
    del raw["etag"], raw["media_type"]
    assert refusal(json.dumps(raw)).split("; ") == [
        "unknown fields 'u0', 'u1', 'u2', 'u3', 'u4'",
        "missing fields etag, media_type",
        "size: Input should be greater than or equal to 0, got -1",
    ]


def test_a_value_in_a_reason_is_shown_whole_up_to_40_characters_then_cut() -> None:
    forty, longer = "u" * 38, "v" * 39  # repr() adds two quotes: 40 and 41 characters
    assert refusal(json.dumps(valid() | {forty: 1})) == f"unknown fields '{forty}'"
    assert refusal(json.dumps(valid() | {longer: 1})) == f"unknown fields '{'v' * 36}..."


def test_a_body_that_is_not_an_object_or_not_json_says_which() -> None:
    assert refusal(b"[1]") == "the body is not a JSON object"
    assert refusal(b"{") == "the body is not JSON (EOF while parsing an object at line 1 column 1)"
    # Should the parser give no detail, the reason still reads as one.
    details = ErrorDetails(type="json_invalid", loc=(), msg="Invalid JSON", input="")
    assert jobs._reasons([details]) == "the body is not JSON (?)"


def test_a_rule_across_fields_reads_as_the_rule_alone() -> None:
    other = blob_result_id("incoming", "dog.png", '"0x1"')
    assert refusal(json.dumps(valid() | {"id": other})) == (
        "id is not the one its container, blob and etag derive"
    )


def test_an_envelope_is_the_marker_under_its_key_and_the_body_without_defaults() -> None:
    error = InvalidJobError("bad")
    envelope = json.loads(unprocessable_envelope(b"abc", error))
    assert envelope == {
        jobs.UNPROCESSABLE_KEY: {"code": "bad_request", "reason": error.message},
        "body": {"text": "abc"},
    }


def test_a_body_whose_envelope_fills_a_queue_message_exactly_is_kept_whole() -> None:
    error = InvalidJobError("the body is not JSON")
    overhead = len(unprocessable_envelope(b"", error))
    exact = b"A" * (MAX_MESSAGE_BYTES - overhead)
    assert len(unprocessable_envelope(exact, error)) == MAX_MESSAGE_BYTES
    assert json.loads(unprocessable_envelope(exact, error))["body"] == {"text": exact.decode()}
    over = json.loads(unprocessable_envelope(exact + b"A", error))["body"]
    assert over["truncated"] is True and over["bytes"] == len(exact) + 1
