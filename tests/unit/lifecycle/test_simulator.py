"""Simulator cases worked out by hand with the round prices of ``conftest.prices``.

Per GB-day: hot 0.1, cool 0.05, cold 0.02, archive 0.01. Per operation: hot write
0.001, cool write 0.002, cold write 0.003, archive write 0.004; reads a tenth of that
except archive (0.04). Retrieval per GB: cool 0.1, cold 0.2, archive 0.5.
"""

from __future__ import annotations

from typing import Any

import pytest

from prism.lifecycle import Cohort, Policy, PriceTable, Tier, compare_with_all_hot, simulate
from prism.lifecycle.policy import policy_from_document

from .conftest import GIB


def _policy(*rules: tuple[str, dict[str, Any]], prefix: str = "incoming/") -> Policy:
    return policy_from_document(
        {
            "rules": [
                {
                    "name": name,
                    "type": "Lifecycle",
                    "definition": {
                        "filters": {"blobTypes": ["blockBlob"], "prefixMatch": [prefix]},
                        "actions": {"baseBlob": actions},
                    },
                }
                for name, actions in rules
            ]
        }
    )


def _after(days: int) -> dict[str, int]:
    return {"daysAfterModificationGreaterThan": days}


ONE_GIB_BLOB = Cohort(count=1, size=GIB, name="incoming/", created=0)


@pytest.mark.parametrize(
    ("action", "tier", "write", "gb_day"),
    [
        ("tierToCool", Tier.COOL, 0.002, 0.05),
        ("tierToCold", Tier.COLD, 0.003, 0.02),
        ("tierToArchive", Tier.ARCHIVE, 0.004, 0.01),
    ],
)
def test_tiering_action_moves_the_blob_the_day_after_its_age_passes(
    prices: PriceTable, action: str, tier: Tier, write: float, gb_day: float
) -> None:
    # Age 0, 1, 2: not yet "greater than 2"; on day 3 it moves and is billed there.
    result = simulate([ONE_GIB_BLOB], _policy(("r", {action: _after(2)})), prices, days=5)

    assert result.blobs[2, Tier.HOT] == 1
    assert result.blobs[3, tier] == 1
    assert result.costs["storage"].sum() == pytest.approx(3 * 0.1 + 2 * gb_day)
    assert result.costs["operations"].sum() == pytest.approx(0.001 + write)


def test_delete_action_removes_the_blob_and_stops_its_storage_charge(prices: PriceTable) -> None:
    result = simulate([ONE_GIB_BLOB], _policy(("r", {"delete": _after(1)})), prices, days=5)

    assert result.blobs[1].sum() == 1
    assert result.blobs[2:].sum() == 0
    assert result.costs["storage"].sum() == pytest.approx(2 * 0.1)
    assert result.deleted_blobs == 1


def test_cool_blob_deleted_early_is_charged_pro_rata(prices: PriceTable) -> None:
    # Cool on day 1, deleted on day 11: 10 of its 30 days, so 20 days of cool are due.
    policy = _policy(("r", {"tierToCool": _after(0), "delete": _after(10)}))

    result = simulate([ONE_GIB_BLOB], policy, prices, days=15)

    assert result.costs["early_deletion"].sum() == pytest.approx(20 * 0.05)
    assert result.costs["storage"].sum() == pytest.approx(1 * 0.1 + 10 * 0.05)


def test_blob_leaving_cool_after_its_minimum_retention_pays_no_penalty(
    prices: PriceTable,
) -> None:
    policy = _policy(("r", {"tierToCool": _after(0), "tierToCold": _after(30)}))

    result = simulate([ONE_GIB_BLOB], policy, prices, days=40)

    assert result.blobs[-1, Tier.COLD] == 1
    assert result.costs["early_deletion"].sum() == 0


def test_small_blob_in_cool_is_billed_as_128_kib(prices: PriceTable) -> None:
    small = Cohort(count=1000, size=1024, name="incoming/", created=0)

    result = simulate([small], _policy(("r", {"tierToCool": _after(0)})), prices, days=2)

    kib = 1024 / GIB
    hot_day = 1000 * 1 * kib * 0.1
    cool_day = 1000 * 128 * kib * 0.05
    assert result.costs["storage"].sum() == pytest.approx(hot_day + cool_day)
    # The tier mix reports real bytes, not billable ones.
    assert result.gigabytes[1, Tier.COOL] == pytest.approx(1000 * kib)


