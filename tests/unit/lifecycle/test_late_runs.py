"""Policy runs that come late: what they cost (the simulator's ``run_every``) and which
policies they push inside a tier's minimum retention (``lateness_problems``).

Round prices of ``conftest.prices``: cool 0.05 per GB-day, 30-day minimum retention.
"""

from __future__ import annotations

from typing import Any

import pytest

from prism.lifecycle import Cohort, PriceTable, Tier, simulate
from prism.lifecycle.policy import policy_from_document
from prism.lifecycle.validation import lateness_problems

from .conftest import GIB


def _document(actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "rules": [
            {
                "name": "tiering",
                "enabled": True,
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["incoming/"]},
                    "actions": {"baseBlob": actions},
                },
            }
        ]
    }


def _after(days: int, guard: int | None = None) -> dict[str, int]:
    condition = {"daysAfterModificationGreaterThan": days}
    if guard is not None:
        condition["daysAfterLastTierChangeGreaterThan"] = guard
    return condition


EXACT = {"tierToCool": _after(30), "tierToCold": _after(60)}


def test_daily_runs_leave_cool_after_exactly_its_minimum(prices: PriceTable) -> None:
    blob = Cohort(count=1, size=GIB, name="incoming/a", created=0)

    result = simulate([blob], policy_from_document(_document(EXACT)), prices, days=70)

    assert result.blobs[-1, Tier.COLD] == 1
    assert result.costs["early_deletion"].sum() == 0


def test_a_late_cool_step_then_an_on_time_cold_step_pays_early_deletion(
    prices: PriceTable,
) -> None:
    # Runs on days 0, 7, 14, …: a blob from day 6 cools on day 42 (due on 37, 5 days
    # late) and goes cold on day 70 (due on 67): 28 days in Cool, 2 short of its minimum.
    blob = Cohort(count=1, size=GIB, name="incoming/a", created=6)

    result = simulate([blob], policy_from_document(_document(EXACT)), prices, 80, run_every=7)

    assert result.blobs[-1, Tier.COLD] == 1
    assert result.costs["early_deletion"].sum() == pytest.approx(2 * 0.05)


def test_run_every_must_be_positive(prices: PriceTable) -> None:
    with pytest.raises(ValueError, match="run_every"):
        simulate([], policy_from_document(_document(EXACT)), prices, days=1, run_every=0)


def test_exact_minimum_steps_break_as_soon_as_a_run_is_late() -> None:
    assert lateness_problems(_document(EXACT), 0) == []
    assert lateness_problems(_document(EXACT), 1) == [
        "rule tiering: tierToCold can come 29 days after tierToCool when a run is up to "
        "1 day(s) late, inside Cool's 30-day minimum retention (early-deletion charge)"
    ]


def test_a_tier_change_guard_carries_a_late_step_on_to_the_next() -> None:
    # Cold on day 68 at the latest (61 + 7); the guard keeps it Cold for 98 days, to
    # day 166 + 7 late = 173; delete on day 200 leaves it 27 days in Archive.
    document = _document(
        {
            "tierToCool": _after(30),
            "tierToCold": _after(60),
            "tierToArchive": _after(100, guard=97),
            "delete": _after(199),
        }
    )

    problems = lateness_problems(document, 7)

    assert problems == [
        "rule tiering: tierToCold can come 23 days after tierToCool when a run is up to "
        "7 day(s) late, inside Cool's 30-day minimum retention (early-deletion charge)",
        "rule tiering: delete can come 27 days after tierToArchive when a run is up to "
        "7 day(s) late, inside Archive's 180-day minimum retention (early-deletion charge)",
    ]


def test_steps_on_another_clock_or_in_another_rule_are_not_chained() -> None:
    document = _document({"tierToCool": _after(30), "delete": {"daysAfterCreationGreaterThan": 31}})

    assert lateness_problems(document, 7) == []
