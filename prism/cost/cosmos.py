"""Request units per Cosmos DB operation, from the document's size, by the table
Microsoft publishes (``cosmos_ru.json``: source, address and the date it was read).

Between two sizes of the table the charge is interpolated linearly; at or under 1 KB it
is the 1 KB figure (a write's RU has a floor: a 300-byte entry costs what 1 KB does).
A point read of a missing document costs what a 1 KB read does.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


@cache
def load_ru_table(path: Path = RU_TABLE_PATH) -> RuTable:
    data = json.loads(path.read_text(encoding="utf-8"))
    return RuTable(
        kb=tuple(float(v) for v in data["kb"]),
        read=tuple(float(v) for v in data["read_ru"]),
        write=tuple(float(v) for v in data["write_ru"]),
        source=str(data["source"]),
        url=str(data["url"]),
        recorded=str(data["recorded"]),
    )
