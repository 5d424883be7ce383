"""Build bookkeeping: gates, the content-hash key and the lock check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.build import (
    build_key,
    check_gate,
    check_include,
    current_build,
    lock_is_current,
    optional_models,
)
from prism.onnx.registry import load_manifest, model_report

GATE = {
    "top1_agreement": {"min": 0.95},
    "mean_kl_divergence": {"max": 0.03},
    "min_eval_items": 200,
}


def test_gate_passes_when_every_bound_holds() -> None:
    measured = {"top1_agreement": 0.97, "mean_kl_divergence": 0.01, "eval_items": 208}
    assert check_gate(GATE, measured) == []


def test_gate_names_each_failed_bound() -> None:
    measured = {"top1_agreement": 0.90, "mean_kl_divergence": 0.05, "eval_items": 100}
    failures = check_gate(GATE, measured)
    assert any(f.startswith("top1_agreement = 0.9000 < 0.95") for f in failures)
    assert any(f.startswith("mean_kl_divergence = 0.0500 > 0.03") for f in failures)
    assert any(f.startswith("eval_items = 100 < 200") for f in failures)


def test_unmeasured_metric_fails_the_gate() -> None:
    assert check_gate(GATE, {"mean_kl_divergence": 0.0, "eval_items": 300}) == [
        "top1_agreement: not measured"
    ]


def test_a_figure_that_could_not_be_computed_fails_the_gate() -> None:
    for broken in (float("nan"), float("inf"), "n/a"):
        measured = {"top1_agreement": broken, "mean_kl_divergence": 0.01, "eval_items": 300}
        (failure,) = check_gate(GATE, measured)
        assert failure.startswith("top1_agreement = ") and "could not be computed" in failure
    nan_kl = {"top1_agreement": 0.99, "mean_kl_divergence": float("nan"), "eval_items": 300}
    assert check_gate(GATE, nan_kl) != []


def test_every_int8_model_in_the_manifest_has_a_gate() -> None:
    for entry in load_manifest()["models"]:
        if entry["runtime_precision"] == "int8":
            assert entry["gate"], entry["name"]
            assert entry["gate"]["min_eval_items"] > 0


def test_build_key_is_stable_for_unchanged_inputs() -> None:
    assert build_key() == build_key()
    assert len(build_key()) == 16


def write_lock(directory: Path, key: str, size: int) -> None:
    (directory / "m").mkdir(parents=True)
    (directory / "m" / "m.int8.onnx").write_bytes(b"x" * size)
    lock = {
        "build_key": key,
        "models": {"m": {"name": "m", "files": {"m.int8.onnx": {"bytes": 3}}}},
    }
    (directory / "lock.json").write_text(json.dumps(lock))


def test_lock_is_current_only_for_the_same_key_and_intact_files(tmp_path: Path) -> None:
    write_lock(tmp_path / "good", "k1", 3)
    write_lock(tmp_path / "truncated", "k1", 2)
    assert lock_is_current(tmp_path / "good", "k1")
    assert not lock_is_current(tmp_path / "good", "k2")
    assert not lock_is_current(tmp_path / "truncated", "k1")
    assert not lock_is_current(tmp_path / "missing", "k1")


def test_only_optional_models_can_be_included_and_they_change_the_build_key() -> None:
    assert optional_models() == {"whisper-base"}
    assert build_key(["whisper-base"]) != build_key() == build_key([])
    with pytest.raises(ValueError, match="not an optional model"):
        check_include(["whisper-tiny-en"])


def _lock_with(directory: Path, key: str, names: list[str]) -> None:
    directory.mkdir(parents=True)
    model = {"files": {}, "gate": {}, "gate_passed": True}
    lock = {"build_key": key, "models": {n: {"name": n, **model} for n in names}}
    (directory / "lock.json").write_text(json.dumps(lock))


def test_a_build_holding_an_optional_model_is_current_with_or_without_asking_for_it(
    tmp_path: Path,
) -> None:
    _lock_with(tmp_path / "base", build_key(["whisper-base"]), ["whisper-tiny-en", "whisper-base"])
    assert current_build(tmp_path / "base")
    assert current_build(tmp_path / "base", ["whisper-base"])
    _lock_with(tmp_path / "plain", build_key(), ["whisper-tiny-en"])
    assert current_build(tmp_path / "plain")
    assert not current_build(tmp_path / "plain", ["whisper-base"])  # asked for, not built
    assert not current_build(tmp_path / "missing")


def test_models_list_shows_an_optional_model_only_where_it_was_built(tmp_path: Path) -> None:
    _lock_with(tmp_path / "plain", build_key(), ["whisper-tiny-en"])
    names = [row["name"] for row in model_report(tmp_path / "plain")]
    assert "whisper-tiny-en" in names and "whisper-base" not in names
    _lock_with(tmp_path / "base", build_key(), ["whisper-tiny-en", "whisper-base"])
    assert "whisper-base" in [row["name"] for row in model_report(tmp_path / "base")]
