"""Prism's own OCR pre- and post-processing, without the models."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from prism.modalities.ocr import (
    OcrParams,
    TextBox,
    TextLine,
    boxes_from_probability,
    ctc_greedy_decode,
    detection_input,
    label_regions,
    pad_batch,
    page_text,
    reading_order,
    recognition_crop,
)


def flood_fill_boxes(mask: np.ndarray) -> set[tuple[int, int, int, int]]:
    """The obvious (slow) 4-connected labelling, to check the run-based one against."""
    seen = np.zeros_like(mask)
    boxes = set()
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        stack, points = [(y, x)], []
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            points.append((cy, cx))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                inside = 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                if inside and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        ys, xs = zip(*points, strict=True)
        boxes.add((min(xs), min(ys), max(xs) + 1, max(ys) + 1))
    return boxes


def test_detection_input_is_a_multiple_of_32_within_the_longest_side() -> None:
    page = Image.new("RGB", (1240, 1754), "white")
    tensor, scale_x, scale_y = detection_input(page, 1280)
    assert tensor.shape[:2] == (1, 3)
    height, width = tensor.shape[2:]
    assert height % 32 == 0 and width % 32 == 0 and max(height, width) <= 1280 + 16
    assert scale_x == pytest.approx(1240 / width) and scale_y == pytest.approx(1754 / height)
    assert tensor.dtype == np.float32 and np.allclose(tensor, 1.0)  # white → +1


def test_a_small_image_is_not_enlarged_beyond_the_next_multiple_of_32() -> None:
    tensor, _, _ = detection_input(Image.new("RGB", (10, 70), "black"), 1280)
    assert tensor.shape[2:] == (64, 32) and np.allclose(tensor, -1.0)  # black → −1


def test_detection_input_is_bgr() -> None:
    tensor, _, _ = detection_input(Image.new("RGB", (32, 32), (255, 0, 0)), 1280)
    assert np.allclose(tensor[0, 2], 1.0) and np.allclose(tensor[0, 0], -1.0)


@pytest.mark.parametrize("seed", range(5))
def test_regions_match_a_flood_fill(seed: int) -> None:
    mask = np.random.default_rng(seed).random((40, 60)) > 0.55
    assert set(label_regions(mask)) == flood_fill_boxes(mask)


def test_u_shaped_region_is_one_and_diagonal_neighbours_are_two() -> None:
    u_shape = np.zeros((5, 7), dtype=bool)
    u_shape[0:4, 1] = u_shape[0:4, 5] = u_shape[3, 1:6] = True
    assert label_regions(u_shape) == [(1, 0, 6, 4)]
    diagonal = np.array([[1, 0], [0, 1]], dtype=bool)
    assert sorted(label_regions(diagonal)) == [(0, 0, 1, 1), (1, 1, 2, 2)]
    assert label_regions(np.zeros((4, 4), dtype=bool)) == []


def test_boxes_are_grown_by_the_unclip_distance_and_scaled_to_the_page() -> None:
    probability = np.zeros((64, 128), dtype=np.float32)
    probability[10:20, 10:50] = 0.9  # a text kernel 40 × 10
    probability[40:50, 100:101] = 0.9  # a line 1 px wide (2 px dilated): too thin
    probability[40:50, 60:90] = 0.35  # above the threshold, below the box score
    [box] = boxes_from_probability(probability, OcrParams(), 2.0, 2.0, (256, 128))
    # The 1-pixel dilation makes it x 10–51, y 10–21 (41 × 11); unclip grows each side by
    # 41·11·1.6 / (2·52) ≈ 6.94, and the scale of 2 maps it onto the page.
    assert (box.x0, box.y0, box.x1, box.y1) == (6, 6, 116, 56)
    assert box.score == pytest.approx(0.9 * 40 * 10 / (41 * 11), rel=1e-5)


def test_boxes_are_clipped_to_the_page() -> None:
    probability = np.zeros((32, 32), dtype=np.float32)
    probability[0:8, 0:32] = 1.0
    [box] = boxes_from_probability(probability, OcrParams(), 1.0, 1.0, (32, 32))
    assert (box.x0, box.y0, box.x1) == (0, 0, 32)


def box(x0: int, y0: int, x1: int, y1: int) -> TextBox:
    return TextBox(x0, y0, x1, y1, 1.0)


def test_reading_order_is_by_line_then_left_to_right() -> None:
    right, left = box(300, 12, 400, 40), box(10, 10, 200, 42)
    below = box(10, 60, 200, 90)
    assert reading_order([below, right, left]) == [left, right, below]


def test_page_text_joins_a_line_with_spaces_and_lines_with_newlines() -> None:
    lines = [
        TextLine("Hello", 0.9, box(10, 10, 200, 42)),
        TextLine("world", 0.9, box(300, 12, 400, 40)),
        TextLine("Next line", 0.9, box(10, 60, 200, 90)),
    ]
    assert page_text(lines) == "Hello world\nNext line"
    assert lines[0].to_dict() == {"text": "Hello", "confidence": 0.9, "box": [10, 10, 200, 42]}


def test_ctc_decoding_collapses_repeats_and_drops_blanks() -> None:
    charset = ["a", "b", " "]
    steps = [1, 1, 0, 1, 2, 2, 3, 0, 0, 2]  # a a _ a b b ␠ _ _ b
    probabilities = np.full((len(steps), 4), 0.05, dtype=np.float32)
    probabilities[np.arange(len(steps)), steps] = 0.85
    text, confidence = ctc_greedy_decode(probabilities, charset)
    assert text == "aab b"
    assert confidence == pytest.approx(0.85)
    assert ctc_greedy_decode(np.eye(4, dtype=np.float32)[[0, 0]], charset) == ("", 0.0)


def test_recognition_crops_are_48_high_and_batched_with_right_padding() -> None:
    page = Image.new("RGB", (400, 100), "white")
    wide = recognition_crop(page, box(0, 0, 400, 24), 48, 2400)
    capped = recognition_crop(page, box(0, 0, 400, 2), 48, 2400)
    assert wide.shape == (3, 48, 800) and capped.shape == (3, 48, 2400)
    batch = pad_batch([wide, recognition_crop(page, box(0, 0, 48, 48), 48, 2400)])
    assert batch.shape == (2, 3, 48, 800)
    assert np.allclose(batch[1, :, :, 48:], 0.0) and np.allclose(batch[1, :, :, :48], 1.0)


def test_params_come_from_the_manifest_preprocessing() -> None:
    params = OcrParams.from_preprocessing({"version": "1", "det_max_side": "960", "layout": "x"})
    assert params.det_max_side == 960 and params.box_threshold == OcrParams().box_threshold
