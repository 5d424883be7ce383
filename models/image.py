"""Build EfficientNet-Lite0: export fp32 ONNX, quantize to static QDQ int8, evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets
from models.common import BuildContext, package_file, tensor_batches
from prism.modalities.image import softmax

CALIBRATION_CROPS_PER_PHOTO = 16
EVALUATION_CROPS_PER_PHOTO = 13
CONFIDENT = 0.3  # fp32 top-1 probability above which a prediction is not a near-tie


def export_fp32(ctx: BuildContext, target: Path) -> None:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    weights = package_file(ctx.entry["upstream"]["file"], ctx.entry["upstream"]["sha256"])
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
    model.eval()
    dummy = torch.zeros(2, 3, 224, 224)  # batch 2 keeps the batch axis dynamic
    torch.onnx.export(
        model,
        (dummy,),
        str(target),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,  # the legacy exporter gives a plain Conv/Clip graph ORT quantizes well
    )


def readable_names(synonyms: dict[str, str], overrides: dict[str, str]) -> list[str]:
    """One readable, distinct name per ImageNet class from its WordNet synonyms
    ("tabby, tabby cat" → "tabby cat", "tiger cat" → "tiger cat"); see the manifest's
    ``labels.rule``."""
    names = []
    for class_id in range(len(synonyms)):
        key = str(class_id)
        if key in overrides:
            names.append(overrides[key])
            continue
        first, *others = (name.strip() for name in synonyms[key].split(", "))
        longer = [name for name in others if name.startswith(first + " ")]
        names.append(longer[0] if longer else first)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RuntimeError(f"ImageNet names must be distinct; repeated: {duplicates}")
    return names


def write_labels(source: dict[str, Any], target: Path) -> None:
    synonyms = json.loads(package_file(source["file"], source["sha256"]).read_text("utf-8"))
    if len(synonyms) != 1000:
        raise RuntimeError(f"expected 1000 ImageNet labels, found {len(synonyms)}")
    names = readable_names(synonyms, dict(source["overrides"]))
    target.write_text(json.dumps(names, indent=0) + "\n", encoding="utf-8")


def _excluded_nodes(model_path: Path) -> list[str]:
    """The stem and MBConv blocks 0–1: where int8 error starts and then compounds."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    prefixes = ("/_conv_stem/", "/_blocks.0/", "/_blocks.1/")
    return [node.name for node in graph.node if node.name.startswith(prefixes)]


def quantize(ctx: BuildContext, fp32: Path, target: Path) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    recipe = ctx.entry["quantization"]
    calibration_photos, _ = datasets.split_photos()
    rng = np.random.default_rng(1)
    samples = [
        crop[np.newaxis]
        for photo in calibration_photos
        for crop in datasets.random_crops(
            photo, CALIBRATION_CROPS_PER_PHOTO, ctx.entry["preprocessing"], rng
        )
    ]

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._items = iter(samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self._items, None)
            return None if item is None else {"input": item}

    prepared = ctx.work_dir / "image.prepared.onnx"
    quant_pre_process(str(fp32), str(prepared))
    quantize_static(
        str(prepared),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=bool(recipe["per_channel"]),
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.Percentile,
        nodes_to_exclude=_excluded_nodes(prepared),
        extra_options={"CalibPercentile": float(recipe["calibration_percentile"])},
    )
    ctx.report(f"image: calibrated on {len(samples)} crops of {len(calibration_photos)} photos")


def evaluate(ctx: BuildContext, fp32: Path, int8: Path) -> dict[str, Any]:
    """fp32 vs int8 on crops of the evaluation photos (never used for calibration)."""
    _, evaluation_photos = datasets.split_photos()
    rng = np.random.default_rng(2)
    params = ctx.entry["preprocessing"]
    crops = np.stack(
        [
            crop
            for photo in evaluation_photos
            for crop in datasets.random_crops(photo, EVALUATION_CROPS_PER_PHOTO, params, rng)
        ]
    )
    reference = softmax(tensor_batches(fp32, {"input": crops}))
    quantized = softmax(tensor_batches(int8, {"input": crops}))
    ref_top1 = reference.argmax(axis=1)
    int8_top1 = quantized.argmax(axis=1)
    int8_top5 = np.argsort(-quantized, axis=1)[:, :5]
    confident = reference.max(axis=1) > CONFIDENT
    agree = ref_top1 == int8_top1
    kl = np.sum(reference * (np.log(reference + 1e-12) - np.log(quantized + 1e-12)), axis=1)

    known = [p for p in datasets.photos() if p.true_classes]
    whole = np.stack([datasets.photo_tensor(p, params) for p in known])
    fp32_known = tensor_batches(fp32, {"input": whole}).argmax(axis=1)
    int8_known = tensor_batches(int8, {"input": whole}).argmax(axis=1)
    return {
        "eval_items": len(crops),
        "top1_agreement": float(agree.mean()),
        "confident_top1_agreement": float(agree[confident].mean()),
        "confident_items": int(confident.sum()),
        "top5_containment": float(np.mean(np.any(int8_top5 == ref_top1[:, None], axis=1))),
        "mean_kl_divergence": float(kl.mean()),
        "fp32_top1_accuracy_known_photos": float(
            np.mean([c in p.true_classes for c, p in zip(fp32_known, known, strict=True)])
        ),
        "int8_top1_accuracy_known_photos": float(
            np.mean([c in p.true_classes for c, p in zip(int8_known, known, strict=True)])
        ),
        "known_photos": len(known),
    }


def build(ctx: BuildContext) -> dict[str, Any]:
    fp32 = ctx.output("fp32.onnx")
    int8 = ctx.output("int8.onnx")
    ctx.report("image: exporting EfficientNet-Lite0 to ONNX")
    export_fp32(ctx, fp32)
    write_labels(ctx.entry["upstream"]["labels"], ctx.model_dir / "labels.json")
    ctx.report("image: calibrating and quantizing (static QDQ, per-channel)")
    quantize(ctx, fp32, int8)
    ctx.report("image: evaluating fp32 vs int8")
    return evaluate(ctx, fp32, int8)
