"""One-line, human-readable summaries of results, for tables in the CLI."""

from __future__ import annotations

from typing import Any


def summarize(modality: str | None, result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    if modality == "image":
        top = result["labels"][0]
        line = (
            f"{top['label']} ({top['probability']:.0%}) · "
            f"{result['width']}×{result['height']} {result['format']}"
        )
        return line + _quoted(result.get("text", ""), 50)
    if modality == "audio":
        segments = result.get("speech_segments", [])
        spans = ", ".join(f"{s['start']:.1f}–{s['end']:.1f}s" for s in segments[:3])
        more = f" +{len(segments) - 3}" if len(segments) > 3 else ""
        speech = f"speech {spans}{more}" if segments else "no speech"
        line = f"{result['duration']:.1f}s · {speech} ({result['speech_ratio']:.0%})"
        return line + _quoted((result.get("transcript") or {}).get("text", ""), 60)
    if modality == "document":
        pages = result["page_count"]
        line = f"{pages} page{'s' if pages != 1 else ''}"
        if result.get("ocr_pages"):
            line += f" ({result['ocr_pages']} by OCR)"
        if result.get("labels"):
            top = result["labels"][0]
            line += f" · {top['label']} {top['score']:.2f}"
        return line + _quoted(" ".join(page["text"] for page in result["pages"]), 50)
    if modality == "video":
        line = f"{result['duration']:.1f}s {result['container']}"
        if result.get("width"):
            line += f" {result['width']}×{result['height']}"
        labels = ", ".join(item["label"] for item in result["labels"][:2])
        line += f" · {len(result['frames'])} frames" + (f": {labels}" if labels else "")
        text = ((result.get("audio") or {}).get("transcript") or {}).get("text", "")
        return line + _quoted(text, 50)
    if modality == "text":
        labels = ", ".join(f"{item['label']} {item['score']:.2f}" for item in result["labels"])
        cut = " · truncated" if result.get("truncated") else ""
        return f"{labels} · {result['tokens']} tokens{cut}"
    return ""


def _quoted(text: str, width: int) -> str:
    """`` · “text”`` on one line, cut to ``width`` characters; nothing for no text."""
    words = " ".join(text.split())
    if not words:
        return ""
    return f" · “{words if len(words) <= width else words[: width - 1] + '…'}”"


def describe(document: dict[str, Any]) -> str:
    """A stored document's result column: its error's code and message, or a summary."""
    error = document.get("error")
    if error:
        return f"{error['code']}: {error['message']}"
    return summarize(document.get("modality"), document.get("result"))


def count_text(value: float, small_decimals: int = 1) -> str:
    """A count for a table cell: 1.2 M, 3.4 K, 56, or under 10 with ``small_decimals``."""
    if value >= 1e6:
        return f"{value / 1e6:,.1f} M"
    if value >= 1e3:
        return f"{value / 1e3:,.1f} K"
    return f"{value:,.0f}" if value >= 10 else f"{value:,.{small_decimals}f}"


def markdown_table(rows: list[list[str]], headers: list[str]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


def report(rows: list[list[str]], headers: list[str], notes: list[str], *, markdown: bool) -> str:
    """A table and the notes under it: aligned text for a terminal, or Markdown (a note a
    paragraph) for the generated tables of the docs."""
    if markdown:
        return "\n\n".join([markdown_table(rows, headers), *notes])
    return "\n".join([format_table(rows, headers), "", *notes])


def format_table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("─" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
