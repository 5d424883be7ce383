from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prism.errors import ConfigurationError
from prism_local.devhost.config import (
    BlobOptions,
    HostConfig,
    QueueOptions,
    load_local_settings,
    parse_timespan,
    resolve_settings,
)

PROJECT = Path(__file__).resolve().parents[3]


def test_defaults_are_the_functions_hosts() -> None:
    config = HostConfig.from_json({"version": "2.0"})

    assert config.route_prefix == "api"
    assert config.queues == QueueOptions(16, 8, 5, 0.0, 60.0)
    assert config.queues.max_concurrency == 24


def test_queue_options_and_route_prefix_are_read_from_extensions() -> None:
    config = HostConfig.from_json(
        {
            "version": "2.0",
            "extensions": {
                "queues": {"batchSize": 4, "maxDequeueCount": 2, "visibilityTimeout": "00:01:30"},
                "http": {"routePrefix": "/v/"},
            },
        }
    )

    assert config.queues.new_batch_threshold == 2  # half the batch unless given
    assert config.queues.max_dequeue_count == 2
    assert config.queues.visibility_timeout == 90.0
    assert config.route_prefix == "v"


def test_projects_host_json_parses_with_base64_queue_messages() -> None:
    data = json.loads((PROJECT / "host.json").read_text())

    config = HostConfig.from_json(data)

    assert data["extensions"]["queues"]["messageEncoding"] == "base64"
    assert data["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert config.queues.max_concurrency == 24


def test_blob_parallelism_defaults_to_eight_per_core_as_the_storage_extension_does() -> None:
    config = HostConfig.from_json({"version": "2.0"})

    assert config.blobs.max_degree_of_parallelism == 8 * (os.cpu_count() or 1)


def test_blob_parallelism_is_read_from_extensions_blobs() -> None:
    data = {"version": "2.0", "extensions": {"blobs": {"maxDegreeOfParallelism": 3}}}

    assert HostConfig.from_json(data).blobs == BlobOptions(max_degree_of_parallelism=3)
    with pytest.raises(ConfigurationError, match="maxDegreeOfParallelism"):
        HostConfig.from_json(
            {"version": "2.0", "extensions": {"blobs": {"maxDegreeOfParallelism": 0}}}
        )


def test_projects_host_json_sets_blob_parallelism_for_one_core_explicitly() -> None:
    # Explicit: the extension's default grows with the instance's cores (docs/local-stack.md).
    data = json.loads((PROJECT / "host.json").read_text())

    assert data["extensions"]["blobs"]["maxDegreeOfParallelism"] == 8
    assert HostConfig.from_file(PROJECT / "host.json").blobs.max_degree_of_parallelism == 8


@pytest.mark.parametrize(
    ("text", "seconds"), [("00:00:30", 30.0), ("1.02:00:00", 93600.0), ("00:00:00.5", 0.5)]
)
def test_timespans_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize(
    "data",
    [
        {"version": "1.0"},
        {"version": "2.0", "extensions": {"queues": {"batchSize": 64}}},
        {"version": "2.0", "extensions": {"queues": {"maxDequeueCount": 0}}},
        {"version": "2.0", "extensions": {"queues": {"visibilityTimeout": "soon"}}},
    ],
)
def test_invalid_host_json_is_a_configuration_error(data: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        HostConfig.from_json(data)


def test_setting_expressions_resolve_from_app_settings() -> None:
    environ = {"CONTAINER": "incoming"}
    assert resolve_settings("%CONTAINER%/{name}", environ) == "incoming/{name}"
    with pytest.raises(ConfigurationError, match="MISSING"):
        resolve_settings("%MISSING%", environ)


def test_local_settings_are_created_from_the_example_when_missing(tmp_path: Path) -> None:
    example = tmp_path / "local.settings.example.json"
    example.write_text(json.dumps({"Values": {"A": "1", "B": 2}}))
    settings = tmp_path / "local.settings.json"

    assert load_local_settings(settings, example) == {"A": "1", "B": "2"}
    assert settings.exists()


def test_a_setting_added_to_the_example_since_the_file_was_made_comes_from_the_example(
    tmp_path: Path,
) -> None:
    example = tmp_path / "local.settings.example.json"
    example.write_text(json.dumps({"Values": {"A": "1", "PRISM_DOCUMENT_QUEUE": "document-jobs"}}))
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {"A": "mine"}}))

    values = load_local_settings(settings, example)
    assert values == {"A": "mine", "PRISM_DOCUMENT_QUEUE": "document-jobs"}


def test_projects_example_settings_name_every_binding_setting_of_the_pipeline() -> None:
    values = load_local_settings(
        PROJECT / "local.settings.example.json", PROJECT / "local.settings.example.json"
    )

    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    for name in ("PRISM_STORAGE", "PRISM_COSMOS__accountEndpoint", "PRISM_COSMOS__key"):
        assert values[name]
