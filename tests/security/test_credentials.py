"""Credentials: none in the repository but the emulators' published development keys, and
none in the Azure configuration, which connects by managed identity only.

tests/iac/test_secrets.py finds keys in their connection-string form; this also finds a
bare key (a storage or Cosmos DB key pasted on its own) and key-based constructs in the
deployment files.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.iac.test_secrets import WELL_KNOWN_DEV_KEYS, _tracked_files

ROOT = Path(__file__).resolve().parents[2]
# Storage account and Cosmos DB keys are 64 random bytes: 88 base64 characters. So is a
# SHA-512 digest, which lock files write as "sha512-<base64>" (integrity, not a secret).
BARE_KEY = re.compile(r"(?<![A-Za-z0-9+/])(?<!sha512-)[A-Za-z0-9+/]{86}==")
DEPLOYMENT = [ROOT / "azure.yaml", *sorted((ROOT / "bicep").rglob("*")),
              *sorted((ROOT / "scripts").rglob("*"))]  # fmt: skip
KEY_BASED = {
    "a listKeys()/listConnectionStrings()/listAccountSas() call": re.compile(
        r"\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\s*\(", re.IGNORECASE
    ),
    "a key-based connection string": re.compile(r"AccountKey=|SharedAccessKey=|AccountEndpoint="),
    "a Cosmos DB or storage key property": re.compile(
        r"\b(primary|secondary)(Master|ReadonlyMaster)?Key\b|\bkeys\[\d\]", re.IGNORECASE
    ),
    "an az command that reads or uses account keys": re.compile(
        r"\baz\s+(storage\s+account\s+keys|cosmosdb\s+keys)|--auth-mode\s+key|--account-key"
    ),
    "shared key or local auth turned on": re.compile(
        r"allowSharedKeyAccess:\s*true|disableLocalAuth:\s*false", re.IGNORECASE
    ),
}
# A connection setting with a plain value is a connection string; identity-based ones are
# split into __serviceUri/__accountEndpoint, __credential and __clientId.
CONNECTIONS = ("AzureWebJobsStorage", "PRISM_STORAGE", "PRISM_COSMOS")


def bare_keys(text: str) -> list[str]:
    cleaned = text
    for key in WELL_KNOWN_DEV_KEYS:
        cleaned = cleaned.replace(key, "")
    return BARE_KEY.findall(cleaned)


def key_based_constructs(name: str, text: str) -> list[str]:
    return [
        f"{name}:{number}: {what}"
        for number, line in enumerate(text.splitlines(), start=1)
        for what, pattern in KEY_BASED.items()
        if pattern.search(line)
    ]


def test_no_tracked_file_holds_a_bare_key_other_than_the_emulators() -> None:
    found = {}
    for path in _tracked_files():
        if path.is_file():
            try:
                keys = bare_keys(path.read_text("utf-8"))
            except UnicodeDecodeError:
                continue
            if keys:
                found[str(path.relative_to(ROOT))] = keys
    assert found == {}


def test_a_bare_key_is_found_and_the_emulator_keys_are_not() -> None:
    real_looking = "Zq9" * 28 + "xy=="
    assert bare_keys(f'"key": "{real_looking}"') == [real_looking]
    assert bare_keys(f'"key": "{WELL_KNOWN_DEV_KEYS[1]}"') == []
    assert bare_keys(f'"integrity": "sha512-{real_looking}"') == []


def test_the_azure_configuration_uses_no_key_anywhere() -> None:
    problems = []
    for path in DEPLOYMENT:
        if path.is_file():
            problems += key_based_constructs(str(path.relative_to(ROOT)), path.read_text("utf-8"))
    assert problems == []


def test_every_connection_of_the_app_is_identity_based() -> None:
    app = (ROOT / "bicep" / "modules" / "functionapp.bicep").read_text("utf-8")
    names = dict(re.findall(r"name:\s*'([^']+)'\s*\n\s*value:\s*(\S+)", app))
    for connection in CONNECTIONS:
        assert connection not in names, f"{connection} is set as a connection string"
        assert names.get(f"{connection}__credential") == "'managedidentity'", connection
        assert names.get(f"{connection}__clientId") == "identityClientId", connection


def test_key_based_constructs_are_reported() -> None:
    lines = {
        "storage.listKeys().keys[0].value": "listKeys",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=x": "connection string",
        "az storage account keys list -n prod": "az command",
        "  allowSharedKeyAccess: true": "shared key",
        "cosmos.listKeys().primaryMasterKey": "Cosmos DB",
    }
    for line, what in lines.items():
        assert key_based_constructs("main.bicep", line), what
