"""Request units per Cosmos DB operation, from the document's size, by the table
Microsoft publishes (``cosmos_ru.json``: source, address and the date it was read).

Between two sizes of the table the charge is interpolated linearly; at or under 1 KB it
is the 1 KB figure (a write's RU has a floor: a 300-byte entry costs what 1 KB does).
A point read of a missing document costs what a 1 KB read does.

Microsoft measured the table's writes with indexing turned off. The results container
indexes five paths, a composite index of two and a vector index (the policy of
:data:`prism.storage.RESULTS_INDEXING_POLICY` plus :data:`prism.search.VECTOR_INDEXES`,
which the Bicep deploys), and every indexed term adds to a write's charge; so a result
write costs the table's figure plus an **allowance** per indexed path, per path of a
composite index and per vector index (``cosmos_ru.json`` ``index_allowance``: amounts
not measured, flagged unverified). The cache container indexes nothing: its entries
cost the table's figure.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from prism.errors import ConfigurationError

RU_TABLE_PATH = Path(__file__).resolve().parent / "cosmos_ru.json"
MAX_DOCUMENT_KB = 2048  # Cosmos DB's item size limit is 2 MB


@dataclass(frozen=True)
class RuTable:
    kb: tuple[float, ...]
    read: tuple[float, ...]
    write: tuple[float, ...]
    source: str
    url: str
    recorded: str
    # Added to every result write for the results container's index (see the module
    # docstring); 0 for a table without an allowance.
    result_index_ru: float = 0.0
    index_allowance: IndexAllowance | None = None

    def __post_init__(self) -> None:
        sizes = list(self.kb)
        if not (len(sizes) == len(self.read) == len(self.write) >= 2):
            raise ConfigurationError("the RU table needs matching size, read and write columns")
        if sizes != sorted(set(sizes)) or sizes[0] <= 0:
            raise ConfigurationError("the RU table's sizes must rise from above zero")

    def _interpolate(self, column: tuple[float, ...], kb: float) -> float:
        if not 0 <= kb <= MAX_DOCUMENT_KB:
            raise ValueError(f"a Cosmos DB document is 0 to {MAX_DOCUMENT_KB} KB, not {kb}")
        if kb <= self.kb[0]:
            return column[0]
        upper = min(bisect.bisect_left(self.kb, kb), len(self.kb) - 1)
        low_kb, high_kb = self.kb[upper - 1], self.kb[upper]
        share = (kb - low_kb) / (high_kb - low_kb)
        return column[upper - 1] + share * (column[upper] - column[upper - 1])

    def write_ru(self, kb: float) -> float:
        """RU of a create, upsert or replace of a ``kb`` KB document."""
        return self._interpolate(self.write, kb)

    def read_ru(self, kb: float) -> float:
        """RU of a point read of a ``kb`` KB document (or of a missing one: ``kb`` 0)."""
        return self._interpolate(self.read, kb)

    def result_write_ru(self, kb: float) -> float:
        """RU of writing a ``kb`` KB result: the table's write and the index allowance."""
        return self.write_ru(kb) + self.result_index_ru


@dataclass(frozen=True)
class IndexAllowance:
    """RU added to a write per indexed term of the container's policy: an allowance, not
    a measurement (``verified`` says whether Microsoft's text gave the amounts)."""

    per_included_path_ru: float
    per_composite_path_ru: float
    per_vector_index_ru: float
    source: str
    url: str
    recorded: str
    verified: bool

    def terms(self, policy: dict[str, Any]) -> dict[str, int]:
        """What ``policy`` indexes besides the system properties: included paths (the
        root ``/*``, which means every path, is not counted: Prism's policies exclude
        it), paths of composite indexes, vector indexes."""
        return {
            "included_paths": sum(
                1 for entry in policy.get("includedPaths", []) if entry["path"] != "/*"
            ),
            "composite_paths": sum(len(index) for index in policy.get("compositeIndexes", [])),
            "vector_indexes": len(policy.get("vectorIndexes", [])),
        }

    def write_ru(self, policy: dict[str, Any]) -> float:
        """RU the index of ``policy`` adds to one write."""
        terms = self.terms(policy)
        return (
            terms["included_paths"] * self.per_included_path_ru
            + terms["composite_paths"] * self.per_composite_path_ru
            + terms["vector_indexes"] * self.per_vector_index_ru
        )


def results_indexing_policy() -> dict[str, Any]:
    """The results container's indexing policy as the Bicep deploys it (tests/iac holds
    the two equal): the emulator's policy plus the vector index."""
    from prism.search import VECTOR_INDEXES
    from prism.storage.clients import RESULTS_INDEXING_POLICY

    return {**RESULTS_INDEXING_POLICY, "vectorIndexes": VECTOR_INDEXES}


@cache
def load_ru_table(path: Path = RU_TABLE_PATH) -> RuTable:
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = data.get("index_allowance")
    allowance = None
    if raw is not None:
        allowance = IndexAllowance(
            per_included_path_ru=float(raw["per_included_path_ru"]),
            per_composite_path_ru=float(raw["per_composite_path_ru"]),
            per_vector_index_ru=float(raw["per_vector_index_ru"]),
            source=str(raw["source"]),
            url=str(raw["url"]),
            recorded=str(raw["recorded"]),
            verified=bool(raw["verified"]),
        )
    return RuTable(
        kb=tuple(float(v) for v in data["kb"]),
        read=tuple(float(v) for v in data["read_ru"]),
        write=tuple(float(v) for v in data["write_ru"]),
        source=str(data["source"]),
        url=str(data["url"]),
        recorded=str(data["recorded"]),
        result_index_ru=0.0 if allowance is None else allowance.write_ru(results_indexing_policy()),
        index_allowance=allowance,
    )
