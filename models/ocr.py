"""Build PP-OCRv4 (detection + recognition) from the ``rapidocr-onnxruntime`` wheel.

The wheel ships the two graphs as ONNX (exported from PaddlePaddle by paddle2onnx); the
recognition graph carries its dictionary in its metadata. The build copies both out
(hash-checked), writes the dictionary as ``charset.json``, quantizes each to int8 and
gates int8 against fp32 — and both against the truth — by character error rate on
pages it renders itself (Pillow's built-in font and the DejaVu fonts of the matplotlib
wheel, prose from package descriptions, half the pages degraded like a scan), read
end to end by the runtime's own :class:`prism.modalities.ocr.TextReader`.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from models import datasets
from models.common import BuildContext, package_file
from prism.modalities.ocr import CHARSET_FILE, TextReader, page_text
from prism.onnx.registry import Precision

PARTS = ("det", "rec")
PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 90


def _fonts() -> list[tuple[str, Any]]:
    """(name, loader(size)) for the fonts pages are set in."""
    from PIL import ImageFont

    fonts: list[tuple[str, Any]] = [("pillow-default", ImageFont.load_default)]
    try:
        import matplotlib

        ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        for name in ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"):
            if (ttf / name).is_file():
                path = str(ttf / name)
                fonts.append((name, lambda size, path=path: ImageFont.truetype(path, size)))
    except ImportError:  # the app's environment has no matplotlib: Pillow's font only
        pass
    return fonts


def render_page(lines_of_text: list[str], seed: int, *, scanned: bool) -> tuple[Any, str]:
    """A white page with ``lines_of_text`` set in one font and size, word-wrapped;
    returns (RGB image, the text as set: one line of the page per line)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    fonts = _fonts()
    _, load = fonts[seed % len(fonts)]
    size = rng.choice((20, 24, 28, 32))
    font = load(size)
    page = Image.new("RGB", PAGE_SIZE, "white")
    draw = ImageDraw.Draw(page)
    width = PAGE_SIZE[0] - 2 * MARGIN
    y = MARGIN
    set_lines: list[str] = []
    for paragraph in lines_of_text:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if draw.textlength(candidate, font=font) <= width:
                line = candidate
                continue
            set_lines.append(line)
            line = word
        set_lines.append(line)
    drawn = []
    for line in set_lines:
        if y + size * 1.6 > PAGE_SIZE[1] - MARGIN:
            break
        draw.text((MARGIN, y), line, fill="black", font=font)
        drawn.append(line)
        y += int(size * 1.6)
    if scanned:
        # A scan: slightly blurred, grey paper, sensor noise.
        page = page.filter(ImageFilter.GaussianBlur(0.8))
        pixels = np.asarray(page).astype(np.float32) * 0.9 + 12
        pixels += np.random.default_rng(seed).normal(0, 6, pixels.shape)
        page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return page, "\n".join(drawn)


def pages(count: int, first_seed: int) -> list[tuple[Any, str]]:
    """``count`` rendered pages (every other one scanned) with their text."""
    prose = datasets.sentences(200)
    out = []
    for index in range(count):
        seed = first_seed + index
        rng = random.Random(seed)
        paragraphs = [" ".join(rng.sample(prose, 3)) for _ in range(6)]
        out.append(render_page(paragraphs, seed, scanned=index % 2 == 1))
    return out


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def char_errors(reference: str, hypothesis: str) -> int:
    """Levenshtein distance in characters, one numpy row per reference character
    (insertions along the row by a running minimum)."""
    hyp = np.frombuffer(hypothesis.encode("utf-32-le"), dtype=np.uint32)
    positions = np.arange(len(hyp) + 1)
    previous = positions.copy()
    for i, code in enumerate(np.frombuffer(reference.encode("utf-32-le"), dtype=np.uint32), 1):
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, previous[:-1] + (hyp != code))
        current = np.minimum.accumulate(current - positions) + positions
        previous = current
    return int(previous[-1])


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Character errors over reference characters, whitespace runs counted as one space."""
    total = sum(len(_plain(r)) for r in references)
    errors = sum(
        char_errors(_plain(r), _plain(h)) for r, h in zip(references, hypotheses, strict=True)
    )
    return errors / total if total else float("nan")


CALIBRATION_PAGES = 6
CALIBRATION_SEED = 5000  # calibration and evaluation pages never share a seed
EVAL_PAGES = 12
EVAL_SEED = 1000
REC_CALIBRATION_WIDTH = 960  # calibration crops padded to one width (see quantize)


def copy_upstream(ctx: BuildContext) -> None:
    """The wheel's graphs, hash-checked, converted to opset 17 (the wheel's are opset
    11/12; per-channel QDQ needs 13 or later), and the recogniser's dictionary."""
    import onnx
    from onnx import version_converter

    for part in PARTS:
        source = ctx.entry["upstream"]["files"][part]
        model = onnx.load(str(package_file(source["file"], source["sha256"])))
        if part == "rec":
            [characters] = [p.value for p in model.metadata_props if p.key == "character"]
            # Class 0 is CTC's blank; PP-OCR appends a space after the dictionary.
            charset = [*characters.split("\n"), " "]
            (ctx.model_dir / CHARSET_FILE).write_text(
                json.dumps(charset, ensure_ascii=False), encoding="utf-8"
            )
        converted = version_converter.convert_version(model, 17)
        onnx.save(converted, str(ctx.output(f"{part}.fp32.onnx")))


