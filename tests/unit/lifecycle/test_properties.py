"""Properties of the simulator over random policies, blobs and reads."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.lifecycle import Cohort, Policy, PriceTable, Tier, load_prices, simulate
from prism.lifecycle.policy import policy_from_document

DAYS = 60
ACTIONS = ("tierToCool", "tierToCold", "tierToArchive", "delete")

ages = st.integers(min_value=0, max_value=DAYS)
rule_actions = st.dictionaries(
    st.sampled_from(ACTIONS),
    st.builds(lambda days: {"daysAfterModificationGreaterThan": days}, ages),
    min_size=1,
)
blobs = st.builds(
    Cohort,
    count=st.just(1.0),
    size=st.integers(min_value=0, max_value=50 * 1024**2),
    name=st.just("incoming/"),
    created=st.integers(min_value=-30, max_value=DAYS - 1),
    tier=st.sampled_from(list(Tier)),
    read_days=st.lists(st.integers(min_value=0, max_value=DAYS - 1), unique=True).map(
        lambda days: tuple(sorted(days))
    ),
)


def _policy(actions: list[dict[str, dict[str, int]]]) -> Policy:
    return policy_from_document(
        {
            "rules": [
                {
                    "name": f"r{index}",
                    "type": "Lifecycle",
                    "definition": {
                        "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["incoming/"]},
                        "actions": {"baseBlob": body},
                    },
                }
                for index, body in enumerate(actions)
            ]
        }
    )


PRICES: PriceTable = load_prices()


def _tier_by_day(blobs_per_tier: np.ndarray) -> list[int | None]:
    """The single blob's tier each day, ``None`` once it is gone (or not yet there)."""
    return [int(row.argmax()) if row.sum() else None for row in blobs_per_tier]


@settings(max_examples=100, deadline=None)
@given(blob=blobs, rules=st.lists(rule_actions, min_size=1, max_size=3))
def test_tiers_only_move_colder_unless_the_blob_is_read(
    blob: Cohort, rules: list[dict[str, dict[str, int]]]
) -> None:
    result = simulate([blob], _policy(rules), PRICES, DAYS)

    tiers = _tier_by_day(result.blobs)
    for day in range(1, DAYS):
        before, after = tiers[day - 1], tiers[day]
        if before is None or after is None or day in blob.read_days:
            continue
        assert after >= before, f"day {day}: {Tier(before).label} -> {Tier(after).label}"


@settings(max_examples=100, deadline=None)
@given(blob=blobs, rules=st.lists(rule_actions, min_size=1, max_size=3))
def test_a_deleted_blob_is_never_charged_again(
    blob: Cohort, rules: list[dict[str, dict[str, int]]]
) -> None:
    result = simulate([blob], _policy(rules), PRICES, DAYS)

    present = result.blobs.sum(axis=1) > 0
    gone = [day for day in range(DAYS) if day > max(blob.created, 0) and not present[day]]
    if not gone:
        return
    first_gone = gone[0]
    assert not present[first_gone:].any()
    later = sum(costs[first_gone + 1 :].sum() for costs in result.costs.values())
    assert later == 0
    assert result.costs["storage"][first_gone] == 0
