"""The local apply decides exactly what Azure's daily run would on a given date."""

from __future__ import annotations

from datetime import date

from prism.lifecycle import Action, Tier, load_policy
from prism.lifecycle.validation import DEFAULT_POLICY_PATH
from prism_tools.lifecycle.apply import BlobChange, BlobState, plan_changes, policy_containers

POLICY = load_policy(DEFAULT_POLICY_PATH)
TAGGED = {"prism-tiering": "on"}
AS_OF = date(2026, 12, 31)


def _blob(
    name: str,
    created: date,
    tier: Tier = Tier.HOT,
    tier_changed: date | None = None,
    tags: dict[str, str] | None = None,
) -> BlobState:
    return BlobState(
        name=name,
        size=4 * 1024**2,
        created=created,
        modified=created,
        tier=tier,
        tier_changed=tier_changed,
        tags=tags or {},
    )


def test_tagged_input_31_days_old_goes_cool() -> None:
    blob = _blob("incoming/a.jpg", date(2026, 11, 30), tags=TAGGED)

    assert plan_changes([blob], POLICY, AS_OF) == [
        BlobChange("incoming/a.jpg", Action.TIER_TO_COOL, Tier.HOT)
    ]


def test_tagged_input_exactly_30_days_old_stays() -> None:
    blob = _blob("incoming/a.jpg", date(2026, 12, 1), tags=TAGGED)

    assert plan_changes([blob], POLICY, AS_OF) == []


def test_untagged_input_stays_hot_until_it_expires() -> None:
    young = _blob("incoming/young.txt", date(2026, 6, 1))
    old = _blob("incoming/old.txt", date(2025, 12, 30))

    changes = plan_changes([young, old], POLICY, AS_OF)

    assert changes == [BlobChange("incoming/old.txt", Action.DELETE, Tier.HOT)]
    assert changes[0].describe() == "delete           incoming/old.txt"


def test_hot_input_past_the_archive_age_goes_straight_to_archive() -> None:
    blob = _blob("incoming/a.wav", date(2026, 7, 1), tags=TAGGED)

    [change] = plan_changes([blob], POLICY, AS_OF)

    assert change.action is Action.TIER_TO_ARCHIVE
    assert change.describe() == "Hot -> Archive   incoming/a.wav"


def test_recently_rehydrated_input_is_not_archived_again() -> None:
    blob = _blob(
        "incoming/a.wav", date(2026, 3, 1), Tier.COLD, tier_changed=date(2026, 12, 1), tags=TAGGED
    )

    assert plan_changes([blob], POLICY, AS_OF) == []


def test_quarantined_blob_is_deleted_after_two_weeks() -> None:
    fresh = _blob("quarantine/x.bin", date(2026, 12, 17))
    stale = _blob("quarantine/y.bin", date(2026, 12, 16))

    changes = plan_changes([fresh, stale], POLICY, AS_OF)

    assert [c.name for c in changes] == ["quarantine/y.bin"]


def test_policy_containers_are_named_by_the_prefixes() -> None:
    assert policy_containers(POLICY) == ["incoming", "quarantine"]
