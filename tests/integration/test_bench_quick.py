"""Every suite of ``make bench`` on a tiny budget (``python -m bench --quick``: one or two
files of each modality it measures, one round), so a suite that cannot handle one of its
modalities fails here in seconds, not half an hour into ``make bench`` (issue 24: the
batching suite handed sentences to the document modality). Each suite must report every
modality it claims. The suites that need the emulators use the session's stack; the
models are the real built ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bench.__main__
from bench import batching, models
from bench.pipeline import sharing
from prism.settings import get_settings
from prism_local.localstack import StackState

pytestmark = pytest.mark.integration

THREE = {"image", "audio", "text"}
NO_SPEECH = get_settings().speech_model == "none"  # then nothing is transcribed


def _models(report: dict[str, Any]) -> set[str]:
    return {row["model"] for row in report["comparison"]}


def _speech(report: dict[str, Any]) -> set[str]:
    shapes = {"utterance", "full", "recording"}
    assert all(set(result) >= shapes for result in report["results"].values())
    return set(report["results"])


def _labels(report: dict[str, Any]) -> set[str]:
    assert all(run["documents"] == 2 for run in report["runs"])
    return {f"{run['config']} {run['split']}" for run in report["runs"]}


def _batching(report: dict[str, Any]) -> set[str]:
    return {row["modality"] for row in report["comparison"]}


def _media(report: dict[str, Any]) -> set[str]:
    per_file = report["per_file"]
    assert per_file["document"]["detail"]["ocr_pages"] == 1  # the scanned page was read
    assert per_file["video"]["detail"]["frames"] >= 1
    assert per_file["video"]["detail"]["transcript_segments"] >= 1  # and the speech heard
    return set(per_file)


def _pipeline(report: dict[str, Any]) -> set[str]:
    end_to_end = report["end_to_end"]
    assert end_to_end["results"] == end_to_end["files"] == 3
    assert set(report["cold_start"]["first_request"]) == THREE
    return set(end_to_end["document_kb"])


def _budget(report: dict[str, Any]) -> set[str]:
    mixes = {name: mix for name, mix in report.items() if name in {"hostile", "limits", "paused"}}
    for mix in mixes.values():
        assert mix["all_done"], mix["outcomes"]
        assert mix["outcomes"] == {"ok": mix["files"]}
    return set(mixes)


def _peers(report: dict[str, Any]) -> set[str]:
    rows = report["rows"]
    for row in rows:
        assert len(row["texts"]) >= 1 and row["cpu_s"] > 0 and row["peak_rss_mb"] > 0
    # A peer that is there is measured; one that is not says why.
    for peer, found in report["peers"].items():
        engine_rows = [row for row in rows if row["engine"] == peer]
        assert bool(engine_rows) == ("version" in found), (peer, found)
    # The bench's page holds the text it says it holds: Prism reads it (almost) exactly.
    [page] = [row for row in rows if (row["engine"], row["group"]) == ("prism", "pages")]
    assert page["error_clean"] <= 0.05, page["texts"]
    return {row["group"] for row in rows if row["engine"] == "prism"}


# Per suite: what its report covers (checking the report on the way), and what it claims.
COVERS: dict[str, tuple[Callable[[dict[str, Any]], set[str]], set[str]]] = {
    "models": (_models, set(models.ROLES) - ({"speech"} if NO_SPEECH else set())),
    "speech": (_speech, {"int8", "fp32"}),
    "labels": (_labels, {"before tune", "before heldout", "after tune", "after heldout"}),
    "batching": (_batching, {m.value for m in batching.MODALITIES}),
    "documents": (lambda report: set(report["per_modality"]), THREE),
    "media": (_media, {"document", "video"}),
    "cache": (lambda report: set(report["per_modality"]), THREE),
    "pipeline": (_pipeline, THREE),
    "budget": (_budget, {"hostile", "limits"}),  # --quick leaves the paused mix out
    "peers": (_peers, {"pages", "photos"} | (set() if NO_SPEECH else {"speech"})),
}


def test_every_suite_is_checked() -> None:
    assert set(COVERS) == set(bench.__main__.SUITES)


@pytest.mark.parametrize("suite", bench.__main__.SUITES)
def test_each_suite_runs_on_every_modality_it_measures(
    suite: str, built_models: dict[str, object], local_stack: StackState, tmp_path: Path
) -> None:
    with sharing(local_stack):
        code = bench.__main__.main(["--quick", "--only", suite, "--results-dir", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / f"{suite}.json").read_text("utf-8"))
    assert report["quick"] is True
    assert report["machine"]["seconds"] > 0
    covered, claimed = COVERS[suite]
    assert covered(report) == claimed
