"""Build all-MiniLM-L6-v2: encoder + mean pooling + L2 norm in one ONNX graph, int8."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets
from models.common import BuildContext, package_file, tensor_batches
from prism.modalities.text import load_tokenizer, pad_batch, tokenize

EVAL_SENTENCES = 120


def export_fp32(ctx: BuildContext, target: Path) -> None:
    import torch
    from transformers import BertModel

    upstream = ctx.entry["upstream"]
    weights = package_file(upstream["file"], upstream["sha256"])
    encoder = BertModel.from_pretrained(str(weights.parent), local_files_only=True)
    encoder.eval()  # type: ignore[no-untyped-call]

    class SentenceEncoder(torch.nn.Module):
        """Mean pooling over real tokens, then L2 normalisation, as sentence-transformers."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    dummy = torch.ones(2, 8, dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        SentenceEncoder(),
        (dummy, dummy, torch.zeros_like(dummy)),
        str(target),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["embedding"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "embedding": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )


def quantize(fp32: Path, target: Path, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The exported graph is unfused; ORT fuses at session start, after quantization.
    quantize_dynamic(str(fp32), str(target), per_channel=per_channel, weight_type=QuantType.QInt8)


def evaluate(ctx: BuildContext, fp32: Path, int8: Path) -> dict[str, Any]:
    tokenizer = load_tokenizer(ctx.spec, int(ctx.entry["preprocessing"]["max_tokens"]))
    texts = datasets.sentences(EVAL_SENTENCES)
    inputs = pad_batch([tokenize(tokenizer, text) for text in texts])
    reference = tensor_batches(fp32, inputs)
    quantized = tensor_batches(int8, inputs)
    cosine = np.sum(reference * quantized, axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(quantized, axis=1)
    )
    return {
        "eval_items": len(texts),
        "cosine_mean": float(cosine.mean()),
        "cosine_min": float(cosine.min()),
    }


def build(ctx: BuildContext) -> dict[str, Any]:
    upstream = ctx.entry["upstream"]
    tokenizer = package_file(upstream["tokenizer"], upstream["tokenizer_sha256"])
    shutil.copyfile(tokenizer, ctx.model_dir / str(ctx.entry["preprocessing"]["tokenizer"]))
    fp32 = ctx.output("fp32.onnx")
    int8 = ctx.output("int8.onnx")
    ctx.report("text: exporting all-MiniLM-L6-v2 with pooling to ONNX")
    export_fp32(ctx, fp32)
    ctx.report("text: dynamic int8 quantization (per-channel)")
    quantize(fp32, int8, bool(ctx.entry["quantization"]["per_channel"]))
    ctx.report("text: evaluating fp32 vs int8")
    return evaluate(ctx, fp32, int8)
