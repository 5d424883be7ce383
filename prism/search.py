"""Search by meaning across modalities, with the int8 text model for every vector.

What stands for a result: a text file's stored embedding; an audio file's transcript;
an image's top labels ("tiger cat, tabby cat, Egyptian cat"). The query, transcripts
and labels go through the same text model (its tokenizer, truncation and pooling) as
text files, so one cosine ranks them all. This module ranks what it is given (an exact
scan); where the candidates come from — local files, or stored results — is the
caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prism.embedding import decode_embedding

if TYPE_CHECKING:
    import numpy as np

# Image labels that speak for an image: the top ones down to this probability (at least
# the first), at most IMAGE_LABELS of them.
IMAGE_LABELS = 3
IMAGE_LABEL_MIN_PROBABILITY = 0.05

# Embeds texts with the text model; one float vector (L2-normalised) per text, in order.
Embed = Callable[[Sequence[str]], list["np.ndarray"]]


def searchable_text(modality: str, result: dict[str, Any]) -> str | None:
    """The words that stand for an audio or image result (None when there are none, or
    for text, whose stored embedding stands for it)."""
    if modality == "audio":
        text = str((result.get("transcript") or {}).get("text", "")).strip()
        return text or None
    if modality == "image":
        labels = result.get("labels") or []
        chosen = [
            str(item["label"])
            for index, item in enumerate(labels[:IMAGE_LABELS])
            if index == 0 or float(item["probability"]) >= IMAGE_LABEL_MIN_PROBABILITY
        ]
        return ", ".join(chosen) or None
    return None


@dataclass(frozen=True)
class Candidate:
    key: str
    modality: str
    result: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    key: str
    modality: str
    score: float
    matched: str  # what was compared with the query: "embedding", or the words


def stored_candidates(
    documents: Iterable[Mapping[str, Any]], modality: str | None = None
) -> Iterator[Candidate]:
    """Candidates from stored result documents: the ``ok`` ones (of ``modality``, when
    given), each keyed by its blob name (or HTTP name), else its id."""
    for document in documents:
        result = document.get("result")
        if document.get("status") != "ok" or not isinstance(result, dict):
            continue
        if modality is not None and document.get("modality") != modality:
            continue
        source = document.get("source") or {}
        key = source.get("blob") or source.get("name") or document["id"]
        yield Candidate(str(key), str(document.get("modality")), result)


def rank(
    query: str, candidates: Sequence[Candidate], embed: Embed, *, limit: int = 10
) -> list[Hit]:
    """``candidates`` by cosine to ``query``, best first, at most ``limit``; candidates
    with nothing to compare (no speech, a rejected file) are left out."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    vectors: list[tuple[Candidate, str, np.ndarray | None]] = []
    wanted: list[str] = []
    for candidate in candidates:
        if candidate.modality == "text" and "embedding" in candidate.result:
            vectors.append(
                (candidate, "embedding", decode_embedding(candidate.result["embedding"]))
            )
            continue
        words = searchable_text(candidate.modality, candidate.result)
        if words is not None:
            vectors.append((candidate, words, None))
            wanted.append(words)
    embedded = iter(embed([query, *wanted]))
    query_vector = _unit(next(embedded))
    hits = []
    for candidate, matched, stored in vectors:
        vector = _unit(next(embedded) if stored is None else stored)
        hits.append(Hit(candidate.key, candidate.modality, float(query_vector @ vector), matched))
    hits.sort(key=lambda hit: (-hit.score, hit.key))
    return hits[:limit]


def _unit(vector: np.ndarray) -> np.ndarray:
    import numpy as np

    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(values))
    return values / norm if norm > 0 else values
