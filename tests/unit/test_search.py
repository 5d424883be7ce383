"""Ranking by meaning across modalities, with a stand-in embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prism.embedding import encode_embedding
from prism.search import Candidate, rank, searchable_text

# A toy embedder: one axis per topic word.
AXES = ("cat", "coffee", "rain")


def embed_calls() -> tuple[list[list[str]], Any]:
    calls: list[list[str]] = []

    def embed(texts: Sequence[str]) -> list[np.ndarray]:
        calls.append(list(texts))
        return [
            np.array([float(axis in text) for axis in AXES], dtype=np.float32) + 0.01
            for text in texts
        ]

    return calls, embed


def audio(text: str) -> dict[str, Any]:
    return {"transcript": {"text": text, "segments": [], "model": "m"}}


def image(*labels: tuple[str, float]) -> dict[str, Any]:
    return {"labels": [{"label": label, "probability": p} for label, p in labels]}


def test_audio_is_searched_by_its_transcript_and_silence_by_nothing() -> None:
    assert searchable_text("audio", audio(" it may rain ")) == "it may rain"
    assert searchable_text("audio", audio("")) is None
    assert searchable_text("audio", {"speech_segments": []}) is None


def test_an_image_is_searched_by_its_likely_labels() -> None:
    labels = image(("tiger cat", 0.4), ("tabby cat", 0.3), ("lynx", 0.01), ("dog", 0.01))
    assert searchable_text("image", labels) == "tiger cat, tabby cat"
    assert searchable_text("image", image(("espresso", 0.02))) == "espresso"
    assert searchable_text("text", {"labels": []}) is None


def test_an_image_with_words_is_searched_by_its_words_first() -> None:
    sign = {**image(("street sign", 0.6)), "text": "FRESH BAGELS\nopen  daily"}
    assert searchable_text("image", sign) == "FRESH BAGELS open daily. street sign"


def test_results_are_ranked_by_cosine_to_the_query_across_modalities() -> None:
    _, embed = embed_calls()
    candidates = [
        Candidate("rain.flac", "audio", audio("rain tomorrow")),
        Candidate("cat.jpg", "image", image(("tiger cat", 0.9))),
        Candidate("coffee.txt", "text", {"embedding": encode_embedding([0.0, 1.0, 0.0])}),
    ]
    cat_hits = rank("a cat", candidates, embed)
    assert cat_hits[0].key == "cat.jpg" and len(cat_hits) == 3
    assert cat_hits[0].matched == "tiger cat"
    hits = rank("coffee please", candidates, embed)
    assert hits[0].key == "coffee.txt" and hits[0].matched == "embedding"
    assert hits[0].score > hits[1].score
    assert rank("rain", candidates, embed)[0].key == "rain.flac"


def test_a_text_file_uses_its_stored_embedding_and_is_not_embedded_again() -> None:
    calls, embed = embed_calls()
    stored = Candidate("a.txt", "text", {"embedding": encode_embedding([1.0, 0.0, 0.0])})
    rank("cat", [stored, Candidate("b.jpg", "image", image(("cat", 0.9)))], embed)
    assert calls == [["cat", "cat"]]  # the query, then the image's labels


def test_results_with_nothing_to_compare_are_left_out() -> None:
    _, embed = embed_calls()
    silent = Candidate("quiet.wav", "audio", audio(""))
    assert rank("anything", [silent], embed) == []


def test_the_limit_keeps_the_best_and_must_be_positive() -> None:
    _, embed = embed_calls()
    candidates = [Candidate(f"{i}.jpg", "image", image(("cat", 0.9))) for i in range(5)]
    hits = rank("cat", candidates, embed, limit=2)
    assert [hit.key for hit in hits] == ["0.jpg", "1.jpg"]  # equal scores: by key
    with pytest.raises(ValueError, match="limit"):
        rank("cat", candidates, embed, limit=0)


def test_stored_results_are_candidates_by_blob_name_and_rejections_are_not() -> None:
    from prism.search import stored_candidates

    documents: list[dict[str, Any]] = [
        {"id": "a", "status": "ok", "modality": "image", "source": {"blob": "cat.jpg"},
         "result": image(("tiger cat", 0.9))},
        {"id": "b", "status": "rejected", "modality": "text", "result": None,
         "error": {"code": "empty", "message": "the file is empty"}},
        {"id": "c", "status": "ok", "modality": "audio", "source": {"kind": "http"},
         "result": audio("hello")},
    ]  # fmt: skip
    found = list(stored_candidates(documents))
    assert [(c.key, c.modality) for c in found] == [("cat.jpg", "image"), ("c", "audio")]
    assert [c.key for c in stored_candidates(documents, "audio")] == ["c"]


def test_search_takes_files_or_the_stored_results_not_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from prism_tools.cli import main

    file = tmp_path / "x.txt"
    file.write_text("a cat")
    for arguments in (["search", "a cat"], ["search", "a cat", str(file), "--stored"]):
        assert main(arguments) == 2
        assert "one of them" in capsys.readouterr().err
