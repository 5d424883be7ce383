"""Embeddings stored compactly: int8 with one scale per vector, base64-encoded.

A 384-d float embedding written as JSON numbers takes ~3.6 KB; Cosmos DB bills writes
and storage by document size. Stored here as::

    {"encoding": "int8", "dim": 384, "scale": 0.0132, "data": "<base64 of 384 bytes>"}

each value is ``scale × int8``, with ``scale = max|v| / 127`` (symmetric, per vector),
so the largest component keeps its value and every other is off by at most ``scale/2``.
That is 512 base64 characters instead of ~3,600, and a cosine to the float embedding of
0.9999+ (measured in tests/unit/test_embedding.py on random and real embeddings).

To use one: ``decode_embedding(result["embedding"])`` gives a float32 array.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ENCODING = "int8"
_LEVELS = 127  # symmetric: -127..127 (never -128, so negation is exact)
MAX_DIM = 65_536


def encode_embedding(vector: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The compact form of ``vector`` (any length from 1 to MAX_DIM, finite values)."""
    import numpy as np

    values = np.asarray(vector, dtype=np.float64).reshape(-1)
    if not 1 <= values.size <= MAX_DIM:
        raise ValueError(f"an embedding has 1 to {MAX_DIM} values, not {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("an embedding holds only finite values")
    largest = float(np.max(np.abs(values)))
    # float32 precision for the scale: what decoding multiplies by is what was stored.
    scale = float(np.float32(largest / _LEVELS)) if largest > 0 else 0.0
    codes = np.clip(np.rint(values / scale), -_LEVELS, _LEVELS) if scale else np.zeros(values.size)
    return {
        "encoding": ENCODING,
        "dim": int(values.size),
        "scale": scale,
        "data": base64.b64encode(codes.astype(np.int8).tobytes()).decode("ascii"),
    }


def decode_embedding(stored: Mapping[str, Any]) -> np.ndarray:
    """The float32 values of a stored embedding; ValueError if it is not one."""
    import numpy as np

    if not isinstance(stored, Mapping) or stored.get("encoding") != ENCODING:
        raise ValueError(f"not a stored embedding (encoding {ENCODING!r} expected)")
    dim, scale, data = stored.get("dim"), stored.get("scale"), stored.get("data")
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise ValueError(f"an embedding's dim is a whole number from 1 to {MAX_DIM}")
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not (math.isfinite(scale) and scale >= 0)
    ):
        raise ValueError("an embedding's scale is a finite number, zero or more")
    if not isinstance(data, str):
        raise ValueError("an embedding's data is a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("an embedding's data is not valid base64") from exc
    if len(raw) != dim:
        raise ValueError(f"an embedding's data holds {len(raw)} values, its dim says {dim}")
    codes = np.frombuffer(raw, dtype=np.int8)
    if np.any(codes == -128):
        raise ValueError("an embedding's values are -127..127")
    result: np.ndarray = codes.astype(np.float32) * np.float32(scale)
    return result


def cosine(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity of two vectors (0 when either is all zeros)."""
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y / norms) if norms else 0.0
