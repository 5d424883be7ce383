"""Search by meaning across modalities, with the int8 text model for every vector.

What stands for a result: a text file's stored embedding; an audio file's transcript;
an image's top labels ("tiger cat, tabby cat, Egyptian cat"). The query, transcripts
and labels go through the same text model (its tokenizer, truncation and pooling) as
text files, so one cosine ranks them all.

Two ways in:

- :func:`rank` ranks what it is given (files on this machine, ``prism search FILE...``),
  embedding the words of each candidate as it goes;
- :func:`search_stored` ranks the stored results (``GET /api/v1/search``, ``prism
  search --stored``, the console's search box) by the ``search`` field every ``ok``
  result carries from the moment it is written (:func:`search_field`)::

      "search": {"vector": [-12, 87, …, 3],   # 384 int8 codes
                 "words": "tiger cat, tabby cat"}   # audio and image only

  For text the vector is the codes of the result's own compact embedding
  (:mod:`prism.embedding`, int8 with one scale); for audio and image it is the same
  compact form of the embedding of their words, computed by the pipeline at write
  time (one text-model call, ~2 ms). The vector is the int8 codes as a JSON array —
  Cosmos DB's ``VectorDistance`` reads arrays of numbers (float32, int8 or uint8 by
  the container's vector embedding policy), not base64 — and without the scale, which
  a cosine never sees. So one Cosmos DB query ranks every modality together.

  On Azure (``PRISM_SEARCH=vector``) the ranking is Cosmos DB's: ``VectorDistance``
  over the container's vector index (bicep/modules/cosmos.bicep declares the vector
  embedding policy on ``/search/vector``, int8, 384 dimensions, cosine, and a
  ``diskANN`` index). The local emulator has no vector search, so there
  (``PRISM_SEARCH=scan``, or ``auto`` on a loopback endpoint) the same field is ranked
  by an exact scan in this process: the same cosine on the same int8 codes, over every
  stored result that meets the filters — fine for a laptop's thousands, not for
  Azure's millions. Results written before the field existed have no ``search`` and
  are found by neither until ``prism migrate-results`` (:mod:`prism_tools.migration`) gives
  them one, with :func:`search_field` as the pipeline does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prism.embedding import decode_embedding, encode_embedding
from prism.modality import Modality

if TYPE_CHECKING:
    import numpy as np

    from prism.storage.documents import DocumentContainer, Where

# Image labels that speak for an image: the top ones down to this probability (at least
# the first), at most IMAGE_LABELS of them.
IMAGE_LABELS = 3
IMAGE_LABEL_MIN_PROBABILITY = 0.05

# Embeds texts with the text model; one float vector (L2-normalised) per text, in order.
Embed = Callable[[Sequence[str]], list["np.ndarray"]]


def searchable_text(modality: str, result: dict[str, Any]) -> str | None:
    """The words that stand for an audio, image or video result (None when there are
    none, or for text and documents, whose stored embedding stands for them)."""
    if modality == "audio":
        text = str((result.get("transcript") or {}).get("text", "")).strip()
        return text or None
    if modality == "video":
        # What is said, then the words on screen, then what the frames show.
        spoken = searchable_text("audio", result.get("audio") or {}) or ""
        shown = [str(frame.get("text", "")) for frame in result.get("frames") or []]
        named = [str(item["label"]) for item in (result.get("labels") or [])[:IMAGE_LABELS]]
        return _sentences(spoken, " ".join(shown), ", ".join(named))
    if modality == "image":
        labels = [item for item in result.get("labels") or [] if isinstance(item, Mapping)]
        chosen = [
            str(item["label"])
            for index, item in enumerate(labels[:IMAGE_LABELS])
            if index == 0 or float(item["probability"]) >= IMAGE_LABEL_MIN_PROBABILITY
        ]
        # The words printed in it first: the text model reads a bounded prefix.
        return _sentences(str(result.get("text") or ""), ", ".join(chosen))
    return None


def _sentences(*parts: str) -> str | None:
    """The non-empty ``parts``, each on one line and without a closing full stop,
    joined as sentences; None when all are empty."""
    cleaned = [" ".join(part.split()).rstrip(".") for part in parts]
    return ". ".join(part for part in cleaned if part) or None


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
        if candidate.modality in ("text", "document") and "embedding" in candidate.result:
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


# ---- the stored search field and the search of stored results ------------------------

# Where the vector lives in a result document, and its shape: the Bicep's vector
# embedding policy declares the same (tests/iac compares them).
SEARCH_FIELD = "search"
VECTOR_PATH = "search.vector"
VECTOR_DIMENSIONS = 384  # all-MiniLM-L6-v2
# The results container's vector embedding policy and vector index, as
# bicep/modules/cosmos.bicep declares them (tests/iac compares): int8, the codes stored;
# cosine, what the exact scan computes too; diskANN, which keeps a query's cost from
# growing with every result stored. The local emulator gets neither (it has no vector
# search): its containers are created with RESULTS_INDEXING_POLICY alone.
VECTOR_EMBEDDING_POLICY: dict[str, Any] = {
    "vectorEmbeddings": [
        {
            "path": "/" + VECTOR_PATH.replace(".", "/"),
            "dataType": "int8",
            "dimensions": VECTOR_DIMENSIONS,
            "distanceFunction": "cosine",
        }
    ]
}
VECTOR_INDEXES = [{"path": "/" + VECTOR_PATH.replace(".", "/"), "type": "diskANN"}]
DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 50
MAX_QUERY_CHARS = 500
# What a hit carries from its document (a vector search projects exactly these).
HIT_FIELDS = ("id", "modality", "source", "created_at", "search.words")


def int8_codes(vector: Sequence[float] | np.ndarray) -> list[int]:
    """The int8 codes of ``vector``'s compact embedding (:func:`encode_embedding`),
    as the JSON array a vector search reads; the scale is left out: cosine ignores it."""
    return _signed(base64.b64decode(encode_embedding(vector)["data"]))


def _signed(raw: bytes) -> list[int]:
    """Bytes of int8 values as numbers: 0..127 stay, 128..255 are -128..-1."""
    return [value - 256 if value > 127 else value for value in raw]


def search_field(modality: str, result: Mapping[str, Any], embed: Embed) -> dict[str, Any] | None:
    """The ``search`` field of an ``ok`` result (see the module docstring), or None
    when it has nothing to be found by (no speech, an image without labels, a text
    without an embedding). Calls ``embed`` only for audio and image words."""
    if modality in ("text", "document"):  # a document's embedding is its text's
        stored = result.get("embedding")
        if not isinstance(stored, Mapping):
            return None
        decode_embedding(stored)  # a ValueError if it is not one
        return {"vector": _signed(base64.b64decode(stored["data"]))}
    words = searchable_text(modality, dict(result))
    if words is None:
        return None
    (vector,) = embed([words])
    return {"vector": int8_codes(vector), "words": words}


@dataclass(frozen=True)
class SearchRequest:
    """A search as ``GET /api/v1/search`` takes it: the words, the results listing's
    filters (modality, since, until) and how many hits."""

    query: str
    conditions: tuple[Where, ...] = ()
    limit: int = DEFAULT_SEARCH_LIMIT


def _hit(document: Mapping[str, Any], score: float) -> dict[str, Any]:
    source = document.get("source") or {}
    words = document.get("search_words")
    if words is None:
        words = (document.get(SEARCH_FIELD) or {}).get("words")
    return {
        "id": document["id"],
        "name": source.get("blob") or source.get("name") or document["id"],
        "modality": document.get("modality"),
        "score": round(float(score), 4),
        "matched": words if words is not None else "embedding",
        "created_at": document.get("created_at"),
    }


def scan_nearest(
    results: DocumentContainer,
    vector: Sequence[int],
    conditions: Sequence[Where],
    limit: int,
    *,
    page_size: int = 500,
) -> list[dict[str, Any]]:
    """The exact scan: every stored result that meets ``conditions`` (a page at a
    time, by the listing's own indexed query) with a ``search`` vector, by cosine of
    its int8 codes to ``vector`` — what ``VectorDistance`` computes — best first."""
    import numpy as np

    from prism.storage.clients import RESULTS_ORDER_BY
    from prism.storage.documents import Keyset

    query = np.asarray(vector, dtype=np.float64)
    query_norm = float(np.linalg.norm(query))
    scored: list[tuple[float, str, dict[str, Any]]] = []
    after: Keyset | None = None
    while page := results.page(conditions, order_by=RESULTS_ORDER_BY, limit=page_size, after=after):
        for document in page:
            stored = (document.get(SEARCH_FIELD) or {}).get("vector")
            if not isinstance(stored, list) or len(stored) != len(vector):
                continue
            codes = np.asarray(stored, dtype=np.float64)
            norms = query_norm * float(np.linalg.norm(codes))
            score = float(query @ codes / norms) if norms else 0.0
            scored.append((score, str(document["id"]), document))
        last = page[-1]
        after = Keyset(str(last[RESULTS_ORDER_BY]), str(last["id"]))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [_hit(document, score) for score, _, document in scored[:limit]]


def vector_nearest(
    results: DocumentContainer, vector: Sequence[int], conditions: Sequence[Where], limit: int
) -> list[dict[str, Any]]:
    """Cosmos DB's vector search (``VectorDistance``, cosine: higher is nearer)."""
    found = results.nearest(VECTOR_PATH, vector, conditions, fields=HIT_FIELDS, limit=limit)
    # A result without a vector (silence, or stored before the field) has no distance:
    # Cosmos DB leaves ``score`` out of its row rather than rank it.
    return [
        _hit(document, document["score"])
        for document in found
        if isinstance(document.get("score"), int | float)
    ]


def search_stored(
    results: DocumentContainer, request: SearchRequest, embed: Embed, *, backend: str
) -> dict[str, Any]:
    """``GET /api/v1/search``: the stored results nearest in meaning to the query,
    ``{"query", "backend", "results": [{id, name, modality, score, matched,
    created_at}], "count"}``; ``backend`` is ``vector`` or ``scan`` (see
    :func:`search_backend`)."""
    from prism.storage.documents import Where

    (query_vector,) = embed([request.query])
    codes = int8_codes(query_vector)
    conditions = (Where("status", "=", "ok"), *request.conditions)
    if backend == "vector":
        hits = vector_nearest(results, codes, conditions, request.limit)
    elif backend == "scan":
        hits = scan_nearest(results, codes, conditions, request.limit)
    else:
        raise ValueError(f"search backend is vector or scan: {backend!r}")
    return {"query": request.query, "backend": backend, "results": hits, "count": len(hits)}


def text_embedder(engine: Any) -> Embed:
    """An engine's text model (:class:`prism.inference.engine.Engine`) as an
    :data:`Embed`; a text the model rejects raises its PermanentError."""

    def embed(texts: Sequence[str]) -> list[np.ndarray]:
        vectors = []
        for outcome in engine.run(Modality.TEXT, [text.encode("utf-8") for text in texts]):
            if outcome.error is not None:
                raise outcome.error
            assert outcome.result is not None
            vectors.append(decode_embedding(outcome.result["embedding"]))
        return vectors

    return embed


def search_backend(setting: str, *, emulator: bool) -> str:
    """``vector`` or ``scan`` from the ``PRISM_SEARCH`` setting: ``auto`` scans exactly
    when the Cosmos DB account is the local emulator, which has no ``VectorDistance``
    (known from its configured endpoint, never guessed from a failed query)."""
    if setting == "auto":
        return "scan" if emulator else "vector"
    if setting not in ("vector", "scan"):
        raise ValueError(f"PRISM_SEARCH is auto, vector or scan: {setting!r}")
    return setting


def configured_backend(setting: str) -> str:
    """:func:`search_backend` for this process's Cosmos DB connection (app settings)."""
    from prism.storage.connections import CosmosConnection

    if setting != "auto":
        return search_backend(setting, emulator=False)
    return search_backend(setting, emulator=CosmosConnection.from_environ().is_loopback)
