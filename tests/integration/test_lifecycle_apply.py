"""`prism lifecycle apply` against Azurite: tiers set and blobs deleted as planned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from prism_tools.cli import main


@pytest.mark.integration
def test_apply_tiers_and_deletes_blobs_in_azurite(
    storage_connection_string: str,
    unique_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A private container, so the policy cannot touch other tests' blobs.
    policy = {
        "rules": [
            {
                "name": "tiering",
                "type": "Lifecycle",
                "definition": {
                    "filters": {
                        "blobTypes": ["blockBlob"],
                        "prefixMatch": [f"{unique_name}/big/"],
                    },
                    "actions": {
                        "baseBlob": {"tierToCool": {"daysAfterModificationGreaterThan": 30}}
                    },
                },
            },
            {
                "name": "expiry",
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blobTypes": ["blockBlob"], "prefixMatch": [f"{unique_name}/old/"]},
                    "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 60}}},
                },
            },
        ]
    }
    policy_path = tmp_path / "policy.json"
    policy_path.write_text(json.dumps(policy), encoding="utf-8")
    service = BlobServiceClient.from_connection_string(storage_connection_string)
    container = service.create_container(unique_name)
    for name in ("big/a.bin", "old/b.bin", "other/c.bin"):
        container.upload_blob(name, b"x" * 1024)
    args = ["lifecycle", "apply", "--policy", str(policy_path)]
    args += ["--connection-string", storage_connection_string]
    # Azurite stamps blobs with today's date, so "as of" a date 61 days ahead both rules fire.
    as_of = (datetime.now(UTC) + timedelta(days=61)).date().isoformat()

    assert main([*args, "--as-of", as_of, "--dry-run"]) == 0
    assert "would change 2 blob(s)" in capsys.readouterr().out
    assert container.get_blob_client("big/a.bin").get_blob_properties().blob_tier == "Hot"

    assert main([*args, "--as-of", as_of]) == 0

    output = capsys.readouterr().out
    assert f"Hot -> Cool      {unique_name}/big/a.bin" in output
    assert f"delete           {unique_name}/old/b.bin" in output
    assert container.get_blob_client("big/a.bin").get_blob_properties().blob_tier == "Cool"
    assert sorted(b.name for b in container.list_blobs()) == ["big/a.bin", "other/c.bin"]
