from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prism.errors import ErrorCode, PermanentError
from prism.storage import ReceivedMessage, decode_content, encode_content, json_body


@given(st.binary())
def test_content_encoding_round_trips_any_bytes(body: bytes) -> None:
    assert decode_content(encode_content(body)) == body


def test_encoding_is_plain_base64_as_the_functions_host_decodes_it() -> None:
    assert encode_content(b'{"a":1}') == base64.b64encode(b'{"a":1}').decode()


def test_content_that_is_not_base64_is_an_invalid_encoding() -> None:
    with pytest.raises(PermanentError) as info:
        decode_content('{"a": 1}')
    assert info.value.code is ErrorCode.INVALID_ENCODING


def test_equal_jobs_encode_to_equal_bytes() -> None:
    assert (
        json_body({"b": 1, "a": [1, 2]})
        == json_body({"a": [1, 2], "b": 1})
        == (b'{"a":[1,2],"b":1}')
    )


def test_message_that_is_not_json_is_a_bad_request() -> None:
    message = ReceivedMessage("q", "id", "receipt", 1, encode_content(b"\xff"))
    with pytest.raises(PermanentError, match="not JSON"):
        message.json()
