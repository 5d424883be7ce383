"""Workload and inventory inputs become the cohorts the simulator runs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from prism.errors import ConfigurationError
from prism.lifecycle import (
    Tier,
    inventory_cohorts,
    inventory_start,
    load_policy,
    load_prices,
    load_workload,
    simulate,
    workload_cohorts,
)
from prism.lifecycle.validation import DEFAULT_POLICY_PATH
from prism.lifecycle.workload import EXAMPLE_WORKLOAD_PATH, workload_problems

INVENTORY = Path(__file__).parents[2] / "fixtures" / "lifecycle" / "inventory.csv"


def test_example_workload_is_valid() -> None:
    assert workload_problems(json.loads(EXAMPLE_WORKLOAD_PATH.read_text("utf-8"))) == []


def test_shares_that_do_not_sum_to_one_are_reported() -> None:
    document: dict[str, Any] = json.loads(EXAMPLE_WORKLOAD_PATH.read_text("utf-8"))
    document["streams"][0]["sizes"][0]["share"] = 0.5

    assert workload_problems(document) == ["stream image: size shares sum to 1.2, not 1"]


def test_workload_cohorts_preserve_daily_volume_and_tag_large_blobs() -> None:
    document = load_workload(EXAMPLE_WORKLOAD_PATH)

    cohorts = workload_cohorts(document, days=10)

    per_day = sum(stream["blobs_per_day"] for stream in document["streams"])
    assert sum(c.count for c in cohorts if c.created == 3) == pytest.approx(per_day)
    assert all(bool(c.tags) == (c.size >= 1024**2) for c in cohorts if c.name == "incoming/")
    assert all(day < 10 for c in cohorts for day in c.read_days)


def test_inventory_day_zero_is_its_newest_blob() -> None:
    assert inventory_start(INVENTORY) == date(2026, 7, 1)


def test_inventory_rows_keep_their_tier_age_and_tags() -> None:
    cohorts = inventory_cohorts(INVENTORY, date(2026, 7, 1), {"incoming/", "quarantine/"})

    # The two identical camera images group into one cohort.
    assert sorted(c.count for c in cohorts) == [1, 1, 1, 1, 2]
    cold = next(c for c in cohorts if c.tier is Tier.COLD)
    assert (cold.created, cold.tier_since) == (-172, -111)
    assert cold.tags == {"prism-tiering": "on"}


def test_default_policy_on_the_inventory_archives_and_expires() -> None:
    cohorts = inventory_cohorts(INVENTORY, date(2026, 7, 1), {"incoming/", "quarantine/"})

    result = simulate(cohorts, load_policy(DEFAULT_POLICY_PATH), load_prices(), days=200)

    # Quarantine goes after 14 days; the old cold audio archives, then expires at a year.
    assert result.deleted_blobs == 2
    assert result.blobs[120, Tier.ARCHIVE] == 3


def test_inventory_without_required_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("Name,Content-Length\nincoming/a,1\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="Creation-Time"):
        inventory_cohorts(path, date(2026, 1, 1), ["incoming/"])
