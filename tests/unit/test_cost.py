"""The cost model on figures computed by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from prism.errors import ConfigurationError
from prism_tools.cost.cosmos import RuTable, load_ru_table, results_indexing_policy
from prism_tools.cost.model import (
    MODALITIES,
    Measured,
    Scenario,
    cost_line,
    estimate,
    load_compute_prices,
    measured_from_bench,
    request_units,
)
from tests.unit.cost_inputs import write_bench_files

PRICES = {
    "flex_on_demand_per_gb_s": 0.00002,
    "flex_per_million_executions": 0.4,
    "cosmos_serverless_per_million_ru": 0.25,
}
# A table easy to compute by hand: reads 1 RU (2 at 2 KB), writes 5 RU (10 at 2 KB).
TABLE = RuTable(kb=(1, 2), read=(1, 2), write=(5, 10), source="", url="", recorded="")
MEASURED = Measured(
    cpu_s_batched=0.004,
    cpu_s_unbatched=0.005,
    fp32_extra_cpu_s=0.006,
    io_s=0.080,
    document_kb=2.0,
    storage_per_file_policy=0.00001,
    storage_per_file_hot=0.00003,
    entry_kb=0.4,
)


def line(scenario: Scenario, instance_mb: int = 2048) -> float:
    cost = cost_line(
        "image", scenario, measured=MEASURED, prices=PRICES, instance_mb=instance_mb,
        io_overlap=8, ru_table=TABLE,
    )  # fmt: skip
    return cost.total


def test_default_scenario_matches_the_hand_computed_figure() -> None:
    cost = cost_line(
        "image", Scenario("default"), measured=MEASURED, prices=PRICES, instance_mb=2048,
        io_overlap=8, ru_table=TABLE,
    )  # fmt: skip
    # 2 GB × (0.004 s / 1 core + 0.080 s / 8) = 0.028 GB-s per file
    assert cost.compute == pytest.approx(0.028 * 0.00002 * 1e6)  # $0.56
    assert cost.executions == pytest.approx(0.8)
    # done-check read 1 + 2 KB result 10 + entry lookup 1 + 0.4 KB entry written 5 = 17 RU
    assert cost.cosmos == pytest.approx(17 * 0.25)
    assert cost.storage == pytest.approx(10.0)
    assert cost.total == pytest.approx(0.56 + 0.8 + 4.25 + 10.0)


def test_a_modality_off_the_shared_cache_pays_neither_its_lookup_nor_its_entry() -> None:
    def ru(shared: bool, hits: float) -> float:
        return request_units(MEASURED, shared_cache=shared, cache_hit_rate=hits, table=TABLE)

    assert ru(shared=False, hits=0.0) == pytest.approx(1 + 10)
    assert ru(shared=True, hits=0.0) == pytest.approx(1 + 10 + 1 + 5)
    # A hit reads the 2 KB result document its entry names instead of writing an entry.
    assert ru(shared=True, hits=1.0) == pytest.approx(1 + 10 + 1 + 2)


def test_a_result_write_pays_the_results_index_allowance_and_an_entry_write_none() -> None:
    indexed = replace(TABLE, result_index_ru=3.0)

    def ru(table: RuTable, hits: float) -> float:
        return request_units(MEASURED, shared_cache=True, cache_hit_rate=hits, table=table)

    # The 2 KB result costs 10 + 3; the cache entry (its container indexes nothing) 5.
    assert ru(indexed, 0.0) == pytest.approx(1 + 13 + 1 + 5)
    assert ru(indexed, 0.0) - ru(TABLE, 0.0) == pytest.approx(3)
    assert ru(indexed, 1.0) - ru(TABLE, 1.0) == pytest.approx(3)  # reads pay nothing more


def test_the_shipped_allowance_counts_the_results_index_terms() -> None:
    # Microsoft's table was measured with indexing off; the results container indexes
    # five paths, a composite index of two and a vector index (as the Bicep deploys).
    table = load_ru_table()
    allowance = table.index_allowance
    assert allowance is not None and allowance.verified is False  # an allowance
    assert allowance.url.startswith("https://learn.microsoft.com/") and allowance.recorded
    terms = allowance.terms(results_indexing_policy())
    assert terms == {"included_paths": 5, "composite_paths": 2, "vector_indexes": 1}
    assert table.result_index_ru == pytest.approx(
        5 * allowance.per_included_path_ru
        + 2 * allowance.per_composite_path_ru
        + allowance.per_vector_index_ru
    )
    assert table.result_index_ru > 0
    # A policy with one path more costs one path's allowance more.
    wider = results_indexing_policy()
    wider = {**wider, "includedPaths": [*wider["includedPaths"], {"path": "/labels/?"}]}
    assert allowance.write_ru(wider) - table.result_index_ru == pytest.approx(
        allowance.per_included_path_ru
    )


def test_request_units_follow_the_published_table_between_its_sizes() -> None:
    table = load_ru_table()
    assert table.write_ru(0.3) == table.write_ru(1.0) == pytest.approx(4.95)  # the floor
    assert table.write_ru(1.5) == pytest.approx((4.95 + 6.29) / 2)
    assert table.read_ru(0) == pytest.approx(1.0)
    assert table.url.startswith("https://learn.microsoft.com/") and table.recorded
    with pytest.raises(ValueError, match="2048 KB"):
        table.write_ru(4096)


def test_each_saving_shows_against_its_alternative() -> None:
    default = Scenario("default")
    assert line(Scenario("fp32", int8=False)) > line(default)
    assert line(Scenario("no batching", batching=False)) > line(default)
    assert line(Scenario("hits", cache_hit_rate=0.5)) < line(default)
    assert line(Scenario("hot", lifecycle=False)) > line(default)


def test_a_bigger_instance_has_more_cores_for_the_same_cpu_time() -> None:
    small = cost_line("image", Scenario("d"), measured=MEASURED, prices=PRICES,
                      instance_mb=2048, io_overlap=8, ru_table=TABLE)  # fmt: skip
    big = cost_line("image", Scenario("d"), measured=MEASURED, prices=PRICES,
                    instance_mb=4096, io_overlap=8, ru_table=TABLE)  # fmt: skip
    # CPU part is the same GB-s (twice the memory, half the time); I/O part doubles.
    assert big.compute == pytest.approx(small.compute + 2 * 0.080 / 8 * 0.00002 * 1e6)


def test_impossible_settings_are_refused_with_their_reason() -> None:
    measured = {m: MEASURED for m in ("image", "audio", "text")}
    with pytest.raises(ConfigurationError, match="cache hit rate"):
        estimate(measured, PRICES, instance_mb=2048, io_overlap=8, cache_hit_rate=1.0)
    with pytest.raises(ConfigurationError, match="512, 2048 or 4096"):
        estimate(measured, PRICES, instance_mb=3000, io_overlap=8, cache_hit_rate=0.3)


def test_missing_benchmarks_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="make bench"):
        measured_from_bench(tmp_path, {})


def test_benchmark_files_become_per_file_cpu_seconds(tmp_path: Path) -> None:
    write_bench_files(
        tmp_path,
        batching_rows=[
            {"modality": m, "concurrency": 32, "on_items_per_s": on, "off_items_per_s": 200.0,
             "default": default}
            for m in ("image", "audio", "text")
            for on, default in ((300.0, False), (400.0, True))
        ],
        models_rows=[{"model": "image", "threads": 1, "batch": 1, "fp32_ms": 10.0,
                      "int8_ms": 4.0}],
        pipeline={"stage_mean_ms": {"route": 10, "download": 20, "write": 30},
                  "document_kb": {"image": 1.5}},
    )  # fmt: skip
    storage = {m: (1e-5, 3e-5) for m in MODALITIES}
    measured = measured_from_bench(tmp_path, storage)
    assert measured["image"].cpu_s_batched == pytest.approx(2 / 400)  # 2 cores measured
    assert measured["image"].cpu_s_unbatched == pytest.approx(2 / 200)
    assert measured["image"].fp32_extra_cpu_s == pytest.approx(0.006)
    assert measured["text"].fp32_extra_cpu_s == 0.0  # not measured → no extra
    assert measured["image"].io_s == pytest.approx(0.060)
    assert measured["image"].document_kb == pytest.approx(1.5)  # no documents.json: the run's
    # Documents and videos do not batch: the process's CPU seconds per file, as measured.
    video = measured["video"]
    assert video.cpu_s_batched == video.cpu_s_unbatched == pytest.approx(2.5)
    assert video.fp32_extra_cpu_s == pytest.approx(1.0) and video.document_kb == 9.0

    documents = {"per_modality": {"image": {"result_kb_after": 1.27, "entry_kb_after": 0.39}}}
    (tmp_path / "documents.json").write_text(json.dumps(documents))
    measured = measured_from_bench(tmp_path, storage)
    assert measured["image"].document_kb == pytest.approx(1.27)  # the stored size wins
    assert measured["image"].entry_kb == pytest.approx(0.39)


def test_the_shipped_price_table_is_dated_and_sourced() -> None:
    prices = load_compute_prices()
    assert prices["recorded"] and "Flex Consumption" in prices["source"]
    assert prices["flex_on_demand_per_gb_s"] > 0
    # Every figure beyond the three the table-wide source covers names its own source,
    # the day it was read, and whether Microsoft's own text was seen.
    covered = {"flex_on_demand_per_gb_s", "flex_per_million_executions",
               "cosmos_serverless_per_million_ru"}  # fmt: skip
    figures = {k for k, v in prices.items() if isinstance(v, int | float)}
    assert figures - covered == set(prices["sources"])
    for entry in prices["sources"].values():
        assert entry["source"] and entry["url"].startswith("https://")
        assert entry["recorded"] and isinstance(entry["verified"], bool)


def test_managed_services_bill_the_benchmarked_files_by_their_own_units() -> None:
    from prism_tools.cost.managed import managed_comparison, units_per_file

    prices = load_compute_prices()
    assert units_per_file("image", {}, prices) == 1
    assert units_per_file("audio", {"audio_seconds": 90.0}, prices) == pytest.approx(0.025)
    assert units_per_file("text", {"text_characters": 999.0}, prices) == 1
    assert units_per_file("text", {"text_characters": 1001.0}, prices) == 2  # rounded up
    prism = {"image": 2.0, "audio": 4.0, "text": 1.0}
    lines = managed_comparison(prism, {"audio_seconds": 7.2, "text_characters": 100.0}, prices)
    by_modality = {line.modality: line for line in lines}
    image = by_modality["image"]
    assert image.managed_per_million == pytest.approx(prices["managed_vision_per_1000_images"]
                                                      * 1000)  # fmt: skip
    assert image.ratio == pytest.approx(image.managed_per_million / 2.0)
    audio = by_modality["audio"]  # 7.2 s = 0.002 h a file
    assert audio.managed_per_million == pytest.approx(
        0.002 * prices["managed_speech_per_audio_hour"] * 1e6
    )
    assert all(line.verified == prices["sources"][key]["verified"]
               for line, key in zip(lines, ("managed_vision_per_1000_images",
                                            "managed_speech_per_audio_hour",
                                            "managed_language_per_1000_text_records"),
                                    strict=True))  # fmt: skip
