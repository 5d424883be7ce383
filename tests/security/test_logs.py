"""What the local host logs while it serves the real app: never a file's content, never
the function key, never a control character a client sent."""

from __future__ import annotations

import socket
import unicodedata
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from prism.names import safe_file_name
from tests.e2e.conftest import FUNCTION_KEY, PipelineUnderTest, ServedApp

pytestmark = pytest.mark.e2e
# Characters a log line must not carry: controls other than the line break that ends it,
# and the bidi/format characters that make a line read differently from what it holds.
FORBIDDEN_CATEGORIES = {"Cc", "Cf"}
HOSTILE_NAME = "\x1b[31mred\x1b[0m\r\n2026-01-01 00:00:00 prism INFO forged\u202egpj.exe"


def send_raw(base_url: str, request_line: bytes) -> bytes:
    """Send a request line as is: no client library lets a control character through."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80)) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(1024)


def forbidden_characters(text: str) -> list[str]:
    return sorted(
        {ch for ch in text if unicodedata.category(ch) in FORBIDDEN_CATEGORIES and ch != "\n"}
    )


def test_logs_hold_neither_file_contents_nor_the_function_key_nor_client_control_characters(
    pipeline: PipelineUnderTest, served_app: ServedApp, tmp_path: Path
) -> None:
    canary = f"PRISM-CANARY-{uuid.uuid4().hex}"
    secret_text = f"password={canary}\nAccountKey={canary}==\nThe meeting moved to Friday.\n"
    upload = tmp_path / "secrets.txt"
    upload.write_text(secret_text)
    (submission,) = pipeline.client.submit([upload])
    posted = served_app.request(
        "POST", f"/v1/infer?name={quote(HOSTILE_NAME)}", f"{canary} over HTTP".encode()
    )
    assert posted.status == 200, posted.body
    assert posted.body["source"]["name"] == safe_file_name(HOSTILE_NAME)
    by_query = served_app.request("GET", f"/v1/models?code={FUNCTION_KEY}", key=None)
    assert by_query.status == 200
    assert send_raw(served_app.base_url, b"GET /api/v1/health?\x1b[2J\x07x HTTP/1.1")
    assert pipeline.client.wait([submission], timeout=60), "the blob was not processed"

    log = (tmp_path / "devhost.log").read_text(encoding="utf-8", errors="replace")
    assert "infer" in log and submission.blob in log  # the log really covers the pass
    assert canary not in log
    assert FUNCTION_KEY not in log
    assert forbidden_characters(log) == []
