"""Build Silero VAD: the batched sequence model from its wheel, LSTM-only int8."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets
from models.common import BuildContext, open_session, package_file

EVAL_TRACKS = 3  # seeds of spoken tracks; about 20 s (600+ frames) each


def quantize(fp32: Path, target: Path, op_types: list[str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32), str(target), op_types_to_quantize=op_types, weight_type=QuantType.QInt8
    )


def frame_probabilities(model: Path, audio: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Per-frame speech probabilities, using the runtime's framing and state handling."""
    from prism.modalities.audio import frame_audio, run_sequence_model

    session = open_session(model, threads=1)
    frames = frame_audio(audio, int(params["frame_samples"]), int(params["context_samples"]))
    return run_sequence_model(session, frames)


def evaluate(ctx: BuildContext, fp32: Path, int8: Path) -> dict[str, Any]:
    params = ctx.entry["preprocessing"]
    threshold = float(params["threshold"])
    agreements: list[np.ndarray] = []
    max_abs = 0.0
    for seed in range(EVAL_TRACKS):
        track = datasets.speech_track(seed, int(params["sample_rate"]))
        reference = frame_probabilities(fp32, track, params)
        quantized = frame_probabilities(int8, track, params)
        agreements.append((reference >= threshold) == (quantized >= threshold))
        max_abs = max(max_abs, float(np.max(np.abs(reference - quantized))))
    decisions = np.concatenate(agreements)
    return {
        "eval_items": int(decisions.size),
        "frame_decision_agreement": float(decisions.mean()),
        "max_probability_difference": max_abs,
    }


def build(ctx: BuildContext) -> dict[str, Any]:
    upstream = ctx.entry["upstream"]
    fp32 = ctx.output("fp32.onnx")
    int8 = ctx.output("int8.onnx")
    shutil.copyfile(package_file(upstream["file"], upstream["sha256"]), fp32)
    ctx.report("audio: dynamic int8 quantization of the LSTM")
    quantize(fp32, int8, list(ctx.entry["quantization"]["op_types"]))
    ctx.report("audio: evaluating fp32 vs int8 on spoken tracks")
    return evaluate(ctx, fp32, int8)
