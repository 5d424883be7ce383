"""The prediction cache, per modality: what a hit saves against what a lookup costs.

For each modality, on a real sample, side by side in one run against the Cosmos DB
emulator: the model alone (a miss's inference), a hit in this process's LRU, a hit
from the shared store (the entry, then the result document it names: two point reads),
and a shared miss (one point read of an entry that is not there).

Time is one view; money is the other: a lookup costs request units whether it hits or
not, a miss also writes an entry, and a hit saves the inference's compute. The
break-even share of duplicates is where the two are equal; a modality whose model is
cheaper than the lookup never reaches it. Both views decide which modalities use the
shared cache (``PRISM_SHARED_CACHE``, see docs/performance.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from bench.documents import stored_kb
from bench.pipeline import SAMPLES, median_ms, private_stack, stack_environment
from prism.settings import load_settings

SAMPLE_FILES = {"image": "cat.jpg", "audio": "greeting.flac", "text": "review.txt"}
INSTANCE_GB = 2.0  # a 2048 MB Flex Consumption instance: one core
# A hit must save at least this many times its own time, and the cache must pay for
# itself in money at some share of duplicates, for a modality's shared lookup to be
# worth making (a user expecting many duplicates of a cheap modality may still turn it on).
MIN_TIME_RATIO = 4.0
# A shared cache entry names its result (a pointer, not a copy): about this size stored
# (bench.documents measures it: entry_kb_after).
ENTRY_KB = 0.4


def break_even_hit_rate(
    *, lookup: float, hit_read: float, entry_write: float, inference: float
) -> float | None:
    """The share of lookups that must hit for the shared cache to cost no more than
    running the model every time (all in dollars per lookup); None if it never does.

    With it: ``lookup + h·hit_read + (1−h)·(inference + entry_write)``; without it:
    ``inference``. Equal at ``h = (lookup + entry_write) / (inference + entry_write −
    hit_read)``.
    """
    saved = inference + entry_write - hit_read
    if saved <= 0:
        return None
    rate = (lookup + entry_write) / saved
    return rate if rate <= 1 else None


QUICK_REPEATS = 2  # --quick
INFERENCE_S = 3.0
MIN_INFERENCE_REPEATS = 5


def run(repeats: int = 40, *, quick: bool = False) -> dict[str, Any]:
    from dataclasses import replace

    from prism.cache import PredictionCache, cache_key
    from prism.inference.engine import Engine
    from prism.modality import Modality
    from prism.results import Source, result_document
    from prism.storage import CosmosConnection
    from prism.storage.clients import prediction_cache_container, results_container
    from prism_tools.cost.cosmos import load_ru_table
    from prism_tools.cost.model import load_compute_prices

    prices = load_compute_prices()
    table = load_ru_table()
    per_ru = prices["cosmos_serverless_per_million_ru"] / 1e6
    per_gb_s = prices["flex_on_demand_per_gb_s"]
    rows = {}
    repeats = min(repeats, QUICK_REPEATS) if quick else repeats
    with private_stack() as state:
        settings = load_settings(stack_environment(state, "benchcache"))
        cosmos = CosmosConnection(endpoint=state.cosmos.endpoint, key=state.cosmos.key)
        store = prediction_cache_container(cosmos, settings)
        results = results_container(cosmos, settings)
        engine = Engine(settings)
        for name, sample in SAMPLE_FILES.items():
            modality = Modality(name)
            data = (SAMPLES / sample).read_bytes()
            model = engine.model(modality)
            (outcome,) = engine.run(modality, [data])  # the session loads outside the timing
            assert outcome.result is not None, outcome.error
            sha = hashlib.sha256(data).hexdigest()
            key = cache_key(sha, model)
            document = result_document(
                document_id=f"{index_of(name):064x}", modality=name,
                source=Source(kind="http", name=sample, size=len(data)),
                result=outcome.result, content_sha256=sha, model=model,
            )  # fmt: skip
            results.upsert(document)
            PredictionCache(store, 16, results=results).share(key, document)
            warm = PredictionCache(None, 16)
            warm.remember(key, outcome.result)

            def inference(_: int, modality: Modality = modality, data: bytes = data) -> None:
                engine.run(modality, [data])

            def shared_hit(_: int, key: str = key) -> None:
                assert PredictionCache(store, 16, results=results).get(key) is not None

            def shared_miss(index: int, model: Any = model) -> None:
                missing = cache_key(f"{index:064x}", replace(model, config="bench-miss"))
                assert PredictionCache(store, 16, results=results).get(missing) is None

            def memory_hit(_: int, warm: PredictionCache = warm, key: str = key) -> None:
                assert warm.get(key, shared=False) is not None

            ms = {
                "inference_ms": median_ms(inference, _inference_repeats(inference, repeats)),
                "shared_hit_ms": median_ms(shared_hit, repeats),
                "shared_miss_ms": median_ms(shared_miss, repeats),
                "memory_hit_ms": median_ms(memory_hit, repeats),
            }
            result_kb = stored_kb(document)
            dollars = {
                "inference": INSTANCE_GB * ms["inference_ms"] / 1000 * per_gb_s,
                "lookup": table.read_ru(ENTRY_KB) * per_ru,
                "hit_read": table.read_ru(result_kb) * per_ru,
                "entry_write": table.write_ru(ENTRY_KB) * per_ru,
            }
            rate = break_even_hit_rate(**dollars)
            time_ratio = ms["inference_ms"] / ms["shared_hit_ms"]
            rows[name] = {
                **ms,
                "inference_over_shared_hit": time_ratio,
                "usd_per_million": {k: v * 1e6 for k, v in dollars.items()},
                "break_even_hit_rate": rate,
                "shared_cache_pays": rate is not None and time_ratio >= MIN_TIME_RATIO,
            }
    return {"per_modality": rows, "rule": {"min_time_ratio": MIN_TIME_RATIO}}


def _inference_repeats(inference: Callable[[int], None], repeats: int) -> int:
    """``repeats``, or fewer for a slow model (a recording: ~0.6 s a call): as many as
    fit in INFERENCE_S, at least MIN_INFERENCE_REPEATS (a model's median is steady)."""
    started = time.perf_counter()
    inference(0)
    one = time.perf_counter() - started
    return min(repeats, max(MIN_INFERENCE_REPEATS, int(INFERENCE_S / max(one, 1e-6))))


def index_of(name: str) -> int:
    return list(SAMPLE_FILES).index(name) + 1


def render(report: dict[str, Any]) -> str:
    header = (
        f"{'modality':<8} {'model ms':>9} {'shared hit':>11} {'ratio':>7} {'miss ms':>8} "
        f"{'memory ms':>10} {'$/M model':>10} {'$/M lookup':>11} {'break-even':>11}  shared?"
    )
    lines = [header, "─" * len(header)]
    for name, row in report["per_modality"].items():
        usd = row["usd_per_million"]
        rate = row["break_even_hit_rate"]
        lines.append(
            f"{name:<8} {row['inference_ms']:>9.2f} {row['shared_hit_ms']:>11.2f} "
            f"{row['inference_over_shared_hit']:>6.1f}× {row['shared_miss_ms']:>8.2f} "
            f"{row['memory_hit_ms']:>10.4f} {usd['inference']:>10.2f} "
            f"{usd['lookup'] + usd['entry_write']:>11.2f} "
            f"{'never' if rate is None else f'{rate:.0%}':>11}  "
            f"{'yes' if row['shared_cache_pays'] else 'no'}"
        )
    rule = report["rule"]
    lines.append(
        f"(shared lookup where a hit saves ≥ {rule['min_time_ratio']:g}× its time and the "
        "cache pays for itself at some share of duplicates; $/M lookup = the entry's read + "
        "a miss's entry write)"
    )
    return "\n".join(lines)
