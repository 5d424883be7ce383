"""Prism's own OCR pre- and post-processing, without the models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image

from prism.modalities.ocr import (
    OcrParams,
    TextBox,
    TextLine,
    _on_page,
    boxes_from_probability,
    ctc_greedy_decode,
    detection_input,
    estimate_skew,
    label_regions,
    pad_batch,
    page_text,
    reading_order,
    recognition_crop,
    upright_picture,
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


def slanted_lines(slope_degrees: float, size: tuple[int, int] = (900, 600)) -> np.ndarray:
    """A text mask: bars 6 pixels thick every 40 rows, each of slope ``slope_degrees``."""
    width, height = size
    mask = np.zeros((height, width), dtype=bool)
    xs = np.arange(60, width - 60)
    rise = (xs - width / 2) * np.tan(np.radians(slope_degrees))
    for row in range(80, height - 80, 40):
        for thickness in range(6):
            mask[np.round(row + thickness + rise).astype(int), xs] = True
    return mask


@pytest.mark.parametrize("slope", [0.0, 0.4, -0.8, 1.2, -2.5, 4.0])
def test_the_skew_is_the_slope_of_the_text_lines(slope: float) -> None:
    assert estimate_skew(slanted_lines(slope)) == pytest.approx(slope, abs=0.05)


def test_a_mask_without_text_has_no_skew() -> None:
    assert estimate_skew(np.zeros((64, 64), dtype=bool)) == 0.0


def test_the_upright_picture_levels_the_lines_and_maps_its_points_back() -> None:
    mask = slanted_lines(2.0)
    picture = Image.fromarray(np.where(mask, 0, 255).astype(np.uint8)).convert("RGB")
    upright, (a, b, c, d, e, f) = upright_picture(picture, 2.0)
    level = np.asarray(upright.convert("L")) < 128
    assert abs(estimate_skew(level)) < 0.1
    # Every dark pixel of the upright picture comes from a dark one of the page, and the
    # paper added around it is the page's own colour (white).
    vs, us = np.nonzero(level)
    xs, ys = np.round(a * us + b * vs + c).astype(int), np.round(d * us + e * vs + f).astype(int)
    inside = (xs >= 0) & (xs < picture.width) & (ys >= 0) & (ys < picture.height)
    assert inside.all() and mask[ys, xs].mean() > 0.9
    assert np.asarray(upright)[0, 0].tolist() == [255, 255, 255]


def test_a_box_found_upright_is_read_from_where_it_lies_on_the_page() -> None:
    turn = np.radians(3.0)
    to_picture = (np.cos(turn), -np.sin(turn), 5.0, np.sin(turn), np.cos(turn), -7.0)
    found = TextBox(100, 50, 300, 70, 0.9)
    on_page = _on_page(found, to_picture, 2.0, 2.0, (2000, 2000))
    assert (on_page.x0, on_page.y0, on_page.x1, on_page.y1) == (200, 100, 600, 140)
    assert on_page.corners is not None
    xs, ys = on_page.corners[0::2], on_page.corners[1::2]
    # Upper-left, lower-left, lower-right, upper-right: the top edge goes down to the
    # right by the slope, and the line keeps its length.
    assert ys[3] - ys[0] == pytest.approx(400 * np.sin(turn))
    assert np.hypot(xs[3] - xs[0], ys[3] - ys[0]) == pytest.approx(400)
    # A box reaching past the page's edge is kept within it.
    edge = _on_page(TextBox(0, 0, 300, 20, 0.9), to_picture, 2.0, 2.0, (500, 500))
    assert edge.page_box[0] >= 0 and edge.page_box[2] <= 500
    line = TextLine("tilted", 0.9, on_page)
    assert line.to_dict()["box"] == [
        int(np.floor(min(xs))),
        int(np.floor(min(ys))),
        int(np.ceil(max(xs))),
        int(np.ceil(max(ys))),
    ]


def test_a_tilted_box_is_cut_out_along_its_tilt() -> None:
    mask = slanted_lines(3.0)
    page = Image.fromarray(np.where(mask, 0, 255).astype(np.uint8)).convert("RGB")
    upright, to_picture = upright_picture(page, 3.0)
    rows = np.nonzero((np.asarray(upright.convert("L")) < 128).any(axis=1))[0]
    top = int(rows[0])
    bar = TextBox(150, top - 2, 700, top + 8, 1.0)
    crop = recognition_crop(page, _on_page(bar, to_picture, 1.0, 1.0, page.size), 48, 2400)
    ink = crop.mean(axis=0) < 0  # normalised: dark is negative
    # The bar runs the crop's whole width at one height: every column has ink, in the
    # same rows.
    assert ink.any(axis=0).mean() > 0.95
    rows_with_ink = np.nonzero(ink.mean(axis=1) > 0.9)[0]
    assert rows_with_ink.size >= 10


def column(x0: int, x1: int, first_y: int, lines: int, widths: Sequence[int] = ()) -> list[TextBox]:
    """``lines`` boxes 30 high, 40 apart, from ``x0``; each ``x1 - x0`` wide unless
    ``widths`` says otherwise."""
    return [
        box(x0, y, x0 + (widths[i] if widths else x1 - x0), y + 30)
        for i, y in enumerate(range(first_y, first_y + 40 * lines, 40))
    ]


def test_a_page_in_two_columns_is_read_column_by_column_under_its_heading() -> None:
    heading = box(100, 20, 1100, 60)
    left, right = column(100, 560, 100, 6), column(640, 1100, 100, 6)
    shuffled = [*right[::-1], heading, *left[::2], *left[1::2]]
    assert reading_order(shuffled) == [heading, *left, *right]


def test_a_heading_across_the_columns_ends_one_band_and_starts_the_next() -> None:
    above = column(100, 560, 100, 4), column(640, 1100, 100, 4)
    heading = box(100, 270, 1100, 300)
    below = column(100, 560, 320, 4), column(640, 1100, 320, 4)
    boxes = [*above[1], *below[0], heading, *above[0], *below[1]]
    assert reading_order(boxes) == [*above[0], *above[1], heading, *below[0], *below[1]]


def test_three_columns_are_read_left_to_right() -> None:
    columns = [column(x, x + 300, 100, 5) for x in (100, 460, 820)]
    boxes = [b for line in zip(*columns, strict=True) for b in line]
    assert reading_order(boxes) == [b for c in columns for b in c]


def test_a_receipt_or_a_table_is_read_row_by_row() -> None:
    # Items on the left, short prices far to the right: the gap is a column of figures,
    # not a gutter between columns of prose.
    items = column(100, 500, 100, 8, widths=[380, 250, 300, 410, 200, 330, 290, 360])
    prices = column(900, 1000, 100, 8, widths=[70, 60, 90, 70, 80, 60, 70, 90])
    rows = [b for pair in zip(items, prices, strict=True) for b in pair]
    assert reading_order([*prices, *items]) == rows


def test_a_few_lines_either_side_of_a_gap_stay_lines() -> None:
    left, right = column(100, 560, 100, 2), column(640, 1100, 100, 2)
    assert reading_order([*right, *left]) == [left[0], right[0], left[1], right[1]]