def test_cheapest_action_wins_when_rules_are_due_the_same_day(prices: PriceTable) -> None:
    policy = _policy(("tiering", {"tierToCool": _after(2)}), ("expiry", {"delete": _after(2)}))

    result = simulate([ONE_GIB_BLOB], policy, prices, days=5)

    assert result.deleted_blobs == 1
    # Only the upload: the cool write never happens.
    assert result.costs["operations"].sum() == pytest.approx(0.001)


def test_colder_action_due_first_skips_the_warmer_one(prices: PriceTable) -> None:
    policy = _policy(("r", {"tierToCool": _after(5), "tierToArchive": _after(2)}))

    result = simulate([ONE_GIB_BLOB], policy, prices, days=10)

    assert result.blobs[-1, Tier.ARCHIVE] == 1
    assert result.costs["operations"].sum() == pytest.approx(0.001 + 0.004)


def test_reading_an_archived_blob_rehydrates_it_to_hot(prices: PriceTable) -> None:
    blob = Cohort(count=1, size=GIB, name="incoming/", created=0, read_days=(10,))
    policy = _policy(("r", {"tierToArchive": _after(0)}))

    result = simulate([blob], policy, prices, days=11)

    # Day 10: archive read + retrieval, then a hot read; 171 archive days unserved.
    # The policy then runs and archives it again (no last-tier-change guard).
    assert result.costs["retrieval"].sum() == pytest.approx(0.5)
    assert result.costs["early_deletion"].sum() == pytest.approx(171 * 0.01)
    upload, archive_twice, reads = 0.001, 2 * 0.004, 0.04 + 0.0001
    assert result.costs["operations"].sum() == pytest.approx(upload + archive_twice + reads)


def test_last_tier_change_guard_keeps_a_rehydrated_blob_out_of_archive(
    prices: PriceTable,
) -> None:
    blob = Cohort(count=1, size=GIB, name="incoming/", created=0, read_days=(10,))
    guarded = {"daysAfterModificationGreaterThan": 0, "daysAfterLastTierChangeGreaterThan": 5}
    policy = _policy(("r", {"tierToArchive": guarded}))

    result = simulate([blob], policy, prices, days=20)

    assert result.blobs[15, Tier.HOT] == 1
    assert result.blobs[16, Tier.ARCHIVE] == 1


def test_reading_a_cool_blob_pays_cool_read_and_retrieval(prices: PriceTable) -> None:
    blob = Cohort(count=1, size=GIB, name="incoming/", created=0, read_days=(5,))

    result = simulate([blob], _policy(("r", {"tierToCool": _after(0)})), prices, days=6)

    assert result.costs["retrieval"].sum() == pytest.approx(0.1)
    assert result.blobs[-1, Tier.COOL] == 1


def test_auto_tier_to_hot_moves_a_read_cool_blob_back_to_hot(prices: PriceTable) -> None:
    blob = Cohort(count=1, size=GIB, name="incoming/", created=0, read_days=(5,))
    rule = {
        "tierToCool": {"daysAfterLastAccessTimeGreaterThan": 0},
        "enableAutoTierToHotFromCool": True,
    }

    result = simulate([blob], _policy(("r", rule)), prices, days=6)

    assert result.blobs[5, Tier.HOT] == 1
    # Four days of its thirty in cool were served when the read moved it out.
    assert result.costs["early_deletion"].sum() == pytest.approx(26 * 0.05)


def test_rules_only_touch_blobs_under_their_prefix(prices: PriceTable) -> None:
    other = Cohort(count=1, size=GIB, name="quarantine/", created=0)

    result = simulate([other], _policy(("r", {"delete": _after(0)})), prices, days=3)

    assert result.deleted_blobs == 0


def test_index_tags_are_charged_while_the_blob_exists(prices: PriceTable) -> None:
    tagged = Cohort(count=10_000, size=1, name="incoming/", created=0, tags={"a": "b"})

    result = simulate([tagged], Policy(()), prices, days=30)

    # 3.0 per 10k tags per month, for a month.
    assert result.costs["index_tags"].sum() == pytest.approx(3.0)


def test_baseline_keeps_everything_hot_and_untagged(prices: PriceTable) -> None:
    tagged = Cohort(count=1, size=GIB, name="incoming/", created=0, tags={"a": "b"})

    comparison = compare_with_all_hot(
        [tagged], _policy(("r", {"tierToCold": _after(0)})), prices, days=10
    )

    assert comparison.baseline.totals()["total"] == pytest.approx(0.001 + 10 * 0.1)
    assert comparison.policy.blobs[-1, Tier.COLD] == 1
    assert comparison.to_dict()["savings"] > 0
