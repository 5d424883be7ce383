"""No keys or SAS tokens in any tracked file, except the emulators' published dev keys."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Published in Microsoft's docs for Azurite and the Cosmos DB emulator: not secrets.
WELL_KNOWN_DEV_KEYS = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
)
SECRET_PATTERNS = {
    "storage account key": re.compile(r"AccountKey=([A-Za-z0-9+/=]{20,})"),
    "SAS token signature": re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{20,}"),
    "shared access signature": re.compile(r"SharedAccessSignature=\S{20,}"),
    "Cosmos DB key": re.compile(r"AccountEndpoint=[^;]+;AccountKey=([A-Za-z0-9+/=]{20,})"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "instrumentation key": re.compile(r"InstrumentationKey=[0-9a-f-]{36}"),
}


def secret_problems(name: str, text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        cleaned = line
        for key in WELL_KNOWN_DEV_KEYS:
            cleaned = cleaned.replace(key, "")
        problems += [
            f"{name}:{number}: looks like a {what}"
            for what, pattern in SECRET_PATTERNS.items()
            if pattern.search(cleaned)
        ]
    return problems


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return [ROOT / name for name in listed.split("\0") if name]


def test_no_file_in_the_repository_holds_a_key_or_sas_token() -> None:
    problems = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        problems += secret_problems(str(path.relative_to(ROOT)), text)

    assert problems == []


def test_a_real_looking_account_key_is_reported() -> None:
    key = "A" * 86 + "=="
    line = f"DefaultEndpointsProtocol=https;AccountName=prod;Account{'Key'}={key}"

    assert secret_problems("settings.json", line) == [
        "settings.json:1: looks like a storage account key"
    ]


def test_a_sas_url_is_reported() -> None:
    url = "https://x.blob.core.windows.net/c/b?sv=2024-08-04&sp=r&sig=" + "a1B2" * 10

    assert secret_problems("notes.md", url) == ["notes.md:1: looks like a SAS token signature"]


def test_the_azurite_development_key_is_allowed() -> None:
    line = f"AccountName=devstoreaccount1;AccountKey={WELL_KNOWN_DEV_KEYS[0]}"

    assert secret_problems("conftest.py", line) == []
