"""Optical character recognition: PP-OCRv4 detection and recognition, int8.

Prism's own pre- and post-processing around the two graphs (no OpenCV):

detect: the page (RGB) scaled so its longer side is at most ``det_max_side`` and both
sides are multiples of 32, normalised to (x/255 − 0.5)/0.5 in BGR order; the model
returns a text-probability map. Post-processing is a simple DB: threshold the map,
dilate by one pixel, label the connected regions (runs joined row by row with a
union-find, numpy only), drop regions whose mean probability is below ``box_threshold``,
and grow each region's box by DB's unclip distance (area × ratio / perimeter) because
the model predicts shrunk text kernels.

deskew: a scan is rarely straight, and an axis-aligned box around a line tilted by one
degree takes in its neighbours, so the line is misread or dropped. The skew is read from
the probability map itself (the angle at which the text kernels' rows project most
sharply, up to ``MAX_SKEW_DEGREES``); a page tilted by ``MIN_SKEW_DEGREES`` or more is
detected again upright (the detector's small picture turned, never the page), and each
box is read from the page as the quadrilateral it is there. Text turned further (a page
on its side) is out of scope: the direction classifier is not used.

recognise: each box cropped from the page, scaled to 48 pixels high (width by aspect
ratio), normalised the same way, batched by width; CTC greedy decoding (best class per
time step, repeats collapsed, blanks dropped) over the dictionary read from the
recognition model's own metadata at build time (``charset.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prism.onnx.registry import ModelSpec, Precision
from prism.onnx.sessions import get_session

if TYPE_CHECKING:
    from PIL import Image as PILImage

CHARSET_FILE = "charset.json"
DET_MULTIPLE = 32
REC_BATCH = 8
# Memory one detection holds per pixel of its input (measured: ~140 MB at 960 × 960,
# ~250 MB at 1280 × 1280 — the DB network's activations, freed when it returns: ONNX
# Runtime's arena is off), with room for a batch of recognition crops.
DETECTION_BYTES_PER_PIXEL = 176
# Skew read from the probability map: searched within ±MAX_SKEW_DEGREES (scanners and
# phone photos of pages tilt a few degrees), first in coarse then in fine steps; below
# MIN_SKEW_DEGREES a line still fits its axis-aligned box and nothing is turned.
MAX_SKEW_DEGREES = 6.0
SKEW_STEPS_DEGREES = (0.25, 0.025)
MIN_SKEW_DEGREES = 0.2
# The text pixels the skew is read from, at most (evenly spaced): plenty for a page.
SKEW_SAMPLE_PIXELS = 60_000
# Lines each side of a gutter needs before the page is read as columns, and how many
# times wider than the gutter most of them are (columns of prose are set close).
MIN_COLUMN_LINES = 3
GUTTER_RATIO = 3.0
# A gutter is at least half a line high wide, between boxes (which DB's unclip grows by
# about a third of a line each side, so a gutter of one line looks a third as wide).
MIN_GUTTER_LINE_HEIGHTS = 0.5
# Boxes that may cross a gutter (headings over the columns), and the widest strips tried
# at each count.
MAX_HEADINGS = 3
GUTTER_CANDIDATES = 4


@dataclass(frozen=True)
class OcrParams:
    """The manifest's preprocessing for the OCR model (defaults are PP-OCR's)."""

    det_max_side: int = 1600
    det_threshold: float = 0.3
    box_threshold: float = 0.5
    unclip_ratio: float = 1.6
    min_box_side: int = 3
    rec_height: int = 48
    rec_max_width: int = 2400
    min_confidence: float = 0.5

    @classmethod
    def from_preprocessing(cls, params: dict[str, Any]) -> OcrParams:
        fields = cls.__dataclass_fields__
        return cls(**{k: type(getattr(cls(), k))(v) for k, v in params.items() if k in fields})


@dataclass(frozen=True)
class TextBox:
    """A text box (x1, y1 exclusive) with its detection score.

    On a straight page the box is in page pixels and ``corners`` is None. On a skewed
    page (x0, y0, x1, y1) is the box on the page turned upright, at the page's scale:
    reading order and line grouping use it; ``corners`` are where the box lies on the
    page (upper-left, lower-left, lower-right, upper-right; x, y each), and it is read
    from there.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    score: float
    corners: tuple[float, ...] | None = None

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def page_box(self) -> tuple[int, int, int, int]:
        """The axis-aligned box in page pixels that holds it."""
        if self.corners is None:
            return self.x0, self.y0, self.x1, self.y1
        xs, ys = self.corners[0::2], self.corners[1::2]
        return (max(0, math.floor(min(xs))), max(0, math.floor(min(ys))),
                math.ceil(max(xs)), math.ceil(max(ys)))  # fmt: skip


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: TextBox

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 3),
            "box": list(self.box.page_box),
        }


