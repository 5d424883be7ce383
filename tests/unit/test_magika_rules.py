"""How magika's scores become a guess (its thresholds, its label overwrites, its top
alternatives), what too few bytes get, and a configuration that does not match the
manifest — on the real configuration, with the model's scores chosen by the test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prism.onnx.registry import ModelSpec
from prism.onnx.sessions import ModelUnavailableError
from prism.routing import magika as magika_module
from prism.routing.magika import TOP_GUESSES, MagikaClassifier

WORDS = b"some words that are long enough for the model to look at " * 4


class ChosenScores:
    """An ONNX session whose scores the test sets (by label) and which records its input."""

    def __init__(self, labels: tuple[str, ...], scores: dict[str, float]) -> None:
        self.row = np.zeros((1, len(labels)), dtype=np.float32)
        for label, score in scores.items():
            self.row[0, labels.index(label)] = score
        self.inputs: list[Any] = []

    def run(self, outputs: Any, feeds: dict[str, Any]) -> list[Any]:
        self.inputs.append(feeds["bytes"])
        return [self.row]


@pytest.fixture
def classifier(router_spec: ModelSpec) -> MagikaClassifier:
    return MagikaClassifier(router_spec)


def scored(
    classifier: MagikaClassifier, monkeypatch: pytest.MonkeyPatch, **scores: float
) -> ChosenScores:
    session = ChosenScores(classifier.config.labels, scores)
    monkeypatch.setattr(magika_module, "get_session", lambda path, threads: session)
    return session


@pytest.mark.parametrize(
    ("scores", "label", "confident"),
    [
        ({"markdown": 0.75, "txt": 0.2}, "markdown", True),  # markdown's own threshold
        ({"markdown": 0.74, "txt": 0.2}, "markdown", False),
        ({"python": 0.5, "txt": 0.4}, "python", True),  # the medium threshold
        ({"python": 0.49, "txt": 0.4}, "python", False),
        ({"randombytes": 0.9}, "unknown", True),  # magika's overwrite map
        ({"randomtxt": 0.9}, "txt", True),
    ],
)
def test_the_best_score_is_confident_from_its_labels_threshold_up(
    classifier: MagikaClassifier,
    monkeypatch: pytest.MonkeyPatch,
    scores: dict[str, float],
    label: str,
    confident: bool,
) -> None:
    session = scored(classifier, monkeypatch, **scores)
    guess = classifier.classify(WORDS, WORDS, len(WORDS))
    assert (guess.label, guess.confident) == (label, confident)
    assert guess.score == pytest.approx(max(scores.values()))
    (features,) = session.inputs
    assert features.dtype == np.int32 and features.shape == (1, 2048)


def test_a_guess_holds_the_top_alternatives_best_first(
    classifier: MagikaClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranked = {"pdf": 0.4, "zip": 0.3, "png": 0.15, "gif": 0.08, "wav": 0.05, "mp3": 0.02}
    scored(classifier, monkeypatch, **ranked)
    guess = classifier.classify(WORDS, WORDS, len(WORDS))
    assert [label for label, _ in guess.top] == list(ranked)[:TOP_GUESSES]
    assert guess.top[0][1] == pytest.approx(0.4)
    assert guess.probability("wav") == pytest.approx(0.05)
    assert guess.probability("mp3") == 0.0  # not among the top five


@pytest.mark.parametrize(
    ("head", "label"),
    [(b"short", "txt"), (b"  \n\t  abc   ", "txt"), (b"\x00\x01\x02", "unknown")],
    ids=["few_bytes", "few_after_stripping", "few_binary_bytes"],
)
def test_too_few_bytes_for_the_model_are_text_if_they_read_as_text(
    classifier: MagikaClassifier, monkeypatch: pytest.MonkeyPatch, head: bytes, label: str
) -> None:
    session = scored(classifier, monkeypatch, pdf=1.0)
    assert classifier.features(head, b"", len(head)) is None
    guess = classifier.classify(head, b"", len(head))
    assert (guess.label, guess.score, guess.confident, guess.top) == (
        label,
        1.0,
        True,
        ((label, 1.0),),
    )
    assert session.inputs == []  # the model never ran


def test_a_large_file_is_seen_by_its_first_and_last_bytes(classifier: MagikaClassifier) -> None:
    head, tail = b"H" * 4096, b"T" * 4096
    features = classifier.features(head, tail, 100_000)
    assert features == [ord("H")] * 1024 + [ord("T")] * 1024
    whole = b"W" * 20
    padding = classifier.padding
    assert classifier.features(whole, b"ignored", 20) == (
        [ord("W")] * 20 + [padding] * 1004 + [padding] * 1004 + [ord("W")] * 20
    )


def test_a_configuration_that_disagrees_with_the_manifest_is_refused(
    router_spec: ModelSpec, tmp_path: Path
) -> None:
    directory = tmp_path / router_spec.directory.name
    shutil.copytree(router_spec.directory, directory)
    config_path = directory / "config.min.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["beg_size"], config["use_inputs_at_offsets"] = 512, True
    config_path.write_text(json.dumps(config), encoding="utf-8")
    classifier = MagikaClassifier(ModelSpec(router_spec.entry, directory))
    with pytest.raises(ModelUnavailableError) as caught:
        classifier.features(WORDS, WORDS, len(WORDS))
    assert "config.min.json disagrees with the manifest" in str(caught.value)
    assert "'beg_size': 512" in str(caught.value)
    assert "'use_inputs_at_offsets': True" in str(caught.value)
    assert "end_size" not in str(caught.value)


def test_the_configuration_is_read_once(
    classifier: MagikaClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = classifier.config
    monkeypatch.setattr(json, "load", lambda handle: pytest.fail("config read again"))
    assert classifier.config is first
    assert first.block_size == 4096 and first.min_file_size == 8
    assert first.medium_threshold == 0.5 and first.thresholds["markdown"] == 0.75
    assert first.overwrite["randombytes"] == "unknown" and len(first.labels) > 100


def test_eight_bytes_after_stripping_are_enough_for_the_model(
    classifier: MagikaClassifier,
) -> None:
    assert classifier.features(b"abcdefgh", b"", 8) is not None
    assert classifier.features(b"  abcdefg", b"", 9) is None  # seven after stripping
    assert classifier.features(b"abcdefg", b"", 7) is None
