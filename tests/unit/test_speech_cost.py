"""Transcription's cost per minute of speech (``prism cost``) and the speech share of the
capacity plan (``prism plan --speech-minutes-per-file``), on figures small enough to
follow by hand: every expected value is computed here from the inputs."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from prism.errors import ConfigurationError
from prism_tools.capacity.plan import audio_cpu_s, plan
from prism_tools.cost.model import MODALITIES, Measured
from prism_tools.cost.speech import (
    WINDOW_SPEECH_S,
    SpeechMeasured,
    SpeechWindow,
    compute_per_speech_minute,
    speech_cost,
    speech_from_bench,
)
from tests.unit.cost_inputs import PRICES as COST_PRICES
from tests.unit.cost_inputs import only, plan_inputs, write_bench_files

PRICES = {**COST_PRICES, "managed_speech_per_audio_hour": 1.2}
# A 4 s utterance costs 0.5 CPU s, a window of 24 s of speech 1.0 CPU s: the line
# through them is 0.4 s a window plus 0.025 s per second of speech.
UTTERANCE = SpeechWindow(speech_s=4.0, cpu_s=0.5)
FULL = SpeechWindow(speech_s=24.0, cpu_s=1.0)
SPEECH = SpeechMeasured(utterance=UTTERANCE, full=FULL, recording_speech_s=6.0)
MEASURED = Measured(
    cpu_s_batched=2.0, cpu_s_unbatched=2.0, fp32_extra_cpu_s=0.0, io_s=0.040,
    document_kb=1.0, storage_per_file_policy=0.0, storage_per_file_hot=0.0, entry_kb=0.4,
)  # fmt: skip
INPUTS = plan_inputs(MEASURED, PRICES, speech=SPEECH)
AUDIO_ONLY = only("audio")


def test_a_minute_of_speech_costs_its_cpu_seconds_at_the_instance_price() -> None:
    lines = {line.window: line for line in speech_cost({"int8": SPEECH}, PRICES,
                                                       instance_mb=2048)}  # fmt: skip
    # Full windows: 1.0 / 24 CPU s per second of speech, 60 s a minute, on 2 GB with one
    # core: 2 GB-s per CPU second.
    full_cpu_minute = 1.0 / 24 * 60
    assert lines["full"].cpu_s_per_speech_minute == pytest.approx(full_cpu_minute)
    assert lines["full"].compute_per_minute == pytest.approx(2 * full_cpu_minute * 0.00002)
    utterance_cpu_minute = 0.5 / 4 * 60
    assert lines["utterance"].compute_per_minute == pytest.approx(
        2 * utterance_cpu_minute * 0.00002
    )
    # Azure AI Speech bills per hour of audio: a minute is a sixtieth.
    assert lines["full"].managed_per_minute == pytest.approx(1.2 / 60)
    assert lines["full"].ratio == pytest.approx((1.2 / 60) / (2 * full_cpu_minute * 0.00002))


def test_every_instance_size_pays_the_same_per_cpu_second() -> None:
    # 512 MB: 0.5 GB and a quarter core; 4096 MB: 4 GB and two cores — 2 GB-s either way.
    costs = {round(compute_per_speech_minute(0.05, PRICES, mb), 12) for mb in (512, 2048, 4096)}
    assert costs == {round(2 * 0.05 * 60 * 0.00002, 12)}


def test_transcription_is_a_cost_per_window_plus_a_cost_per_second_of_speech() -> None:
    per_speech_s = (1.0 - 0.5) / (24.0 - 4.0)
    per_window = 0.5 - 4.0 * per_speech_s
    assert SPEECH.per_speech_s == pytest.approx(per_speech_s)
    assert SPEECH.per_window == pytest.approx(per_window)
    # The two measured windows lie on the line.
    assert SPEECH.transcription_cpu_s(4.0) == pytest.approx(0.5)
    assert SPEECH.transcription_cpu_s(24.0) == pytest.approx(1.0)
    # Ten minutes of speech: 600 / 29.5 → 21 windows.
    windows = math.ceil(600 / WINDOW_SPEECH_S)
    assert SPEECH.transcription_cpu_s(600) == pytest.approx(
        windows * per_window + 600 * per_speech_s
    )
    assert SPEECH.transcription_cpu_s(0) == 0.0  # no speech, no Whisper call


def test_the_plan_swaps_the_benchmark_recordings_speech_for_the_given_speech() -> None:
    # The audio file measured 2.0 CPU s with 6 s of speech in it.
    recording = SPEECH.per_window + 6.0 * SPEECH.per_speech_s
    five_minutes = math.ceil(300 / WINDOW_SPEECH_S) * SPEECH.per_window + 300 * SPEECH.per_speech_s
    assert audio_cpu_s(INPUTS, None) == 2.0
    assert audio_cpu_s(INPUTS, 6.0) == pytest.approx(2.0)
    assert audio_cpu_s(INPUTS, 300.0) == pytest.approx(2.0 - recording + five_minutes)
    assert audio_cpu_s(INPUTS, 0.0) == pytest.approx(2.0 - recording)  # silence: VAD only
    with pytest.raises(ConfigurationError):
        audio_cpu_s(INPUTS, -1.0)


def test_the_plans_instances_and_compute_include_the_transcription() -> None:
    files = 86_400  # 1 a second, 10 at the peak
    default = plan(files, INPUTS, mix=AUDIO_ONLY).to_dict()
    longer = plan(files, INPUTS, mix=AUDIO_ONLY, speech_minutes_per_audio_file=5).to_dict()
    cpu_s = audio_cpu_s(INPUTS, 300.0)
    # An instance serves 0.8 / cpu_s files a second by CPU (24 / (cpu_s + io) is higher).
    assert longer["instances"]["per_function"]["infer_audio"] == math.ceil(10 / (0.8 / cpu_s))
    assert default["instances"]["per_function"]["infer_audio"] == math.ceil(10 / (0.8 / 2.0))
    # Compute a month grows by the extra CPU seconds, at 2 GB-s each.
    extra = files * (cpu_s - 2.0) * 2 * 30.4167 * 0.00002
    grown = longer["monthly_cost"]["compute"] - default["monthly_cost"]["compute"]
    assert grown == pytest.approx(extra)
    speech = longer["speech"]
    assert speech["minutes_per_day"] == pytest.approx(files * 5)
    assert speech["assumed"] is False
    assert speech["transcription_cpu_s_per_audio_file"] == pytest.approx(
        SPEECH.transcription_cpu_s(300)
    )
    assert default["speech"]["minutes_per_audio_file"] == pytest.approx(6.0 / 60)
    assert default["speech"]["assumed"] is True


def test_without_the_speech_benchmark_the_plan_keeps_the_measured_audio_figure() -> None:
    inputs = replace(INPUTS, speech=None)
    got = plan(86_400, inputs, mix=AUDIO_ONLY, speech_minutes_per_audio_file=5).to_dict()
    assert got["speech"] is None
    assert got["instances"]["per_function"]["infer_audio"] == math.ceil(10 / (0.8 / 2.0))


def test_the_speech_benchmark_file_becomes_windows(tmp_path: Path) -> None:
    assert speech_from_bench(tmp_path) is None
    window = {"speech_s": 4.0, "cpu_ms": 500.0, "tokens": 13}
    result = {"utterance": window, "full": {**window, "speech_s": 24.0, "cpu_ms": 1000.0},
              "recording": {"speech_s": 6.0, "cpu_ms": 600.0, "duration_s": 7.5}}  # fmt: skip
    (tmp_path / "speech.json").write_text(json.dumps({"results": {"int8": result}}))
    assert speech_from_bench(tmp_path) == {"int8": SPEECH}


def test_prism_cost_prints_the_minute_of_speech_beside_azure_ai_speech(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from prism_tools.commands.cost import render_speech, speech_lines

    # A results file of bench/speech.py's shape (the real one exists after `make bench`).
    shipped = tmp_path
    utterance = {"speech_s": 4.0, "cpu_ms": 500.0, "tokens": 13}
    full = {"speech_s": 27.0, "cpu_ms": 1000.0, "tokens": 80}
    recording = {"speech_s": 5.2, "cpu_ms": 520.0, "duration_s": 7.5}
    windows = {"utterance": utterance, "full": full, "recording": recording}
    slower = {name: {**w, "cpu_ms": w["cpu_ms"] * 1.5} for name, w in windows.items()}
    (tmp_path / "speech.json").write_text(
        json.dumps({"results": {"int8": windows, "fp32": slower}})
    )
    prices = {**PRICES, "managed_speech_per_audio_hour": 1.0}
    lines = speech_lines(prices, shipped, 2048)
    assert [(line.precision, line.window) for line in lines] == [
        ("int8", "full"), ("int8", "utterance"), ("fp32", "full"), ("fp32", "utterance"),
    ]  # fmt: skip
    measured = speech_from_bench(shipped)
    assert measured is not None
    int8_full = measured["int8"].full
    assert lines[0].compute_per_minute == pytest.approx(
        2 * int8_full.cpu_s / int8_full.speech_s * 60 * 0.00002
    )
    print(render_speech(lines))
    assert "continuous speech" in capsys.readouterr().out


def test_plan_refuses_more_speech_than_an_audio_file_may_hold() -> None:
    from prism_tools.commands.plan import run

    args = argparse.Namespace(files_per_day=None, mix=None, cache_hit_rate=0.0,
                              speech_minutes_per_file=11.0)  # fmt: skip
    with pytest.raises(ConfigurationError, match="PRISM_MAX_AUDIO_SECONDS"):
        run(args)


def test_fp32_audio_pays_whispers_fp32_time_on_the_benchmark_recording(tmp_path: Path) -> None:
    from prism_tools.cost.model import measured_from_bench

    write_bench_files(
        tmp_path,
        batching_rows=[{"modality": m, "concurrency": 32, "on_items_per_s": 4.0,
                        "off_items_per_s": 4.0, "default": True}
                       for m in ("image", "audio", "text")],
        models_rows=[{"model": "audio", "threads": 1, "batch": 1, "fp32_ms": 3.0,
                      "int8_ms": 2.0}],
        pipeline={"stage_mean_ms": {}, "document_kb": {}},
    )  # fmt: skip
    storage = dict.fromkeys(MODALITIES, (0.0, 0.0))
    assert measured_from_bench(tmp_path, storage)["audio"].fp32_extra_cpu_s == pytest.approx(0.001)
    window = {"speech_s": 4.0, "cpu_ms": 500.0}
    speech = {precision: {"utterance": window, "full": window,
                          "recording": {"speech_s": 5.0, "cpu_ms": cpu_ms}}
              for precision, cpu_ms in (("int8", 500.0), ("fp32", 780.0))}  # fmt: skip
    (tmp_path / "speech.json").write_text(json.dumps({"results": speech}))
    measured = measured_from_bench(tmp_path, storage)
    assert measured["audio"].fp32_extra_cpu_s == pytest.approx(0.001 + 0.280)  # VAD + Whisper
    assert measured["text"].fp32_extra_cpu_s == 0.0
