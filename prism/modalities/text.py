"""Text: all-MiniLM-L6-v2 sentence embeddings, int8, with zero-shot labels.

decode: strict UTF-8 (a BOM is dropped), size cap, no binary control characters.
preprocess: WordPiece tokens from the model's own tokenizer.json, truncated to the
token cap (the result says so).
execute: items are sorted by length and cut into groups that pad cheaply (see
:func:`length_groups`); one session call per group, padded to its longest item.
postprocess: zero-shot labels by cosine similarity of the float embedding to the
embeddings of the label descriptions ("sports: a match, a game, …") — or "other" when
no label reaches the threshold — and the 384-d embedding itself, stored compactly
(int8 + scale, base64: see :mod:`prism.embedding`).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prism.budget import MB, Cost
from prism.embedding import encode_embedding
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict
from prism.modality import Modality
from prism.onnx.registry import ModelRef, ModelSpec
from prism.onnx.sessions import get_session

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

OTHER_LABEL = "other"
TOP_LABELS = 3
# Control characters that never occur in real text but do in binary files.
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}
# Memory per byte of a text at its peak, and beside it (measured at the 1 MiB limit on
# every shape: tests/integration/test_costs.py).
TEXT_BYTES_PER_BYTE = 64
# Characters of a text encoded per token the model reads (see tokenize).
CHARACTERS_PER_TOKEN = 64
TEXT_WORKING_BYTES = 32 * MB


@dataclass(frozen=True)
class DecodedText:
    text: str
    characters: int


@dataclass(frozen=True)
class TokenizedText:
    ids: list[int]
    type_ids: list[int]
    truncated: bool


def decode_text(data: bytes, max_bytes: int) -> DecodedText:
    if len(data) > max_bytes:
        raise PermanentError(
            ErrorCode.TOO_LARGE, f"the text is {len(data)} bytes; the limit is {max_bytes} bytes"
        )
    try:
        text = data.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        raise PermanentError(
            ErrorCode.INVALID_ENCODING,
            f"the text is not valid UTF-8 (byte {exc.start}); save it as UTF-8 and retry",
        ) from exc
    if not text.strip():
        raise PermanentError(ErrorCode.EMPTY, "the text is empty or only white space")
    controls = sum(
        1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS
    )
    if controls:
        raise PermanentError(
            ErrorCode.CORRUPT,
            f"the text holds {controls} binary control characters; it looks like a binary file",
        )
    return DecodedText(text, len(text))


def text_cost(size: int) -> Cost:
    """The peak memory of embedding a ``size``-byte text: the bytes, the decoded string
    (up to 4 bytes a character) and what shaping makes of it (a JSON document's objects,
    a table's rows, the readable copy), per byte of the file; and, beside it, the
    tokenizer's encoding of the prefix the model reads and the model's activations."""
    return Cost(
        size * TEXT_BYTES_PER_BYTE + TEXT_WORKING_BYTES,
        f"a {size:,}-byte text",
        "send a shorter text",
    )


def load_tokenizer(spec: ModelSpec, max_tokens: int) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(spec.asset(str(spec.preprocessing["tokenizer"]))))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def tokenize(tokenizer: Tokenizer, text: str) -> TokenizedText:
    """The tokens the model reads of ``text``: at most the tokenizer's truncation length.

    Only a prefix of the text is encoded: the tokenizer encodes all it is given and keeps
    every token past the limit as overflow (about 500 bytes a token: 570 MB for 1 MiB of
    JSON punctuation, a token a character). ``CHARACTERS_PER_TOKEN`` characters a token
    is far more than any ordinary text takes, and the cut falls on white space, so the
    tokens read are the whole text's; ``truncated`` says the model did not read it all.
    """
    truncation = tokenizer.truncation
    cut = False
    if truncation is not None:
        limit = int(truncation["max_length"]) * CHARACTERS_PER_TOKEN
        if len(text) > limit:
            space = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
            text, cut = text[: space if space > limit // 2 else limit], True
    encoding = tokenizer.encode(text)
    truncated = cut or bool(encoding.overflowing)
    return TokenizedText(list(encoding.ids), list(encoding.type_ids), truncated)


def pad_batch(items: Sequence[TokenizedText]) -> dict[str, np.ndarray]:
    """Right-pad to the longest item: ids 0 and attention mask 0 on padding."""
    import numpy as np

    longest = max(len(item.ids) for item in items)
    ids = np.zeros((len(items), longest), dtype=np.int64)
    types = np.zeros((len(items), longest), dtype=np.int64)
    mask = np.zeros((len(items), longest), dtype=np.int64)
    for row, item in enumerate(items):
        ids[row, : len(item.ids)] = item.ids
        types[row, : len(item.type_ids)] = item.type_ids
        mask[row, : len(item.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


# A group's padded size may exceed its real tokens by this much before it is split: the
# encoder's cost grows with padded length, so mixing 8- and 60-token texts in one call
# costs more than two calls.
MAX_PADDING_OVERHEAD = 1.25


def length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by similar length: sorted, then cut wherever padding the group to
    its longest item would cost more than ``MAX_PADDING_OVERHEAD`` × its real tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for index in order:
        if groups:
            group = groups[-1]
            padded = lengths[index] * (len(group) + 1)
            real = sum(lengths[i] for i in group) + lengths[index]
            if padded <= MAX_PADDING_OVERHEAD * real:
                group.append(index)
                continue
        groups.append([index])
    return groups


class TextEmbedder:
    """The text modality (see the module docstring for its steps)."""

    modality = Modality.TEXT
    header_bytes = 0  # the cost follows from the size and the limits

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        max_bytes: int,
        max_tokens: int,
        labels: Sequence[str],
        other_threshold: float,
    ) -> None:
        model_max = int(spec.preprocessing["max_tokens"])
        if not 2 < max_tokens <= model_max:
            raise ValueError(f"max_tokens must be in 3..{model_max}, got {max_tokens}")
        if not labels:
            raise ValueError("at least one text label is required")
        self.spec = spec
        self.model: ModelRef = spec.ref
        self.threads = threads
        self.max_bytes = max_bytes
        self.max_tokens = max_tokens
        self.label_prompts = tuple(labels)
        self.labels = tuple(label.split(":", 1)[0].strip() for label in labels)
        self.other_threshold = other_threshold
        self._tokenizer: Tokenizer | None = None
        self._label_embeddings: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def tokenizer(self) -> Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(self.spec, self.max_tokens)
            return self._tokenizer

    def cost(self, size: int, head: bytes) -> Cost:
        return text_cost(size)

    def decode(self, data: bytes) -> DecodedText:
        return decode_text(data, self.max_bytes)

    def preprocess(self, decoded: DecodedText) -> TokenizedText:
        return tokenize(self.tokenizer, decoded.text)

    def embed(self, items: Sequence[TokenizedText]) -> np.ndarray:
        import numpy as np

        session = get_session(self.spec.onnx_path(), self.threads)
        (embeddings,) = session.run(None, pad_batch(items))
        return np.asarray(embeddings, dtype=np.float32)

    def execute(self, batch: Sequence[TokenizedText]) -> list[np.ndarray]:
        """One model call per group of similar lengths (see :func:`length_groups`)."""
        outputs: list[np.ndarray | None] = [None] * len(batch)
        for group in length_groups([len(item.ids) for item in batch]):
            for index, embedding in zip(group, self.embed([batch[i] for i in group]), strict=True):
                outputs[index] = embedding
        return [output for output in outputs if output is not None]

    def label_embeddings(self) -> np.ndarray:
        if self._label_embeddings is None:
            prompts = [tokenize(self.tokenizer, prompt) for prompt in self.label_prompts]
            self._label_embeddings = self.embed(prompts)
        return self._label_embeddings

    def label_scores(self, raw: np.ndarray) -> np.ndarray:
        """Each label's cosine to the text's embedding ``raw``."""
        scores: np.ndarray = self.label_embeddings() @ raw
        return scores

    def postprocess(
        self, decoded: DecodedText, prepared: TokenizedText, raw: np.ndarray
    ) -> JsonDict:
        import numpy as np

        scores = self.label_scores(raw)
        order = np.argsort(scores)[::-1][:TOP_LABELS]
        labels = [
            {"label": self.labels[int(i)], "score": round(float(scores[i]), 4)}
            for i in order
            if scores[i] >= self.other_threshold
        ]
        return {
            "characters": decoded.characters,
            "tokens": len(prepared.ids),
            "truncated": prepared.truncated,
            "labels": labels or [{"label": OTHER_LABEL, "score": round(float(scores.max()), 4)}],
            "embedding": encode_embedding(raw),
        }
