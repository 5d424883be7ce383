"""The capacity plan on figures simple enough to follow by hand: instances, RU/s,
storage, the preset, the limit that binds first, and the month's cost."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prism.capacity import (
    INDEX_BYTES_PER_DOCUMENT,
    load_limits,
    parse_mix,
    plan,
    serverless_max_ru_s,
)
from prism.cost import Measured
from prism.devhost.config import HostConfig
from prism.errors import ConfigurationError
from tests.unit.cost_inputs import only, plan_inputs

PRICES = {
    "currency": "USD",
    "flex_on_demand_per_gb_s": 0.00002,
    "flex_per_million_executions": 0.4,
    "cosmos_serverless_per_million_ru": 0.25,
    "cosmos_autoscale_per_100_ru_s_hour": 0.012,
    "cosmos_storage_per_gb_month": 0.25,
    "event_grid_per_million_operations": 0.6,
}
MEASURED = Measured(
    cpu_s_batched=0.010, cpu_s_unbatched=0.012, fp32_extra_cpu_s=0.0, io_s=0.040,
    document_kb=1.0, storage_per_file_policy=0.0, storage_per_file_hot=0.0, entry_kb=0.4,
)  # fmt: skip
INPUTS = plan_inputs(MEASURED, PRICES)
TEXT_ONLY = only("text")


def figures(files_per_day: int, **options: Any) -> dict[str, Any]:
    return plan(files_per_day, INPUTS, mix=TEXT_ONLY, **options).to_dict()


def test_instances_follow_the_peak_rate_and_the_measured_seconds_per_file() -> None:
    # 8,640,000 a day = 100/s on average, 1,000/s at a 10× peak. An instance (1 core at
    # 80 %) serves 80 texts/s by CPU, 24 / 0.05 s = 480/s by concurrency: 80/s binds.
    got = figures(8_640_000)
    assert got["rate"]["peak_per_s"] == pytest.approx(1000)
    assert got["instances"]["per_function"]["infer_text"] == 13  # ceil(1000 / 80)
    assert got["instances"]["per_function"]["ingest"] == 1  # 1000 × 0.008 s / 16
    assert got["instances"]["per_function"]["infer_image"] == 0


def test_request_units_and_storage_follow_the_documents() -> None:
    got = figures(8_640_000)
    # done-check 1 RU + a 1 KB write 4.95 RU (no shared cache)
    assert got["cosmos"]["ru_per_file_mix"] == pytest.approx(5.95)
    assert got["cosmos"]["peak_ru_s"] == pytest.approx(5950)
    per_day = 8_640_000 * (1024 + INDEX_BYTES_PER_DOCUMENT) / 1e9
    assert got["cosmos"]["results_gb_per_day"] == pytest.approx(per_day)
    assert got["cosmos"]["results_gb_steady"] == pytest.approx(per_day * 365)


def test_a_small_volume_stays_serverless_and_a_large_one_needs_autoscale() -> None:
    small, large = figures(10_000), figures(8_640_000)
    assert small["cosmos"]["preset"] == "small"
    assert small["cosmos"]["autoscale_max_ru_s"] is None
    # A year at 8.6 M a day is ~3.9 TB: over serverless's 1 TB per container.
    assert large["cosmos"]["preset"] == "large"
    assert large["cosmos"]["autoscale_max_ru_s"] == 8000  # 5,950 × 1.2, up to a thousand
    assert "cosmos_serverless_container_gb" not in [c["limit"] for c in large["limits"]]


def test_the_limit_with_the_highest_share_binds_first_and_shares_over_one_are_named() -> None:
    got = figures(8_640_000, peak_factor=20)  # 2,000 events/s of ~1.2 KB: 2.4 MB/s
    shares = [check["share"] for check in got["limits"]]
    assert shares == sorted(shares, reverse=True)
    assert got["binds_first"] == "event_grid_topic_mb_per_s"
    assert "event_grid_topic_mb_per_s" in got["exceeded"]
    assert all(check["share"] > 1 for check in got["limits"]
               if check["limit"] in got["exceeded"])  # fmt: skip


def test_the_months_cost_adds_up_its_parts() -> None:
    got = figures(8_640_000)["monthly_cost"]
    parts = sum(v for k, v in got.items() if k != "total")
    assert got["total"] == pytest.approx(parts)
    # 2 executions a file, 30.4167 days, $0.40 a million
    assert got["executions"] == pytest.approx(2 * 8_640_000 * 30.4167 / 1e6 * 0.4)
    assert got["event_grid"] == pytest.approx(8_640_000 * 30.4167 / 1e6 * 0.6)


def test_a_serverless_container_reaches_more_ru_s_as_it_grows() -> None:
    assert serverless_max_ru_s(10) == 5000
    assert serverless_max_ru_s(250) == 5000
    assert serverless_max_ru_s(260) == 6000  # a sixth physical partition
    assert serverless_max_ru_s(603) == 13000
    assert serverless_max_ru_s(1000) == 20000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("image=0.5,text=0.4", "add up to 1"),
        ("hologram=1", "modality=share"),
        ("image", "modality=share"),
        ("image=half,text=0.5", "not a number"),
        ("image=1.5,text=-0.5", "from 0 to 1"),
        ("image=nan,text=1", "from 0 to 1"),
    ],
)
def test_a_mix_that_is_not_shares_of_the_modalities_is_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_mix(raw)


def test_a_mix_leaves_out_what_it_does_not_name() -> None:
    assert parse_mix("text=1") == TEXT_ONLY


def test_every_limit_names_its_source_and_the_day_it_was_read() -> None:
    limits = load_limits()
    assert len(limits) >= 12
    for limit in limits.values():
        assert limit.url.startswith("https://learn.microsoft.com/"), limit.name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", limit.recorded), limit.name
        assert limit.source and limit.what and isinstance(limit.verified, bool)


def test_every_limit_the_plan_checks_is_in_the_table() -> None:
    got = figures(10_000_000)
    assert {check["limit"] for check in got["limits"]} <= set(load_limits())


def host_json(path: Path, blobs: int, batch_size: int = 16, new_batch_threshold: int = 8) -> Path:
    queues = {"batchSize": batch_size, "newBatchThreshold": new_batch_threshold}
    extensions = {"blobs": {"maxDegreeOfParallelism": blobs}, "queues": queues}
    path.write_text(json.dumps({"version": "2.0", "extensions": extensions}))
    return path


def test_the_plan_takes_each_instances_concurrency_from_the_apps_host_json() -> None:
    project = HostConfig.from_file(Path(__file__).resolve().parents[2] / "host.json")
    assert INPUTS.host == project
    assert INPUTS.host.blobs.max_degree_of_parallelism == 8


def test_ingest_instances_follow_host_json_blob_parallelism(tmp_path: Path) -> None:
    # 1,000 files/s at the peak, 0.008 s of ingest each, maxDegreeOfParallelism at once.
    for parallelism, instances in ((8, 1), (2, 4), (1, 8)):
        host = HostConfig.from_file(host_json(tmp_path / "host.json", parallelism))
        got = plan(8_640_000, replace(INPUTS, host=host), mix=TEXT_ONLY).to_dict()
        assert got["instances"]["per_function"]["ingest"] == instances, parallelism


def test_inference_instances_follow_host_json_queue_concurrency(tmp_path: Path) -> None:
    # One invocation at a time: 1 / 0.05 s = 20 texts/s by concurrency, below 80 by CPU.
    host = HostConfig.from_file(host_json(tmp_path / "host.json", 8, 1, 0))
    got = plan(8_640_000, replace(INPUTS, host=host), mix=TEXT_ONLY).to_dict()
    assert got["instances"]["per_function"]["infer_text"] == 50  # ceil(1000 / 20)