def _normalise(rgb: np.ndarray) -> np.ndarray:
    """HWC uint8 RGB → CHW float32 BGR, (x/255 − 0.5)/0.5 (PP-OCR's input)."""
    bgr = rgb[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(((bgr / 255.0 - 0.5) / 0.5).transpose(2, 0, 1))


def detection_picture(image: PILImage.Image, max_side: int) -> tuple[PILImage.Image, float, float]:
    """The page as the detector sees it (longer side at most ``max_side``, both sides
    multiples of 32), and the x and y scale from it back to the page."""
    from PIL import Image

    width, height = image.size
    ratio = min(1.0, max_side / max(width, height))
    target_w = max(DET_MULTIPLE, round(width * ratio / DET_MULTIPLE) * DET_MULTIPLE)
    target_h = max(DET_MULTIPLE, round(height * ratio / DET_MULTIPLE) * DET_MULTIPLE)
    # Every caller passes RGB; a converted copy of a 40-megapixel photo would cost 120 MB.
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    resized = rgb.resize((target_w, target_h), Image.Resampling.BILINEAR)
    return resized, width / target_w, height / target_h


def detection_input(image: PILImage.Image, max_side: int) -> tuple[np.ndarray, float, float]:
    """The detector's (1, 3, H, W) input and the x and y scale from it back to the page."""
    picture, scale_x, scale_y = detection_picture(image, max_side)
    return _normalise(np.asarray(picture))[None], scale_x, scale_y


def estimate_skew(mask: np.ndarray) -> float:
    """The slope of the text lines of a text mask, in degrees (positive: a line goes
    down to the right, as y grows downwards): the angle at which the text pixels' rows,
    projected along it, pile up most sharply (sum of squared row counts)."""
    ys, xs = np.nonzero(mask)
    if ys.size < 2:
        return 0.0
    stride = max(1, ys.size // SKEW_SAMPLE_PIXELS)
    ys, xs = ys[::stride].astype(np.float64), xs[::stride] - mask.shape[1] / 2

    def sharpness(degrees: float) -> float:
        rows = np.round(ys - xs * math.tan(math.radians(degrees))).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        return float(np.dot(counts, counts))

    best, span = 0.0, MAX_SKEW_DEGREES
    for step in SKEW_STEPS_DEGREES:
        candidates = np.arange(best - span, best + span + step / 2, step)
        best = float(max(candidates, key=sharpness))
        span = step
    return round(best, 3)


def upright_picture(
    picture: PILImage.Image, slope_degrees: float
) -> tuple[PILImage.Image, tuple[float, ...]]:
    """``picture`` turned so that lines of slope ``slope_degrees`` are level, on its own
    paper colour; and the affine map (a, b, c, d, e, f) from a point (u, v) of the
    upright picture back to (a·u + b·v + c, d·u + e·v + f) in ``picture``."""
    from PIL import Image

    angle = math.radians(slope_degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    width, height = picture.size
    turned_w = math.ceil(width * abs(cos) + height * abs(sin))
    turned_h = math.ceil(width * abs(sin) + height * abs(cos))
    # Centre to centre, turned by the slope: a level row of the upright picture follows
    # a line of the page.
    a, b, d, e = cos, -sin, sin, cos
    c = width / 2 - a * turned_w / 2 - b * turned_h / 2
    f = height / 2 - d * turned_w / 2 - e * turned_h / 2
    pixels = np.asarray(picture)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    paper = tuple(int(v) for v in np.median(border, axis=0))
    matrix = (a, b, c, d, e, f)
    upright = picture.transform(
        (turned_w, turned_h), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR,
        fillcolor=paper,
    )  # fmt: skip
    return upright, matrix


def label_regions(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1; exclusive ends) of the 4-connected regions of a
    boolean mask: each row's runs of True are joined to the overlapping runs of the
    row above with a union-find."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    run_rows, run_starts = np.nonzero(edges == 1)
    _, run_ends = np.nonzero(edges == -1)  # same row-major order: runs pair up
    parent = list(range(len(run_rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(run_rows, np.arange(height + 1))
    for row in range(1, height):
        above = range(int(row_first[row - 1]), int(row_first[row]))
        here = range(int(row_first[row]), int(row_first[row + 1]))
        if not above or not here:
            continue
        j = above.start
        for i in here:
            # Runs above that end before this run starts cannot touch it or later ones.
            while j < above.stop and run_ends[j] <= run_starts[i]:
                j += 1
            k = j
            while k < above.stop and run_starts[k] < run_ends[i]:
                a, b = find(i), find(k)
                if a != b:
                    parent[a] = b
                k += 1
    boxes: dict[int, list[int]] = {}
    for i in range(len(run_rows)):
        root = find(i)
        row, start, end = int(run_rows[i]), int(run_starts[i]), int(run_ends[i])
        box = boxes.get(root)
        if box is None:
            boxes[root] = [start, row, end, row + 1]
        else:
            box[0], box[1] = min(box[0], start), min(box[1], row)
            box[2], box[3] = max(box[2], end), max(box[3], row + 1)
    return [(b[0], b[1], b[2], b[3]) for b in boxes.values()]


def boxes_from_probability(
    probability: np.ndarray,
    params: OcrParams,
    scale_x: float,
    scale_y: float,
    page_size: tuple[int, int],
) -> list[TextBox]:
    """Text boxes in page pixels from the detector's (H, W) probability map."""
    mask = probability > params.det_threshold
    # One pixel of dilation (PP-OCR dilates with a 2 × 2 kernel) joins a kernel's
    # fragments without merging neighbouring lines.
    dilated = mask.copy()
    dilated[1:, :] |= mask[:-1, :]
    dilated[:, 1:] |= mask[:, :-1]
    page_w, page_h = page_size
    found = []
    for x0, y0, x1, y1 in label_regions(dilated):
        w, h = x1 - x0, y1 - y0
        if min(w, h) < params.min_box_side:
            continue
        score = float(probability[y0:y1, x0:x1].mean())
        if score < params.box_threshold:
            continue
        grow = w * h * params.unclip_ratio / (2 * (w + h))
        found.append(
            TextBox(
                x0=max(0, math.floor((x0 - grow) * scale_x)),
                y0=max(0, math.floor((y0 - grow) * scale_y)),
                x1=min(page_w, math.ceil((x1 + grow) * scale_x)),
                y1=min(page_h, math.ceil((y1 + grow) * scale_y)),
                score=score,
            )
        )
    return reading_order(found)


def reading_order(boxes: Sequence[TextBox]) -> list[TextBox]:
    """Column by column where the page is set in columns, and within a column (or a
    page without them) top to bottom, left to right within a line.

    A column gutter is a vertical strip, at least half a line high wide, that no box
    crosses but a heading or a few, with at least ``MIN_COLUMN_LINES`` boxes on each side,
    most of them ``GUTTER_RATIO`` times as wide as the gutter, as lines of prose are: a
    receipt's prices or a table's figures, narrow beside a wide gap, stay rows, read
    across. The boxes crossing the gutter cut the page into bands, read in turn: a band's
    left side, then its right (each side may hold columns of its own).
    """
    gutter = _column_gutter(boxes)
    if gutter is None:
        return _line_order(boxes)
    start, end = gutter
    left = [b for b in boxes if b.x1 <= start]
    right = [b for b in boxes if b.x0 >= end]
    crossing = sorted((b for b in boxes if b.x0 < end and b.x1 > start), key=_centre)
    ordered: list[TextBox] = []
    top = -math.inf
    for heading in [*crossing, None]:
        bottom = math.inf if heading is None else _centre(heading)
        ordered += reading_order([b for b in left if top <= _centre(b) < bottom])
        ordered += reading_order([b for b in right if top <= _centre(b) < bottom])
        ordered += [] if heading is None else [heading]
        top = bottom
    return ordered


def _centre(box: TextBox) -> float:
    return (box.y0 + box.y1) / 2


def _column_gutter(boxes: Sequence[TextBox]) -> tuple[int, int] | None:
    """(start, end) of the emptiest vertical strip between columns of prose, if any: the
    widest strip no box crosses, else the widest that one crosses, and so on up to
    ``MAX_HEADINGS`` (and a tenth of the boxes). A few candidates a level, so that a page
    of noise with thousands of boxes costs a few passes over them, not a search."""
    if len(boxes) < 2 * MIN_COLUMN_LINES:
        return None
    left_edge, right_edge = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    coverage = np.zeros(right_edge - left_edge, dtype=np.int64)
    for b in boxes:
        coverage[b.x0 - left_edge : b.x1 - left_edge] += 1
    min_width = MIN_GUTTER_LINE_HEIGHTS * float(np.median([b.height for b in boxes]))
    for crossing in range(min(MAX_HEADINGS, max(1, len(boxes) // 10)) + 1):
        strips = _runs(coverage <= crossing)
        # Not the page's own margins: a gutter has text on both sides.
        inside = [(s, e) for s, e in strips if s > 0 and e < coverage.size and e - s >= min_width]
        widest = sorted(inside, key=lambda run: run[0] - run[1])[:GUTTER_CANDIDATES]
        for start, end in widest:
            gutter = (left_edge + start, left_edge + end)
            left = [b for b in boxes if b.x1 <= gutter[0]]
            right = [b for b in boxes if b.x0 >= gutter[1]]
            if _prose_beside(left, end - start) and _prose_beside(right, end - start):
                return gutter
    return None


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``flags`` (end exclusive)."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(),
                    strict=True))  # fmt: skip


def _prose_beside(side: Sequence[TextBox], gutter_width: int) -> bool:
    """Whether ``side`` reads as a column of prose beside a gutter: enough lines, most of
    them far wider than the gutter (a receipt's prices or a table's figures are narrow
    beside the gap that separates them)."""
    if len(side) < MIN_COLUMN_LINES:
        return False
    return float(np.median([b.x1 - b.x0 for b in side])) >= GUTTER_RATIO * gutter_width


def _line_order(boxes: Sequence[TextBox]) -> list[TextBox]:
    """Top to bottom, and left to right within a line (a box whose vertical centre lies
    within the first box of a line belongs to that line)."""
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        centre = (box.y0 + box.y1) / 2
        if lines and lines[-1][0].y0 <= centre <= lines[-1][0].y1:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [box for line in lines for box in sorted(line, key=lambda b: b.x0)]


def recognition_crop(
    image: PILImage.Image, box: TextBox, height: int, max_width: int
) -> np.ndarray:
    """One box as the recogniser's (3, height, W) input: cut out upright, or, on a skewed
    page, the quadrilateral it is there mapped onto that rectangle."""
    from PIL import Image

    width = recognition_width(box, height, max_width)
    if box.corners is not None:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        quad = rgb.transform(
            (width, height), Image.Transform.QUAD, box.corners, Image.Resampling.BILINEAR
        )
        return _normalise(np.asarray(quad))
    crop = image.crop((box.x0, box.y0, box.x1, box.y1))
    crop = crop if crop.mode == "RGB" else crop.convert("RGB")
    return _normalise(np.asarray(crop.resize((width, height), Image.Resampling.BILINEAR)))


def recognition_width(box: TextBox, height: int, max_width: int) -> int:
    """The width of ``box`` in the recogniser's input (its aspect ratio at ``height``)."""
    box_width, box_height = box.x1 - box.x0, box.y1 - box.y0
    return min(max_width, max(height // 4, round(box_width * height / max(1, box_height))))


def pad_batch(crops: Sequence[np.ndarray]) -> np.ndarray:
    """Crops of one height, right-padded with zeros to the widest."""
    width = max(crop.shape[2] for crop in crops)
    batch = np.zeros((len(crops), 3, crops[0].shape[1], width), dtype=np.float32)
    for index, crop in enumerate(crops):
        batch[index, :, :, : crop.shape[2]] = crop
    return batch


def ctc_greedy_decode(probabilities: np.ndarray, charset: Sequence[str]) -> tuple[str, float]:
    """(text, mean probability of its characters) from (T, classes) CTC output whose
    class 0 is the blank and class i is ``charset[i - 1]``."""
    best = probabilities.argmax(axis=1)
    scores = probabilities.max(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    indices = best[keep]
    text = "".join(charset[i - 1] for i in indices if i - 1 < len(charset))
    confidence = float(scores[keep].mean()) if indices.size else 0.0
    return text, confidence


def page_text(lines: Sequence[TextLine]) -> str:
    """Lines in reading order: boxes on one line joined by spaces, lines by newlines."""
    rows: list[list[TextLine]] = []
    for line in lines:
        centre = (line.box.y0 + line.box.y1) / 2
        if rows and rows[-1][0].box.y0 <= centre <= rows[-1][0].box.y1:
            rows[-1].append(line)
        else:
            rows.append([line])
    return "\n".join(" ".join(line.text for line in row) for row in rows)


def _on_page(
    box: TextBox,
    to_picture: tuple[float, ...],
    scale_x: float,
    scale_y: float,
    page_size: tuple[int, int],
) -> TextBox:
    """A box found in the upright detection picture, at the page's scale, with the
    corners it has on the page (kept within the page)."""
    a, b, c, d, e, f = to_picture
    page_w, page_h = page_size
    corners: list[float] = []
    for u, v in ((box.x0, box.y0), (box.x0, box.y1), (box.x1, box.y1), (box.x1, box.y0)):
        x, y = (a * u + b * v + c) * scale_x, (d * u + e * v + f) * scale_y
        corners += [min(max(x, 0.0), page_w), min(max(y, 0.0), page_h)]
    return TextBox(
        x0=round(box.x0 * scale_x), y0=round(box.y0 * scale_y),
        x1=round(box.x1 * scale_x), y1=round(box.y1 * scale_y),
        score=box.score, corners=tuple(corners),
    )  # fmt: skip


def load_charset(path: Path) -> list[str]:
    charset = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(charset, list) or not all(isinstance(c, str) for c in charset):
        raise ValueError(f"{path} is not a JSON list of characters")
    return charset


class TextReader:
    """Reads the text of a page image with the OCR model's two graphs."""

    def __init__(
        self,
        spec: ModelSpec,
        threads: int,
        precision: Precision | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.threads = threads
        self.precision = precision
        self.params = OcrParams.from_preprocessing({**spec.preprocessing, **(overrides or {})})
        self._charset: list[str] | None = None

    @property
    def working_bytes(self) -> int:
        """The most one :meth:`read` holds beside the image: the detector's input, its
        activations and probability map at ``det_max_side`` on both sides (the worst
        shape), and a batch of recognition crops."""
        return self.params.det_max_side**2 * DETECTION_BYTES_PER_PIXEL

    @property
    def charset(self) -> list[str]:
        if self._charset is None:
            self._charset = load_charset(self.spec.asset(CHARSET_FILE))
        return self._charset

    def detect(self, image: PILImage.Image) -> list[TextBox]:
        """The page's text boxes in reading order; on a skewed page, found upright and
        placed back on the page (see the module docstring)."""
        p = self.params
        picture, scale_x, scale_y = detection_picture(image, p.det_max_side)
        probability = self._probability(picture)
        slope = estimate_skew(probability > p.det_threshold)
        if abs(slope) < MIN_SKEW_DEGREES:
            return boxes_from_probability(probability, p, scale_x, scale_y, image.size)
        del probability  # the upright picture's map replaces it
        upright, to_picture = upright_picture(picture, slope)
        level, level_x, level_y = detection_picture(upright, p.det_max_side)
        found = boxes_from_probability(self._probability(level), p, level_x, level_y, upright.size)
        return [_on_page(box, to_picture, scale_x, scale_y, image.size) for box in found]

    def _probability(self, picture: PILImage.Image) -> np.ndarray:
        """The detector's (H, W) text probability map of a detection picture."""
        session = get_session(self.spec.onnx_path(self.precision, "det"), self.threads)
        tensor = _normalise(np.asarray(picture))[None]
        return np.asarray(session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0])

    def recognise(self, image: PILImage.Image, boxes: Sequence[TextBox]) -> list[TextLine]:
        session = get_session(self.spec.onnx_path(self.precision, "rec"), self.threads)
        name = session.get_inputs()[0].name
        p = self.params
        # Similar widths share a batch, so little of each batch is padding. Crops are made
        # a batch at a time: a page's hundreds of lines are never all held as floats.
        widths = [recognition_width(box, p.rec_height, p.rec_max_width) for box in boxes]
        order = sorted(range(len(boxes)), key=lambda i: widths[i])
        decoded: dict[int, tuple[str, float]] = {}
        for start in range(0, len(order), REC_BATCH):
            chunk = order[start : start + REC_BATCH]
            crops = [
                recognition_crop(image, boxes[i], p.rec_height, p.rec_max_width) for i in chunk
            ]
            output = session.run(None, {name: pad_batch(crops)})[0]
            for i, probabilities in zip(chunk, output, strict=True):
                decoded[i] = ctc_greedy_decode(probabilities, self.charset)
        lines = []
        for index, box in enumerate(boxes):
            text, confidence = decoded[index]
            text = text.strip()
            if text and confidence >= p.min_confidence:
                lines.append(TextLine(text, confidence, box))
        return lines

    def read(self, image: PILImage.Image) -> list[TextLine]:
        """The page's text lines in reading order."""
        return self.recognise(image, self.detect(image))
