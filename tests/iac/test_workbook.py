"""The Azure workbook cannot drift from the code: every metric, dimension and value its
KQL queries name is one ``prism/telemetry.py`` emits, every query file is deployed,
and every metric the code emits is shown."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from prism.storage import poison_queue_name

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK = ROOT / "bicep" / "workbook"
QUERIES = sorted((WORKBOOK / "queries").glob("*.kql"))
MODULE = ROOT / "bicep" / "modules" / "workbook.bicep"
TELEMETRY = ROOT / "prism" / "telemetry.py"

_METRIC = re.compile(r'"(prism\.[a-z_.]+)"')
_DIMENSION = re.compile(r"customDimensions\.([A-Za-z_]+)")
# `outcome == "hit"` after `outcome = tostring(customDimensions.outcome)`.
_ALIAS = re.compile(r"(\w+)\s*=\s*tostring\(customDimensions\.(\w+)\)")
_COMPARED = re.compile(r'\b(\w+)\s*==\s*"([^"]*)"')


@dataclass
class Emitted:
    """Attribute names of one metric, and the values of those whose every value is a
    literal in the code (``None`` when some value is computed at run time)."""

    dimensions: set[str] = field(default_factory=set)
    values: dict[str, set[str] | None] = field(default_factory=dict)


def _literals(node: ast.expr) -> set[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body | orelse
    return None


def emitted_metrics(source: str) -> dict[str, Emitted]:
    """Metric name → what is recorded with it, read from the calls
    ``<instruments>[CONSTANT].add|record(value, {"attribute": ...})``."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    metrics: dict[str, Emitted] = defaultdict(Emitted)
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"add", "record"}
            and isinstance(node.func.value, ast.Subscript)
            and isinstance(node.func.value.slice, ast.Name)
            and node.func.value.slice.id in constants
        ):
            continue
        emitted = metrics[constants[node.func.value.slice.id]]
        attributes = node.args[1] if len(node.args) > 1 else None
        assert isinstance(attributes, ast.Dict), ast.unparse(node)  # a literal dict, always
        for key, value in zip(attributes.keys, attributes.values, strict=True):
            assert isinstance(key, ast.Constant) and isinstance(key.value, str)
            emitted.dimensions.add(key.value)
            known, seen = _literals(value), emitted.values.get(key.value, set())
            emitted.values[key.value] = None if known is None or seen is None else seen | known
    return dict(metrics)


@pytest.fixture(scope="module")
def emitted() -> dict[str, Emitted]:
    return emitted_metrics(TELEMETRY.read_text(encoding="utf-8"))


def test_the_parser_reads_what_telemetry_records(emitted: dict[str, Emitted]) -> None:
    items = emitted["prism.items"]
    assert items.dimensions == {"modality", "status"}
    assert items.values["modality"] is None  # computed
    assert emitted["prism.rejections"].dimensions == {"modality", "code"}


def query_problems(query: str, emitted: dict[str, Emitted]) -> list[str]:
    metrics = set(_METRIC.findall(query))
    problems = [f"{metric} is not emitted" for metric in sorted(metrics - emitted.keys())]
    metrics &= emitted.keys()
    for dimension in sorted(set(_DIMENSION.findall(query))):
        problems += [
            f"{metric} carries no {dimension!r}"
            for metric in sorted(metrics)
            if dimension not in emitted[metric].dimensions
        ]
    aliases = dict(_ALIAS.findall(query))
    for alias, value in _COMPARED.findall(query):
        for metric in sorted(metrics) if alias in aliases else []:
            known = emitted[metric].values.get(aliases[alias])
            if known is not None and value not in known:
                problems.append(f"{metric} never has {aliases[alias]} {value!r}")
    return problems


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_names_only_metrics_and_dimensions_the_code_emits(
    path: Path, emitted: dict[str, Emitted]
) -> None:
    assert query_problems(path.read_text(encoding="utf-8"), emitted) == []


def test_a_query_that_drifted_from_the_code_is_caught(emitted: dict[str, Emitted]) -> None:
    drifted = """customMetrics
| where name in ("prism.items", "prism.items.total", "prism.cache.lookups")
| extend code = tostring(customDimensions.code), outcome = tostring(customDimensions.outcome)
| where outcome == "hits"
"""
    assert query_problems(drifted, emitted) == [
        "prism.items.total is not emitted",
        "prism.cache.lookups carries no 'code'",
        "prism.items carries no 'code'",
        "prism.items carries no 'outcome'",
        "prism.cache.lookups never has outcome 'hits'",
    ]


def test_every_metric_the_code_emits_is_on_the_workbook(emitted: dict[str, Emitted]) -> None:
    shown = {metric for path in QUERIES for metric in _METRIC.findall(path.read_text("utf-8"))}
    assert set(emitted) <= shown


def test_the_workbook_shows_the_views_an_operator_needs() -> None:
    assert {path.stem for path in QUERIES} == {
        "items", "latency", "rejections", "cache", "batches", "poison", "cost",
    }  # fmt: skip


def test_every_query_item_is_a_query_file_that_the_bicep_loads() -> None:
    layout = json.loads((WORKBOOK / "workbook.json").read_text(encoding="utf-8"))
    module = MODULE.read_text(encoding="utf-8")
    loaded = {
        (MODULE.parent / target).resolve()
        for target in re.findall(r"loadTextContent\('([^']+)'\)", module)
    }
    assert loaded == {path.resolve() for path in QUERIES}
    assert {item["name"] for item in layout["queries"]} == {path.stem for path in QUERIES}
    for item in layout["queries"]:
        assert re.search(rf"^\s*{item['name']}: ", module, re.MULTILINE), item["name"]


def test_the_cost_query_gets_the_instance_memory_from_the_bicep() -> None:
    cost = (WORKBOOK / "queries" / "cost.kql").read_text(encoding="utf-8")
    assert "__INSTANCE_MEMORY_MB__" in cost
    assert "'__INSTANCE_MEMORY_MB__', string(instanceMemoryMB)" in MODULE.read_text("utf-8")


def test_the_poison_query_matches_how_poison_queues_are_named() -> None:
    suffix = poison_queue_name("jobs").removeprefix("jobs")
    assert f'ObjectKey has "{suffix}"' in (WORKBOOK / "queries" / "poison.kql").read_text("utf-8")
