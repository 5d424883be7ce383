"""``prism plan --simulate``: the day's curve, the engine's bookkeeping (every file that
arrives is served or still queued), the latency read off the cumulative curves, and the
behaviours a deployment decision rests on — a burst queues files, a slower instance needs
more of them, a cap is reported at the minute it binds, a throttled Cosmos DB delays
work — on figures simple enough to follow by hand. Also the comparison with `make load`
(on a small synthetic measured file) and the command line."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import prism_tools.commands.plan
from prism.errors import ConfigurationError
from prism_tools.capacity.simulate import (
    MINUTES_PER_DAY,
    Platform,
    Shape,
    Stage,
    arrivals_per_minute,
    compare_with_load,
    latencies,
    local_stage,
    parse_spec,
    per_minute_from_first,
    predict_backlog,
    run,
    simulate,
    startup_from_bench,
    weighted_quantiles,
)
from prism_tools.cli import main
from prism_tools.cost.model import Measured
from tests.unit.cost_inputs import PRICES, only, plan_inputs

# 10 ms of CPU and 40 ms of I/O a file: a 1-core instance serves 100 files/s.
MEASURED = Measured(
    cpu_s_batched=0.010, cpu_s_unbatched=0.010, fp32_extra_cpu_s=0.0, io_s=0.040,
    document_kb=1.0, storage_per_file_policy=0.0, storage_per_file_hot=0.0, entry_kb=0.4,
)  # fmt: skip
INPUTS = plan_inputs(MEASURED, PRICES)
TEXT = only("text")
# Coarse steps keep each day to 3,000 steps; the model is the same at any step.
FAST = Platform(step=30.0, scale_every=30.0, warmup=30, after=30)


def day(files_per_day: int, **options: Any) -> dict[str, Any]:
    options.setdefault("mix", TEXT)
    options.setdefault("platform", FAST)
    return simulate(files_per_day, options.pop("inputs", INPUTS), **options).to_dict()


def test_the_curve_holds_the_days_files_and_the_burst_runs_at_its_factor() -> None:
    shape = Shape(swing=0.5, peak_hour=15, burst_at=600, burst_minutes=20, burst_factor=8)
    minutes = arrivals_per_minute(1_440_000, shape, peak_factor=10)
    assert len(minutes) == MINUTES_PER_DAY
    assert minutes.sum() == pytest.approx(1_440_000)
    assert minutes[600:620] == pytest.approx(8 * 1000)  # 8 × the average of 1,000 a minute
    quiet = np.delete(minutes, np.s_[600:620])
    assert quiet.argmax() // 60 == 14  # the wave peaks in the 15th hour (14:30)
    assert quiet.max() / quiet.min() == pytest.approx(1.5 / 0.5, rel=0.01)
    # No burst factor given: the plan's peak factor.
    assert arrivals_per_minute(1_440_000, Shape(), peak_factor=6)[11 * 60] == pytest.approx(6000)


def test_every_file_that_arrives_is_served_or_reported_still_queued() -> None:
    plenty = day(1_000_000)["conservation"]
    assert plenty["arrived"] == pytest.approx(plenty["finished"] + plenty["queued_at_end"])
    assert plenty["queued_at_end"] == pytest.approx(0, abs=1e-6)
    # One instance of 2 files/s for 1 M a day (11.6/s): most of the day stays queued.
    slow = replace(MEASURED, cpu_s_batched=0.5)
    starved = day(1_000_000, inputs=plan_inputs(slow, PRICES),
                  platform=replace(FAST, max_instances=2))  # fmt: skip
    held = starved["conservation"]
    assert held["queued_at_end"] > 500_000
    assert held["arrived"] == pytest.approx(held["finished"] + held["queued_at_end"])
    assert starved["day_files_unfinished_at_horizon"] > 0
    assert starved["latency_s"]["all"]["p99"] is None  # beyond the horizon: not a number


def test_the_latency_is_read_off_the_cumulative_curves() -> None:
    # 10 files a second for a minute; one instance serving 5 a second from 1 s on (its
    # start-up is a step), each file 1 / 5 s on it when busy. The file arriving at t
    # is the (10 t)-th, starts at 1 + 10 t / 5 and is done 0.2 s later: 1.2 + t after.
    stage = Stage("only", 1.0, rate_per_instance=5.0, service_s=0.1, concurrency=1,
                  target=1000, startup_s=0.0)  # fmt: skip
    arrivals = np.zeros(200)
    arrivals[:60] = 10
    trace = run(arrivals, [stage], Platform(step=1.0, scale_every=1.0), instance_cap=1)
    values, weights = latencies(trace, [stage], slice(0, 60))["only"]
    p50, p95, p99 = weighted_quantiles(values, weights)
    assert p50 == pytest.approx(1.2 + 30, abs=0.3)
    assert p95 == pytest.approx(1.2 + 57, abs=0.3)
    assert p99 == pytest.approx(1.2 + 59.4, abs=0.3)
    assert trace.served[:, 0].sum() == pytest.approx(600)


def test_a_burst_raises_queue_depth_and_latency() -> None:
    calm = day(2_000_000, shape=Shape(burst_factor=1.0))
    burst = day(2_000_000, shape=Shape(burst_factor=10.0))
    text = "infer_text"
    assert burst["queue_depth"][text]["peak"] > 5 * calm["queue_depth"][text]["peak"]
    assert burst["queue_depth"][text]["at"][:2] == "11"  # the burst is at 11:00
    assert burst["latency_s"]["all"]["p99"] > 2 * calm["latency_s"]["all"]["p99"]
    assert burst["instances"]["total"]["peak"] > calm["instances"]["total"]["peak"]


def test_a_lower_throughput_per_instance_needs_more_instances() -> None:
    fast = day(2_000_000)
    slow = day(2_000_000, inputs=plan_inputs(replace(MEASURED, cpu_s_batched=0.04), PRICES))
    name = "infer_text"
    assert slow["instances"][name]["peak"] > 2 * fast["instances"][name]["peak"]
    # 4× the CPU; the I/O wait (40 ms) is billed too while an instance executes.
    assert slow["cost"]["compute"] > 1.5 * fast["cost"]["compute"]


def test_the_instance_cap_is_reported_at_the_minute_it_binds_and_holds() -> None:
    # 100 files/s on average, 800/s in the burst from 10:00; a 1-core instance serves
    # 500/s (2 ms of CPU): one instance all day, hundreds wanted at 10:00.
    quick = replace(
        plan_inputs(replace(MEASURED, cpu_s_batched=0.002, io_s=0.0), PRICES), ingest_s=0.001
    )
    platform = replace(FAST, step=5.0, scale_every=10.0, max_instances=5, ru_s=1e9)
    shape = Shape(burst_at=600, burst_minutes=10, burst_factor=8)
    result = simulate(8_640_000, quick, mix=TEXT, shape=shape, platform=platform)
    figures = result.figures
    hit = next(h for h in figures["limits_hit"] if h["limit"] == "flex_max_instances_per_app")
    assert (hit["minute"], hit["at"]) == (600, "10:00")
    assert figures["first_limit"]["limit"] == "flex_max_instances_per_app"
    assert result.trace is not None
    assert result.trace.allocated.sum(axis=1).max() <= 5
    assert figures["instances"]["total"]["peak"] == 5


def test_a_throttled_cosmos_write_delays_work() -> None:
    # 1 M texts a day, each its done-check and result write (the plan's RU per file):
    # about 1,800 RU/s in the burst (116 files/s); 1,000 RU/s holds them back.
    free = day(1_000_000)
    per_file = free["cost"]["cosmos_ru"] / (free["cost"]["executions_count"] / 2)
    # At least the burst's own rate (more while the backlog of its first minute drains).
    assert max(free["series"]["cosmos_ru_s"]) > 0.95 * 116 * per_file
    throttled = day(1_000_000, platform=replace(FAST, ru_s=1000.0))
    assert "cosmos_results_ru_s" in [h["limit"] for h in throttled["limits_hit"]]
    assert max(throttled["series"]["cosmos_ru_s"]) <= 1000.0 + 1e-6
    assert throttled["latency_s"]["all"]["p95"] > 10 * free["latency_s"]["all"]["p95"]
    assert (
        throttled["queue_depth"]["infer_text"]["peak"] > free["queue_depth"]["infer_text"]["peak"]
    )


def test_ten_million_a_day_costs_the_same_steps_as_ten_thousand() -> None:
    # Queues are amounts, never files: the work is the number of steps, whatever the
    # volume. Timed against the same call at 10 K (best of two each: no absolute bound).
    def best(files_per_day: int) -> tuple[float, dict[str, Any]]:
        timings, result = [], {}
        for _ in range(2):
            start = time.perf_counter()
            result = simulate(files_per_day, INPUTS, platform=FAST).to_dict(series=False)
            timings.append(time.perf_counter() - start)
        return min(timings), result

    small_s, small = best(10_000)
    large_s, large = best(10_000_000)
    assert large["steps"] == small["steps"] == (30 + MINUTES_PER_DAY + 30) * 2
    assert large_s < 3 * small_s
    conservation = large["conservation"]
    assert conservation["arrived"] == pytest.approx(10_000_000, rel=0.05)
    assert abs(conservation["difference"]) < 1e-6 * conservation["arrived"]


def test_what_is_assumed_is_stated_with_the_values_used() -> None:
    figures = day(10_000, platform=replace(FAST, scale_step=7, platform_start=12.0))
    text = " ".join(figures["assumptions"])
    assert "at most 7 more per decision" in text
    assert "12 s for the platform" in text
    assert "assumed 5 s" in text  # no measured cold start given
    assert "not published" in text


def test_the_measured_cold_start_sets_the_start_up(tmp_path: Path) -> None:
    cold = {"import_function_app_ms": 800.0,
            "first_request": {"image": {"first_ms": 1300.0, "second_ms": 300.0},
                              "audio": {"first_ms": 2500.0, "second_ms": 500.0}}}  # fmt: skip
    (tmp_path / "pipeline.json").write_text(json.dumps({"cold_start": cold}))
    startup = startup_from_bench(tmp_path)
    assert startup is not None
    seconds = startup["seconds"]
    assert seconds["ingest"] == pytest.approx(0.8)
    assert seconds["image"] == pytest.approx(0.8 + 1.0)
    assert seconds["audio"] == pytest.approx(0.8 + 2.0)
    assert seconds["video"] == pytest.approx(0.8 + 2.0)  # not measured: the slowest load
    figures = day(10_000, mix=only("image"), startup=startup,
                  platform=replace(FAST, platform_start=10.0))  # fmt: skip
    assert figures["startup_s"]["infer_image"] == pytest.approx(11.8)
    assert startup_from_bench(tmp_path / "nowhere") is None


def test_the_spec_sets_the_shape_and_the_platform() -> None:
    shape, platform = parse_spec("burst-at=09:30, burst-minutes=20,burst-factor=6,step=10,"
                                 "scale-step=8,max-instances=40")  # fmt: skip
    assert (shape.burst_at, shape.burst_minutes, shape.burst_factor) == (570, 20, 6.0)
    assert (platform.step, platform.scale_step, platform.max_instances) == (10.0, 8, 40)
    assert parse_spec("") == (Shape(), Platform())
    for bad, message in (("burst=3", "keys"), ("step=7", "divide a minute"),
                         ("scale-step=1.5", "whole number"), ("swing=-1", "0 or more"),
                         ("burst-at=23:50,burst-minutes=20", "within the day")):  # fmt: skip
        with pytest.raises(ConfigurationError, match=message):
            parse_spec(bad)


def load_file(per_minute: list[float], files: int, files_per_s: float) -> dict[str, Any]:
    """The fields of ``bench/results/load-<files>.json`` the comparison reads."""
    return {"files": files, "files_per_s": files_per_s, "per_minute_per_s": per_minute}


def test_the_local_load_comparison_reads_measured_over_predicted() -> None:
    # The load's mix (40 % images, 10 % audio, 50 % texts; 5 % hostile files, which
    # ingest rejects) at 100 ms of CPU each: 95 ms a file on the 2 cores of one local
    # host, 21 files/s (72 in flight over 141 ms each would allow 510/s: CPU binds).
    local = plan_inputs(replace(MEASURED, cpu_s_batched=0.1), PRICES)
    stage = local_stage(local, startup_s=2.0)
    assert stage.rate_per_instance == pytest.approx(2 / 0.095)
    predicted = per_minute_from_first(predict_backlog(5000, stage))
    assert predicted == pytest.approx([21.1, 21.1, 21.1], abs=0.05)  # 3 whole minutes
    as_predicted = compare_with_load(load_file(predicted, 5000, 20.0), local, startup_s=2.0)
    models = as_predicted["predictions"]["models only (the plan's inputs)"]
    assert models["measured_over_predicted_median"] == pytest.approx(1.0)
    assert models["files_per_s"] == pytest.approx(5000 / (2 + 5000 / (2 / 0.095)), rel=0.01)
    # Measured at half the predicted rate, as a local host with costs of its own is.
    slower = compare_with_load(load_file([10.5, 10.6, 10.5], 5000, 10.0), local, startup_s=2.0,
                               overhead_cpu_s_per_file=0.095)  # fmt: skip
    models = slower["predictions"]["models only (the plan's inputs)"]
    assert models["measured_over_predicted_per_minute"] == pytest.approx([0.5] * 3, abs=0.01)
    # With the local stack's own CPU per file (as much again), the prediction halves.
    stack = slower["predictions"]["with the local stack's measured CPU per file"]
    assert stack["rate_per_s"] == pytest.approx(models["rate_per_s"] / 2)
    assert stack["measured_over_predicted_median"] == pytest.approx(1.0, abs=0.02)


def test_the_command_prints_json_and_writes_the_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(prism_tools.commands.plan, "build_inputs", lambda args: INPUTS)
    picture = tmp_path / "day.png"
    load = tmp_path / "load-5000.json"
    load.write_text(json.dumps(load_file([100.0, 120.0], 5000, 110.0)))
    code = main(["plan", "--simulate", "step=30,scale-every=30", "--files-per-day", "10000",
                 "1000000", "--mix", "text=1", "--bench-dir", str(tmp_path), "--json",
                 "--plot", str(picture), "--against-load", str(load)])  # fmt: skip
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    first, second = document["simulations"]
    assert (first["files_per_day"], second["files_per_day"]) == (10_000, 1_000_000)
    for key in ("instances", "queue_depth", "latency_s", "limits_hit", "first_limit", "cost",
                "assumptions", "series", "conservation"):  # fmt: skip
        assert key in second
    assert len(second["series"]["arrivals_per_s"]) == MINUTES_PER_DAY
    assert document["load_comparison"]["files"] == 5000
    assert picture.stat().st_size > 10_000
    assert picture.read_bytes()[:4] == b"\x89PNG"
    code = main(["plan", "--simulate", "--files-per-day", "10000", "--mix", "text=1"])
    text = capsys.readouterr().out
    assert code == 0
    assert "first limit hit" in text
    assert "Assumed, as Microsoft does not publish it" in text


def test_plot_and_load_need_simulate_and_a_load_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(prism_tools.commands.plan, "build_inputs", lambda args: INPUTS)
    assert main(["plan", "--plot", str(tmp_path / "x.png")]) == 2
    assert "go with --simulate" in capsys.readouterr().err
    other = tmp_path / "budget.json"
    other.write_text(json.dumps({"files": 5000}))
    assert main(["plan", "--simulate", "--against-load", str(other)]) == 2
    assert "not a `make load` result" in capsys.readouterr().err
