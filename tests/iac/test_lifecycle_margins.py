"""The deployed lifecycle policy keeps every tier past its minimum retention (Cool 30,
Cold 90, Archive 180 days) even when Azure's daily policy run comes up to a week late
for one step and on time for the next (prism.lifecycle.validation.lateness_problems)."""

from __future__ import annotations

import json
from typing import Any

from prism.lifecycle.validation import DEFAULT_POLICY_PATH, lateness_problems

# Azure runs a policy about once a day and a run on a large account can take longer;
# a week covers a run that is days late with room to spare.
LATE_RUN_DAYS = 7


def _tiering(document: dict[str, Any]) -> dict[str, Any]:
    [rule] = [r for r in document["rules"] if r["name"] == "incomingTiering"]
    actions: dict[str, Any] = rule["definition"]["actions"]["baseBlob"]
    return actions


def test_the_default_policy_survives_a_week_of_late_runs() -> None:
    document = json.loads(DEFAULT_POLICY_PATH.read_text("utf-8"))

    assert lateness_problems(document, LATE_RUN_DAYS) == []


def test_the_policy_as_it_was_is_reported() -> None:
    # Cool > 30, Cold > 60, Archive > 150 after > 89 days in Cold: exactly the minimums.
    document = json.loads(DEFAULT_POLICY_PATH.read_text("utf-8"))
    actions = _tiering(document)
    actions["tierToCold"] = {"daysAfterModificationGreaterThan": 60}
    actions["tierToArchive"] = {
        "daysAfterModificationGreaterThan": 150,
        "daysAfterLastTierChangeGreaterThan": 89,
    }

    assert lateness_problems(document, LATE_RUN_DAYS) == [
        "rule incomingTiering: tierToCold can come 23 days after tierToCool when a run is up "
        "to 7 day(s) late, inside Cool's 30-day minimum retention (early-deletion charge)"
    ]
