"""Inputs of the simulator: cohorts of identical blobs, from a workload or an inventory.

A cohort is a number of blobs that share everything the policy looks at (name prefix,
tags, size, creation/modification/access days, tier). Simulating cohorts instead of
blobs is what keeps a year of thousands of uploads a day down to seconds: the state
of ten thousand cohorts is a handful of numpy arrays updated once per simulated day.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from prism.errors import ConfigurationError
from prism.lifecycle.policy import Tier, read_json
from prism.settings import PROJECT_ROOT

WORKLOAD_SCHEMA_PATH = PROJECT_ROOT / "lifecycle_policies" / "workload.schema.json"
EXAMPLE_WORKLOAD_PATH = PROJECT_ROOT / "lifecycle_policies" / "workload.example.json"
INVENTORY_COLUMNS = ("Name", "Creation-Time", "Last-Modified", "Content-Length", "AccessTier")
_SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Cohort:
    """``count`` blobs alike in all the policy sees. Days are relative to simulation day 0
    (negative for blobs that exist before it); ``read_days`` are the days they are read."""

    count: float
    size: int
    name: str
    created: int
    tags: dict[str, str] = field(default_factory=dict)
    modified: int | None = None
    last_access: int | None = None
    tier: Tier = Tier.HOT
    tier_since: int | None = None
    read_days: tuple[int, ...] = ()


def _check_shares(stream: str, what: str, shares: Iterable[float]) -> list[str]:
    total = math.fsum(shares)
    if abs(total - 1.0) > _SHARE_TOLERANCE:
        return [f"stream {stream}: {what} shares sum to {total:g}, not 1"]
    return []


def workload_problems(document: Any) -> list[str]:
    """Schema violations, then shares that do not add up to one."""
    validator = Draft202012Validator(read_json(WORKLOAD_SCHEMA_PATH))
    errors = sorted(validator.iter_errors(document), key=lambda error: error.json_path)
    if errors:
        return [f"{error.json_path}: {error.message}" for error in errors]
    problems = []
    for stream in document["streams"]:
        problems += _check_shares(stream["name"], "size", (s["share"] for s in stream["sizes"]))
        problems += _check_shares(stream["name"], "access", (a["share"] for a in stream["access"]))
    return problems


def load_workload(path: Path) -> dict[str, Any]:
    document = read_json(path)
    problems = workload_problems(document)
    if problems:
        raise ConfigurationError(f"{path} is not a valid workload: " + "; ".join(problems))
    result: dict[str, Any] = document
    return result


def workload_cohorts(document: dict[str, Any], days: int) -> list[Cohort]:
    """One cohort per stream, arrival day, size class and access group."""
    cohorts: list[Cohort] = []
    for stream in document["streams"]:
        tagging = stream.get("index_tags")
        for size_class in stream["sizes"]:
            size = int(size_class["bytes"])
            tags = dict(tagging["tags"]) if tagging and size >= tagging["min_bytes"] else {}
            for group in stream["access"]:
                count = stream["blobs_per_day"] * size_class["share"] * group["share"]
                ages = tuple(sorted(group["read_at_ages"]))
                cohorts.extend(
                    Cohort(
                        count=count,
                        size=size,
                        name=stream["prefix"],
                        created=day,
                        tags=tags,
                        read_days=tuple(day + age for age in ages if day + age < days),
                    )
                    for day in range(days)
                )
    return cohorts


# Azure writes seven fractional digits; Python's parser takes at most six.
_EXTRA_FRACTION = re.compile(r"(\.\d{6})\d+")


def utc_day(moment: datetime) -> date:
    """The UTC day of ``moment``: Azure's lifecycle management counts days in UTC. A
    time without an offset is taken as UTC (what storage writes), never as local."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


def _day(text: str, start: date, column: str, line: int) -> int:
    try:
        moment = datetime.fromisoformat(_EXTRA_FRACTION.sub(r"\1", text.strip()))
    except ValueError as exc:
        raise ConfigurationError(f"inventory line {line}: {column} {text!r} is no date") from exc
    return (utc_day(moment) - start).days


def _tags(text: str, line: int) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"inventory line {line}: Tags is not a JSON object") from exc
    if not isinstance(parsed, dict):
        raise ConfigurationError(f"inventory line {line}: Tags is not a JSON object")
    return {str(key): str(value) for key, value in parsed.items()}


def inventory_start(path: Path) -> date:
    """The inventory's own date: the day of its newest creation or modification."""
    latest: date | None = None
    for row in _inventory_rows(path):
        for column in ("Creation-Time", "Last-Modified"):
            day = utc_day(datetime.fromisoformat(_EXTRA_FRACTION.sub(r"\1", row[column].strip())))
            latest = day if latest is None or day > latest else latest
    if latest is None:
        raise ConfigurationError(f"inventory {path} has no blobs")
    return latest


def _inventory_rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in INVENTORY_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigurationError(f"inventory {path} lacks column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc


def inventory_cohorts(path: Path, start: date, prefixes: Collection[str]) -> list[Cohort]:
    """Blobs of an Azure blob inventory report (CSV), grouped into identical cohorts.

    ``Name`` is ``container/path``; optional columns ``LastAccessTime``,
    ``AccessTierChangeTime`` and ``Tags`` (a JSON object) refine the state when present.
    Blobs whose names match the same subset of the policy's ``prefixes`` are alike to
    the policy, so they group under the first such name. An inventory says nothing
    about future reads, so its cohorts are never read.
    """
    groups: dict[tuple[Any, ...], float] = {}
    names: dict[frozenset[str], str] = {}
    for line, row in enumerate(_inventory_rows(path), start=2):
        created = _day(row["Creation-Time"], start, "Creation-Time", line)
        modified = _day(row["Last-Modified"], start, "Last-Modified", line)
        accessed = row.get("LastAccessTime") or ""
        changed = row.get("AccessTierChangeTime") or ""
        try:
            size = int(row["Content-Length"])
        except ValueError as exc:
            raise ConfigurationError(
                f"inventory line {line}: Content-Length is no integer"
            ) from exc
        matched = frozenset(prefix for prefix in prefixes if row["Name"].startswith(prefix))
        key = (
            names.setdefault(matched, row["Name"]),
            size,
            created,
            modified,
            _day(accessed, start, "LastAccessTime", line) if accessed.strip() else modified,
            Tier.parse(row["AccessTier"] or "Hot"),
            _day(changed, start, "AccessTierChangeTime", line) if changed.strip() else created,
            tuple(sorted(_tags(row.get("Tags") or "", line).items())),
        )
        groups[key] = groups.get(key, 0.0) + 1.0
    return [
        Cohort(
            count=count,
            size=size,
            name=name,
            created=created,
            tags=dict(tags),
            modified=modified,
            last_access=accessed,
            tier=tier,
            tier_since=changed,
        )
        for (name, size, created, modified, accessed, tier, changed, tags), count in groups.items()
    ]
