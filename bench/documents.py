"""What each file costs Cosmos DB to write, before and after compact results.

Real result documents of real inputs (the samples, generated photos and sentences) from
the real models, written as the pipeline writes them now (schema 2: the text embedding
as int8 + scale, the shared cache entry naming its result document) and as it wrote
them before (schema 1: 384 JSON floats, a cache entry holding a copy of the result).
Each document's size includes the system properties Cosmos DB adds to a stored item;
request units come from the table Microsoft publishes (prism_tools/cost/cosmos_ru.json).
Nothing here needs the emulators: the emulator answers every request with a charge of 1.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from typing import Any

from prism.cache import cache_key
from prism.inference.engine import Engine
from prism.modality import Modality
from prism.results import Source, Timings, blob_result_id, result_document, utc_now
from prism.settings import PROJECT_ROOT, get_settings
from prism_tools.cost.cosmos import load_ru_table

SAMPLES = PROJECT_ROOT / "samples"
# What Cosmos DB adds to every stored item (_rid, _self, _etag, _attachments, _ts).
SYSTEM_PROPERTIES = {
    "_rid": "AbCdEfGhIjKAAAAAAAAAAA==",
    "_self": "dbs/AbCdEA==/colls/AbCdEfGhIjK=/docs/AbCdEfGhIjKAAAAAAAAAAA==/",
    "_etag": '"0a000b0c-0000-0d00-0000-0e0f00000000"',
    "_attachments": "attachments/",
    "_ts": 1764518935,
}


def stored_kb(document: dict[str, Any]) -> float:
    text = json.dumps({**document, **SYSTEM_PROPERTIES}, separators=(",", ":"))
    return len(text.encode()) / 1024


def inputs(quick: bool = False) -> dict[Modality, list[tuple[str, bytes]]]:
    """Real files of each modality measured (``quick``: one or two of each)."""
    from models.datasets import sentences

    texts = [
        (f"note-{i}.txt", f"{text} (note {i})".encode()) for i, text in enumerate(sentences(40))
    ]
    files = {
        Modality.IMAGE: [
            (n, (SAMPLES / n).read_bytes()) for n in ("cat.jpg", "coffee.png", "rocket.webp")
        ],
        Modality.AUDIO: [("greeting.flac", (SAMPLES / "greeting.flac").read_bytes())],
        Modality.TEXT: texts,
    }
    return {modality: items[:2] for modality, items in files.items()} if quick else files


def pipeline_document(
    engine: Engine, modality: Modality, name: str, data: bytes, result: dict[str, Any]
) -> dict[str, Any]:
    import hashlib

    blob = f"1f2e3d4c-{name}"
    etag = '"0x8DE2F0A1B2C3D4E"'
    timings = Timings()
    for stage in ("route", "queue_wait", "download", "cache", "inference"):
        timings.add(stage, 12.345)
    return result_document(
        document_id=blob_result_id("incoming", blob, etag),
        modality=modality.value,
        source=Source(
            kind="blob",
            name=blob,
            size=len(data),
            media_type="application/x",
            container="incoming",
            blob=blob,
            etag=etag,
        ),
        result=result,
        content_sha256=hashlib.sha256(data).hexdigest(),
        model=engine.model(modality),
        timings=timings,
        cache="miss",
    )


def run(*, quick: bool = False) -> dict[str, Any]:
    settings = get_settings()
    engine = Engine(settings)
    table = load_ru_table()
    rows = []
    for modality, files in inputs(quick).items():
        outcomes = engine.run(modality, [data for _, data in files])
        floats: list[Any] = [None] * len(files)
        if modality is Modality.TEXT:
            embedder: Any = engine.handler(modality)
            prepared = [embedder.preprocess(embedder.decode(data)) for _, data in files]
            floats = list(embedder.execute(prepared))
        for (name, data), outcome, raw in zip(files, outcomes, floats, strict=True):
            assert outcome.result is not None, outcome.error
            now = pipeline_document(engine, modality, name, data, outcome.result)
            before_result = dict(outcome.result)
            if raw is not None:  # schema 1 wrote the embedding as rounded JSON floats
                before_result["embedding"] = [round(float(v), 6) for v in raw]
            before = {
                **pipeline_document(engine, modality, name, data, before_result),
                "schema_version": 1,
            }
            key = cache_key(now["content_sha256"], engine.model(modality))
            entry_now = {"id": key, "result_id": now["id"], "created_at": utc_now()}
            entry_before = {
                "id": key,
                "model": asdict(engine.model(modality)),
                "result": before_result,
                "created_at": utc_now(),
            }
            rows.append(
                {
                    "modality": modality.value,
                    "result_kb_before": stored_kb(before),
                    "result_kb_after": stored_kb(now),
                    "entry_kb_before": stored_kb(entry_before),
                    "entry_kb_after": stored_kb(entry_now),
                }
            )
    return {
        "ru_table": {"source": table.url, "recorded": table.recorded},
        "per_modality": summarize(rows),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    table = load_ru_table()
    summary = {}
    for modality in sorted({row["modality"] for row in rows}):
        mine = [row for row in rows if row["modality"] == modality]
        figures = {
            field: statistics.mean(row[field] for row in mine)
            for field in (
                "result_kb_before",
                "result_kb_after",
                "entry_kb_before",
                "entry_kb_after",
            )
        }
        figures |= {
            "result_write_ru_before": table.write_ru(figures["result_kb_before"]),
            "result_write_ru_after": table.write_ru(figures["result_kb_after"]),
            "entry_write_ru_before": table.write_ru(figures["entry_kb_before"]),
            "entry_write_ru_after": table.write_ru(figures["entry_kb_after"]),
            "files": float(len(mine)),
        }
        summary[modality] = figures
    return summary


def render(report: dict[str, Any]) -> str:
    header = (
        f"{'modality':<8} {'result KB':>17} {'cache entry KB':>17} "
        f"{'result write RU':>17} {'entry write RU':>17}"
    )
    lines = [header, "─" * len(header)]
    for modality, f in report["per_modality"].items():
        lines.append(
            f"{modality:<8} "
            f"{f['result_kb_before']:>7.2f} → {f['result_kb_after']:<7.2f} "
            f"{f['entry_kb_before']:>7.2f} → {f['entry_kb_after']:<7.2f} "
            f"{f['result_write_ru_before']:>7.2f} → {f['result_write_ru_after']:<7.2f} "
            f"{f['entry_write_ru_before']:>7.2f} → {f['entry_write_ru_after']:<7.2f}"
        )
    lines.append(
        f"(before → after; RU from {report['ru_table']['source']}, "
        f"read {report['ru_table']['recorded']})"
    )
    return "\n".join(lines)
