"""How often the text model's zero-shot label is right on real-looking documents.

The documents are in ``tests/fixtures/text_labels/``: two sets written for this, with
the labels each may rightly get in their ``labels.json`` — ``tune`` (26 documents, the
only set the label descriptions and the "other" threshold were chosen on) and
``heldout`` (33, measured, never tuned on). Both mix prose on every label's topic with
licences and terms, meeting notes, JSON, CSV and TSV tables, source code, and notes
that are none of the labels (``other``).

A document counts as right when its first label is one of its own. Each configuration
is the real int8 model through :class:`prism.modalities.text.TextEmbedder`'s own steps
(decode → preprocess → execute → postprocess): ``before`` is the label set and
threshold of the earlier default with the text embedded as it is; ``after`` the
current settings.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from prism.onnx.registry import model_for
from prism.settings import get_settings

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "text_labels"
SPLITS = ("tune", "heldout")
# The label set and threshold before the labels were reworked (prism/settings.py).
BEFORE_LABELS = (
    "sports: a match, a game, a team, players, goals",
    "business and finance: companies, markets, shares, profits",
    "science and technology: research, computers, engineering",
    "politics: government, elections, parliament, laws",
    "health and medicine: disease, doctors, hospitals, treatment",
    "entertainment and arts: films, music, books, awards",
    "weather: rain, wind, temperature, forecast",
    "food and cooking: recipes, meals, baking",
    "travel: trips, flights, hotels, holidays",
    "customer complaint: a late, damaged or wrong order, bad service",
)
BEFORE_THRESHOLD = 0.2


def documents(split: str) -> list[tuple[str, bytes, list[str]]]:
    """(name, bytes, the labels it may rightly get) of each document of ``split``."""
    folder = FIXTURES / split
    truth: dict[str, list[str]] = json.loads((folder / "labels.json").read_text("utf-8"))
    return [(name, (folder / name).read_bytes(), labels) for name, labels in truth.items()]


def embedder(config: str) -> Any:
    """``before``: the plain embedder with the earlier labels; ``after``: the text
    modality as the engine makes it, with the current settings."""
    from prism.modalities.text import TextEmbedder
    from prism.modalities.text_labels import DocumentTextEmbedder

    settings = get_settings()
    spec = model_for("text", settings.model_dir)
    common = {"threads": 1, "max_bytes": settings.max_text_bytes,
              "max_tokens": settings.max_text_tokens}  # fmt: skip
    if config == "before":
        return TextEmbedder(spec, labels=BEFORE_LABELS, other_threshold=BEFORE_THRESHOLD,
                            **common)  # fmt: skip
    return DocumentTextEmbedder(spec, labels=settings.text_labels,
                                other_threshold=settings.text_other_threshold,
                                **common)  # fmt: skip


def classify(model: Any, data: bytes) -> dict[str, Any]:
    decoded = model.decode(data)
    prepared = model.preprocess(decoded)
    [raw] = model.execute([prepared])
    result: dict[str, Any] = model.postprocess(decoded, prepared, raw)
    return result


def evaluate(config: str, split: str, limit: int | None = None) -> dict[str, Any]:
    """``config`` on ``split``'s documents (its first ``limit`` of them)."""
    model = embedder(config)
    rows = []
    for name, data, truth in documents(split)[:limit]:
        result = classify(model, data)
        first = result["labels"][0]
        rows.append({"document": name, "truth": truth, "label": first["label"],
                     "score": first["score"], "format": result.get("format"),
                     "right": first["label"] in truth})  # fmt: skip
    return {
        "config": config,
        "split": split,
        "documents": len(rows),
        "right": sum(row["right"] for row in rows),
        "accuracy": statistics.mean(row["right"] for row in rows),
        "rows": rows,
    }


QUICK_DOCUMENTS = 2  # per set, with --quick


def run(configs: tuple[str, ...] = ("before", "after"), *, quick: bool = False) -> dict[str, Any]:
    limit = QUICK_DOCUMENTS if quick else None
    runs = [evaluate(config, split, limit) for config in configs for split in SPLITS]
    return {
        "runs": runs,
        "accuracy": {f"{r['config']} {r['split']}": r["accuracy"] for r in runs},
        "labels": list(get_settings().text_labels),
        "other_threshold": get_settings().text_other_threshold,
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{'configuration':<8} {'set':<8} {'right':>9} {'accuracy':>9}"]
    for r in report["runs"]:
        lines.append(f"{r['config']:<8} {r['split']:<8} {r['right']:>4} of {r['documents']:<2} "
                     f"{r['accuracy']:>8.0%}")  # fmt: skip
    for r in report["runs"]:
        wrong = [f"{row['document']} → {row['label']}" for row in r["rows"] if not row["right"]]
        lines.append(f"\n{r['config']} {r['split']} wrong: " + ("; ".join(wrong) or "none"))
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    chosen = tuple(sys.argv[1:]) or ("before", "after")
    report = run(chosen)
    print(render(report))
