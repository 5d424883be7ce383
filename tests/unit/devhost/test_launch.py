"""What the local host checks before it starts an app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prism.errors import ConfigurationError
from prism.settings import Env
from prism_local.devhost.launch import prepare_environment

ROOT = Path(__file__).resolve().parents[3]


def write_settings(folder: Path, values: dict[str, str]) -> Path:
    path = folder / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return path


def test_the_example_settings_start(tmp_path: Path) -> None:
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    environ: dict[str, str] = {}
    prepare_environment(write_settings(tmp_path, example), environ=environ)
    assert environ[Env.INCOMING_CONTAINER] == example[Env.INCOMING_CONTAINER]


def test_an_app_whose_settings_would_fail_every_job_is_not_started(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, {Env.TEXT_BATCH_SIZE: "0", Env.MAX_AUDIO_SECONDS: "nan"})
    with pytest.raises(ConfigurationError) as refused:
        prepare_environment(settings, environ={})
    assert Env.TEXT_BATCH_SIZE in refused.value.message
    assert Env.MAX_AUDIO_SECONDS in refused.value.message


def test_a_variable_already_set_is_checked_as_the_file_value_it_overrides(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, {Env.CACHE_ENTRIES: "100"})
    with pytest.raises(ConfigurationError, match=Env.CACHE_ENTRIES):
        prepare_environment(settings, environ={Env.CACHE_ENTRIES: "0"})
