"""Apply a lifecycle policy to real containers (Azurite locally) as Azure would on a date.

Azurite stores tiers but runs no lifecycle management, so tiering cannot otherwise be
watched locally. The decision is the simulator's own (:func:`actions_due`) on blob
states read from storage; only listing and acting touch the SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from prism.errors import TransientError
from prism.lifecycle.policy import Action, Policy, Tier
from prism.lifecycle.simulator import actions_due
from prism.lifecycle.workload import Cohort, utc_day

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient


@dataclass(frozen=True)
class BlobState:
    """What the policy looks at for one blob; ``name`` is ``container/path``."""

    name: str
    size: int
    created: date
    modified: date
    tier: Tier
    tier_changed: date | None = None
    last_access: date | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlobChange:
    name: str
    action: Action
    from_tier: Tier

    def describe(self) -> str:
        target = self.action.target_tier
        what = "delete" if target is None else f"{self.from_tier.label} -> {target.label}"
        return f"{what:<16} {self.name}"


def plan_changes(blobs: Sequence[BlobState], policy: Policy, as_of: date) -> list[BlobChange]:
    """The changes ``policy`` makes to ``blobs`` when it runs on ``as_of``."""

    def offset(day: date | None) -> int | None:
        return None if day is None else (day - as_of).days

    cohorts = [
        Cohort(
            count=1,
            size=blob.size,
            name=blob.name,
            created=(blob.created - as_of).days,
            tags=blob.tags,
            modified=offset(blob.modified),
            last_access=offset(blob.last_access),
            tier=blob.tier,
            tier_since=offset(blob.tier_changed),
        )
        for blob in blobs
    ]
    return [
        BlobChange(blob.name, action, blob.tier)
        for blob, action in zip(blobs, actions_due(cohorts, policy, 0), strict=True)
        if action is not None
    ]


def policy_containers(policy: Policy) -> list[str]:
    """The containers the policy's prefixes name, in first-mention order."""
    names = (prefix.split("/", 1)[0] for rule in policy.enabled_rules for prefix in rule.prefixes)
    return list(dict.fromkeys(names))


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else utc_day(moment)


def list_blob_states(service: BlobServiceClient, containers: Iterable[str]) -> list[BlobState]:
    """Read the state of every blob in ``containers`` (missing containers are skipped)."""
    from azure.core.exceptions import AzureError

    states = []
    try:
        for container in containers:
            client = service.get_container_client(container)
            if not client.exists():
                continue
            for blob in client.list_blobs(include=["tags"]):
                states.append(
                    BlobState(
                        name=f"{container}/{blob.name}",
                        size=int(blob.size),
                        created=utc_day(blob.creation_time),
                        modified=utc_day(blob.last_modified),
                        # A blob without an explicit tier has the account default, Hot.
                        tier=Tier.parse(blob.blob_tier) if blob.blob_tier else Tier.HOT,
                        tier_changed=_day(blob.blob_tier_change_time),
                        last_access=_day(blob.last_accessed_on),
                        tags=dict(blob.tags or {}),
                    )
                )
    except AzureError as exc:
        raise TransientError(f"cannot list blobs: {exc}") from exc
    return states


def apply_changes(service: BlobServiceClient, changes: Iterable[BlobChange]) -> None:
    """Set tiers and delete blobs as planned."""
    from azure.core.exceptions import AzureError

    for change in changes:
        container, blob_name = change.name.split("/", 1)
        blob = service.get_blob_client(container, blob_name)
        target = change.action.target_tier
        try:
            if target is None:
                blob.delete_blob()
            else:
                blob.set_standard_blob_tier(target.label)
        except AzureError as exc:
            raise TransientError(f"cannot change {change.name}: {exc}") from exc