def calibration_inputs(ctx: BuildContext) -> dict[str, list[np.ndarray]]:
    """Detector inputs of whole calibration pages; recogniser inputs of every third line
    the fp32 detector finds on them, right-padded to one width."""
    from prism.modalities.ocr import detection_input, pad_batch, recognition_crop

    reader = TextReader(ctx.spec, threads=2, precision="fp32")
    params = reader.params
    det, rec = [], []
    for image, _ in pages(CALIBRATION_PAGES, CALIBRATION_SEED):
        det.append(detection_input(image, params.det_max_side)[0])
        for box in reader.detect(image)[::3]:
            crop = recognition_crop(image, box, params.rec_height, REC_CALIBRATION_WIDTH)
            padded = pad_batch([crop, np.zeros((3, params.rec_height, REC_CALIBRATION_WIDTH))])
            rec.append(padded[:1])
    return {"det": det, "rec": rec}


def quantize(ctx: BuildContext, part: str, inputs: list[np.ndarray]) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    recipe = ctx.entry["quantization"]
    prepared = ctx.work_dir / f"{ctx.name}.{part}.prepared.onnx"
    quant_pre_process(str(ctx.output(f"{part}.fp32.onnx")), str(prepared), skip_symbolic_shape=True)

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self.items, None)
            return None if item is None else {"x": item}

    quantize_static(
        str(prepared),
        str(ctx.output(f"{part}.int8.onnx")),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        op_types_to_quantize=list(recipe["op_types"]),
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibPercentile": float(recipe["calibration_percentile"])},
    )


def read_pages(
    ctx: BuildContext, precision: Precision, images: list[Any]
) -> tuple[list[str], float]:
    """Each page's text, and the median seconds per page, one thread as on one core."""
    reader = TextReader(ctx.spec, threads=1, precision=precision)
    texts, seconds = [], []
    for image in images:
        start = time.perf_counter()
        texts.append(page_text(reader.read(image)))
        seconds.append(time.perf_counter() - start)
    return texts, float(np.median(seconds))


def evaluate(ctx: BuildContext) -> dict[str, Any]:
    rendered = pages(EVAL_PAGES, EVAL_SEED)
    images = [image for image, _ in rendered]
    truth = [text for _, text in rendered]
    fp32, fp32_seconds = read_pages(ctx, "fp32", images)
    int8, int8_seconds = read_pages(ctx, "int8", images)
    cer_fp32 = character_error_rate(truth, fp32)
    cer_int8 = character_error_rate(truth, int8)
    scanned = slice(1, None, 2)
    return {
        "eval_items": len(images),
        "eval_characters": sum(len(_plain(t)) for t in truth),
        "cer_int8_vs_fp32": character_error_rate(fp32, int8),
        "cer_int8": cer_int8,
        "cer_fp32": cer_fp32,
        "cer_quantization_cost": cer_int8 - cer_fp32,
        "cer_int8_scanned": character_error_rate(truth[scanned], int8[scanned]),
        "seconds_per_page_fp32": round(fp32_seconds, 3),
        "seconds_per_page_int8": round(int8_seconds, 3),
    }


def build(ctx: BuildContext) -> dict[str, Any]:
    ctx.report("ocr: copying PP-OCRv4 detection and recognition out of rapidocr-onnxruntime")
    copy_upstream(ctx)
    ctx.report("ocr: static int8 (QDQ, per channel) calibrated on rendered pages")
    inputs = calibration_inputs(ctx)
    for part in PARTS:
        quantize(ctx, part, inputs[part])
    ctx.report("ocr: reading rendered pages with fp32 and int8")
    return evaluate(ctx)
