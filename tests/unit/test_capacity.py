"""The capacity plan on figures simple enough to follow by hand: instances, RU/s,
storage, the preset, the limit that binds first, and the month's cost."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prism.errors import ConfigurationError
from prism_local.devhost.config import HostConfig
from prism_tools.capacity.plan import (
    BICEP_RESULTS_MAX_THROUGHPUT,
    INDEX_BYTES_PER_DOCUMENT,
    REJECTED_SHARE,
    autoscale_maximum,
    load_limits,
    parse_mix,
    plan,
    render_notes,
    serverless_max_ru_s,
)
from prism_tools.cost.model import Measured
from tests.unit.cost_inputs import PRICES, only, plan_inputs

MEASURED = Measured(
    cpu_s_batched=0.010, cpu_s_unbatched=0.012, fp32_extra_cpu_s=0.0, io_s=0.040,
    document_kb=1.0, storage_per_file_policy=0.0, storage_per_file_hot=0.0, entry_kb=0.4,
)  # fmt: skip
INPUTS = plan_inputs(MEASURED, PRICES)
TEXT_ONLY = only("text")
MONTH_S = 86_400 * 30.4167
# Each result write adds the results index's allowance (prism_tools/cost/cosmos_ru.json): five
# included paths × 0.5 RU, a composite index of two paths × 1 RU, a vector index 5 RU.
INDEX_RU = 5 * 0.5 + 2 * 1.0 + 5.0


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
    # done-check 1 RU + a 1 KB write 4.95 RU (the table, indexing off) + the index's 9.5
    assert got["cosmos"]["ru_per_file_mix"] == pytest.approx(5.95 + INDEX_RU)
    assert got["cosmos"]["peak_ru_s"] == pytest.approx(15_450)
    per_day = 8_640_000 * (1024 + INDEX_BYTES_PER_DOCUMENT) / 1e9
    assert got["cosmos"]["results_gb_per_day"] == pytest.approx(per_day)
    assert got["cosmos"]["results_gb_steady"] == pytest.approx(per_day * 365)


def test_a_small_volume_stays_serverless_and_a_large_one_needs_autoscale() -> None:
    small, large = figures(10_000), figures(8_640_000)
    assert small["cosmos"]["preset"] == "small"
    assert small["cosmos"]["autoscale_max_ru_s"] is None
    # A year at 8.6 M a day is ~3.9 TB: over serverless's 1 TB per container.
    assert large["cosmos"]["preset"] == "large"
    # The peak asks 15,450 × 1.2 → 19,000; the storage 3,860 GB × 10 RU/s → 39,000.
    assert large["cosmos"]["autoscale_max_by"]["by_peak"] == 19_000
    assert large["cosmos"]["autoscale_max_ru_s"] == 39_000
    assert "cosmos_serverless_container_gb" not in [c["limit"] for c in large["limits"]]


def test_the_autoscale_maximum_follows_the_highest_of_peak_floor_and_storage() -> None:
    # The figures: 9,440 RU/s at the peak, 7.5 TB of results after a year.
    assert autoscale_maximum(9_440, 7_500)["max_ru_s"] == 75_000
    assert autoscale_maximum(9_440, 100)["max_ru_s"] == 12_000  # the peak's × 1.2
    assert autoscale_maximum(10, 5)["max_ru_s"] == 1_000  # Cosmos DB's floor
    assert autoscale_maximum(10, 150.5)["max_ru_s"] == 2_000  # 1,505 up to a thousand


@pytest.mark.parametrize("files_per_day", [3_000_000, 8_640_000, 10_000_000, 50_000_000])
@pytest.mark.parametrize("ttl_days", [30, 365, 730])
def test_the_autoscale_maximum_is_never_below_cosmos_dbs_storage_minimum(
    files_per_day: int, ttl_days: int
) -> None:
    cosmos = figures(files_per_day, results_ttl_days=ttl_days)["cosmos"]
    if cosmos["preset"] != "large":
        return
    per_gb = load_limits()["cosmos_min_ru_s_per_gb_stored"].value
    assert cosmos["autoscale_max_ru_s"] >= per_gb * cosmos["results_gb_steady"]
    assert cosmos["autoscale_max_ru_s"] >= 1000
    assert cosmos["autoscale_max_ru_s"] >= cosmos["peak_ru_s"] * 1.2
    assert cosmos["autoscale_max_ru_s"] % 1000 == 0


def test_a_year_of_results_at_10_m_a_day_bills_a_tenth_of_its_storage_minimum() -> None:
    # 10 M × (1 KB + 200 B of index) = 12.24 GB a day, 4,468 GB a year: the maximum may
    # not be under 44,676 RU/s (45,000 set), and autoscale bills at least 4,500 RU/s every
    # hour — more than the hourly peak's 1.5 × 1,788 RU/s the files use on average.
    got = figures(10_000_000)
    cosmos = got["cosmos"]
    assert cosmos["results_gb_steady"] == pytest.approx(4_467.6)
    assert cosmos["autoscale_minimum_ru_s"] == pytest.approx(44_676)
    assert cosmos["autoscale_max_ru_s"] == 45_000
    # and the cache container (no shared cache here) bills its floor's 10 %: 100 RU/s
    assert got["monthly_cost"]["cosmos_throughput"] == pytest.approx(
        (4_500 + 100) / 100 * 24 * 30.4167 * 0.012
    )


def test_the_plan_says_when_the_bicep_default_maximum_is_below_the_minimum() -> None:
    large = figures(10_000_000)
    assert large["cosmos"]["bicep_results_max_ru_s"] == BICEP_RESULTS_MAX_THROUGHPUT
    assert large["cosmos"]["bicep_results_max_below_minimum"]
    notes = " ".join(large["notes"])
    assert "set resultsMaxThroughput=45000" in notes
    assert "the next `azd provision` with the default is refused" in notes
    # Serverless (small) needs no maximum: nothing to set, nothing flagged.
    small = figures(10_000)
    assert small["cosmos"]["autoscale_max_ru_s"] is None
    assert "resultsMaxThroughput" not in " ".join(small["notes"])
    # Lines for one volume name it; notes shared by several plans print once.
    both = render_notes([small, large])
    assert len(both) == len(set(both))
    assert any(note.startswith("At 10 M files/day: set resultsMaxThroughput") for note in both)


def test_the_plan_says_which_request_units_are_measured_and_which_allowances() -> None:
    got = figures(10_000)
    sources = got["cosmos"]["ru_sources"]
    assert sources["index_allowance_per_result_write"] == pytest.approx(INDEX_RU)
    assert sources["index_allowance_terms"] == {
        "included_paths": 5, "composite_paths": 2, "vector_indexes": 1,
    }  # fmt: skip
    assert sources["index_allowance_verified"] is False
    assert "measured with indexing off" in sources["table"]["what"]
    assert any("an allowance, not measured" in note for note in got["notes"])


def test_the_limit_with_the_highest_share_binds_first_and_shares_over_one_are_named() -> None:
    # 2,000 files/s, each ~4 events of ~1.2 KB on the topic: 8,019 events/s, 9.6 MB/s
    got = figures(8_640_000, peak_factor=20)
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
    # Event Grid: the upload published and delivered, 3 receipts and a rejected file's
    # quarantine copy published
    operations = 2 + 3 + REJECTED_SHARE
    assert got["event_grid"] == pytest.approx(operations * 8_640_000 * 30.4167 / 1e6 * 0.6)
    # the always-ready instance: 2 GB every second of the month
    assert got["always_ready"] == pytest.approx(2 * MONTH_S * 0.000004)


def test_event_grid_counts_every_blob_the_account_writes_and_bills_publish_and_delivery() -> None:
    # 1,000 files/s at the peak. With AzureWebJobsStorage in the inputs' account (the
    # Bicep's layout) the host's ~3 receipts a file publish BlobCreated on the same
    # system topic; the subscription's subject filter delivers only the upload's.
    shared = figures(8_640_000)["event_grid"]
    assert shared["published_per_file"] == pytest.approx(4 + REJECTED_SHARE)
    assert shared["delivered_per_file"] == 1
    assert shared["operations_per_file"] == pytest.approx(5 + REJECTED_SHARE)
    assert shared["peak_events_per_s"] == pytest.approx(1000 * (4 + REJECTED_SHARE))
    separate = plan(8_640_000, replace(INPUTS, separate_host_storage=True), mix=TEXT_ONLY)
    own = separate.figures["event_grid"]
    assert own["published_per_file"] == pytest.approx(1 + REJECTED_SHARE)
    assert own["operations_per_file"] == pytest.approx(2 + REJECTED_SHARE)


def test_event_grid_publishes_5_mb_s_per_topic_and_the_receipts_use_most_of_it() -> None:
    limits = load_limits()
    assert limits["event_grid_topic_mb_per_s"].value == 5
    assert limits["event_grid_topic_events_per_s"].value == 5000

    # 10 M a day at a 10× peak: 1,157 files/s. Four events of 1.2 KB each: 5.6 MB/s, over
    # the limit; the upload's alone: 1.4 MB/s.
    def mb_share(inputs: Any) -> float:
        checks = plan(10_000_000, inputs, mix=TEXT_ONLY).figures["limits"]
        return float(next(c["share"] for c in checks if c["limit"] == "event_grid_topic_mb_per_s"))

    assert mb_share(INPUTS) == pytest.approx(1157.4 * (4 + REJECTED_SHARE) * 1.2 / 5000, rel=1e-3)
    assert mb_share(INPUTS) > 1
    assert mb_share(replace(INPUTS, separate_host_storage=True)) < 0.3


def test_always_ready_instances_are_billed_all_month_without_a_free_grant() -> None:
    # The Bicep's default: one always-ready HTTP instance of 2,048 MB.
    assert figures(10_000)["monthly_cost"]["always_ready"] == pytest.approx(
        2 * MONTH_S * 0.000004
    )  # $21.02
    for instances, instance_mb in ((0, 2048), (2, 2048), (1, 4096)):
        inputs = replace(INPUTS, always_ready_instances=instances, instance_mb=instance_mb)
        got = plan(10_000, inputs, mix=TEXT_ONLY).figures["monthly_cost"]
        assert got["always_ready"] == pytest.approx(
            instances * instance_mb / 1024 * MONTH_S * 0.000004
        )


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


def test_a_price_table_without_the_always_ready_price_says_what_it_lacks() -> None:
    prices = {k: v for k, v in PRICES.items() if k != "flex_always_ready_baseline_per_gb_s"}
    with pytest.raises(ConfigurationError, match="flex_always_ready_baseline_per_gb_s"):
        plan(10_000, plan_inputs(MEASURED, prices), mix=TEXT_ONLY)
