"""Compact embeddings (int8 + scale, base64): how close they stay to the float vector,
how small they are, and that a stored value that is not one is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from prism.embedding import MAX_DIM, cosine, decode_embedding, encode_embedding

RNG = np.random.default_rng(12)


def unit(vector: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = vector / np.linalg.norm(vector)
    return normalised


def fidelity(vectors: list[np.ndarray]) -> float:
    """The lowest cosine between a vector and its stored form."""
    return min(cosine(v, decode_embedding(encode_embedding(v))) for v in vectors)


def test_an_l2_normalised_384d_embedding_keeps_a_cosine_above_0_9999() -> None:
    # What sentence encoders give: dense, roughly Gaussian components.
    assert fidelity([unit(RNG.normal(size=384)) for _ in range(1000)]) > 0.9999


def test_a_heavy_tailed_or_sparse_vector_keeps_a_cosine_above_0_998() -> None:
    heavy = [unit(RNG.standard_t(2, size=384)) for _ in range(500)]
    sparse = [unit(RNG.normal(size=384) * (RNG.random(384) < 0.05)) for _ in range(200)]
    assert fidelity(heavy + sparse) > 0.998


def test_the_largest_component_and_the_signs_survive_exactly() -> None:
    vector = unit(RNG.normal(size=384))
    stored = decode_embedding(encode_embedding(vector))
    top = int(np.argmax(np.abs(vector)))
    assert stored[top] == pytest.approx(vector[top], rel=1e-6)
    assert np.all(np.sign(stored[stored != 0]) == np.sign(vector[stored != 0]))


def test_the_stored_form_is_a_sixth_of_the_json_floats() -> None:
    vector = unit(RNG.normal(size=384))
    compact = len(json.dumps(encode_embedding(vector)))
    floats = len(json.dumps([round(float(v), 6) for v in vector]))
    assert compact < 600
    assert floats > 3000


def test_an_all_zero_vector_is_stored_and_read_back_as_zeros() -> None:
    stored = encode_embedding(np.zeros(8))
    assert stored["scale"] == 0.0
    assert not decode_embedding(stored).any()


@pytest.mark.parametrize("vector", [[], [1.0, float("nan")], [float("inf")], np.zeros(MAX_DIM + 1)])
def test_what_is_not_an_embedding_is_refused_when_stored(vector: Any) -> None:
    with pytest.raises(ValueError, match="embedding"):
        encode_embedding(vector)


GOOD = encode_embedding(np.ones(4))


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [0.1, 0.2],
        {**GOOD, "encoding": "float16"},
        {**GOOD, "dim": 5},
        {**GOOD, "dim": True},
        {**GOOD, "dim": 0},
        {**GOOD, "scale": -1.0},
        {**GOOD, "scale": float("nan")},
        {**GOOD, "scale": "0.1"},
        {**GOOD, "data": "not base64!"},
        {**GOOD, "data": 7},
        {**GOOD, "data": base64.b64encode(bytes([0x80, 1, 1, 1])).decode()},  # -128
    ],
)
def test_a_stored_value_that_is_not_an_embedding_is_refused_when_read(stored: Any) -> None:
    with pytest.raises(ValueError, match="embedding"):
        decode_embedding(stored)
