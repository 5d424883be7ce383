"""Validation of lifecycle policy documents: the strict schema, then rules ARM won't check.

Each check returns a list of problems (strings naming the rule and what is wrong) so a
caller can print them all at once and tests can assert on the message. ARM accepts
several mistakes silently (an unknown key is dropped, a tier step that undercuts the
previous tier's minimum retention is billed as early deletion), hence the semantic rules.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from prism.errors import ConfigurationError
from prism.lifecycle.policy import (
    ACTION_BY_KEY,
    Action,
    Clock,
    Policy,
    policy_from_document,
    read_json,
)
from prism.lifecycle.pricing import load_prices
from prism.settings import PROJECT_ROOT

POLICY_DIR = PROJECT_ROOT / "lifecycle_policies"
SCHEMA_PATH = POLICY_DIR / "policy.schema.json"
DEFAULT_POLICY_PATH = POLICY_DIR / "default.json"

_AGE_CLOCKS = (Clock.MODIFICATION, Clock.CREATION, Clock.LAST_ACCESS)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = read_json(SCHEMA_PATH)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(document: Any) -> list[str]:
    """Violations of the strict JSON Schema, each prefixed by its JSON path."""
    errors = sorted(_validator().iter_errors(document), key=lambda error: error.json_path)
    return [f"{error.json_path}: {error.message}" for error in errors]


def _rule_problems(
    raw: dict[str, Any], containers: Collection[str] | None, last_access_tracking: bool | None
) -> list[str]:
    name = raw["name"]
    definition = raw["definition"]
    filters = definition["filters"]
    base_blob: dict[str, Any] = definition["actions"]["baseBlob"]
    problems = []

    for prefix in filters.get("prefixMatch", ()):
        container = prefix.split("/", 1)[0]
        if containers is not None and container not in containers:
            problems.append(
                f"rule {name}: prefix {prefix!r} does not start with a container the Bicep "
                f"creates ({', '.join(sorted(containers))})"
            )

    actions = {ACTION_BY_KEY[key]: body for key, body in base_blob.items() if key in ACTION_BY_KEY}
    if any(action is not Action.DELETE for action in actions) and filters["blobTypes"] != [
        "blockBlob"
    ]:
        problems.append(f"rule {name}: tiering actions apply to blockBlob only")

    clocks: dict[Action, Clock] = {}
    for action, body in actions.items():
        ages = [clock for clock in _AGE_CLOCKS if clock.value in body]
        if Clock.LAST_TIER_CHANGE.value in body and action is not Action.TIER_TO_ARCHIVE:
            problems.append(
                f"rule {name}: {action.key} cannot use {Clock.LAST_TIER_CHANGE.value} "
                "(Azure allows it on tierToArchive only)"
            )
        if len(ages) > 1:
            problems.append(f"rule {name}: {action.key} has more than one age condition")
        elif ages:
            clocks[action] = ages[0]
        elif action is not Action.TIER_TO_ARCHIVE:
            problems.append(f"rule {name}: {action.key} has no age condition")
        if Clock.LAST_ACCESS.value in body and last_access_tracking is False:
            problems.append(
                f"rule {name}: {action.key} uses {Clock.LAST_ACCESS.value} but the storage "
                "account does not enable last access time tracking"
            )

    if base_blob.get("enableAutoTierToHotFromCool") and Clock.LAST_ACCESS not in clocks.values():
        problems.append(
            f"rule {name}: enableAutoTierToHotFromCool needs a "
            f"{Clock.LAST_ACCESS.value} condition in the same rule"
        )
    problems.extend(_ordering_problems(name, actions, clocks))
    return problems


def _ordering_problems(
    name: str, actions: dict[Action, dict[str, Any]], clocks: dict[Action, Clock]
) -> list[str]:
    """Same-clock steps must run colder with age, and each must wait out the minimum
    retention of the tier the previous step put the blob in."""
    problems = []
    retention = {tier: prices.min_retention_days for tier, prices in load_prices().tiers.items()}
    for clock in dict.fromkeys(clocks.values()):
        steps = sorted(
            (action for action, used in clocks.items() if used is clock), key=lambda a: a.value
        )
        for earlier, later in pairwise(steps):
            first, second = actions[earlier][clock.value], actions[later][clock.value]
            if first >= second:
                problems.append(
                    f"rule {name}: ages out of order: {earlier.key} after {first} days must "
                    f"come before {later.key} after {second} days"
                )
                continue
            tier = earlier.target_tier
            assert tier is not None  # DELETE sorts last, so `earlier` is always a tier move
            if second - first < retention[tier]:
                problems.append(
                    f"rule {name}: {later.key} after {second} days leaves {tier.label} "
                    f"{second - first} days after {earlier.key}, before its "
                    f"{retention[tier]}-day minimum retention (early-deletion charge)"
                )
    return problems


def lateness_problems(document: dict[str, Any], late_days: int) -> list[str]:
    """Steps that can leave a tier before its minimum retention once policy runs are
    late. ``document`` must already be schema-valid.

    Azure runs a policy about once a day, and on a large account a run can take longer
    than that: a step can happen up to ``late_days`` days after its condition first holds
    while the next one happens on time, so the tier in between is kept for less than the
    difference of the two ages. A tier-change guard (``daysAfterLastTierChangeGreaterThan``)
    counts from the step that really happened, so a late step delays the guarded one
    after it, and that delay carries on to the step after that.
    """
    retention = {tier: prices.min_retention_days for tier, prices in load_prices().tiers.items()}
    problems = []
    for raw in document["rules"]:
        base_blob: dict[str, Any] = raw["definition"]["actions"]["baseBlob"]
        steps = sorted(
            (ACTION_BY_KEY[key], body) for key, body in base_blob.items() if key in ACTION_BY_KEY
        )
        for clock in (Clock.MODIFICATION, Clock.CREATION):
            previous: tuple[Action, int] | None = None  # (action, the day it happens at the latest)
            for action, body in steps:
                guard = body.get(Clock.LAST_TIER_CHANGE.value)
                if clock.value not in body and not (guard is not None and previous):
                    continue
                # "greater than N days" first holds on day N + 1.
                earliest = body[clock.value] + 1 if clock.value in body else 0
                if previous is not None:
                    if guard is not None:
                        earliest = max(earliest, previous[1] + guard + 1)
                    tier = previous[0].target_tier
                    assert tier is not None  # delete sorts last: never a previous step
                    if earliest - previous[1] < retention[tier]:
                        problems.append(
                            f"rule {raw['name']}: {action.key} can come "
                            f"{earliest - previous[1]} days after {previous[0].key} when a run "
                            f"is up to {late_days} day(s) late, inside {tier.label}'s "
                            f"{retention[tier]}-day minimum retention (early-deletion charge)"
                        )
                if action is not Action.DELETE:
                    previous = (action, earliest + late_days)
    return problems


def semantic_problems(
    document: dict[str, Any],
    containers: Collection[str] | None = None,
    last_access_tracking: bool | None = None,
) -> list[str]:
    """Rules beyond the schema; ``document`` must already be schema-valid.

    ``containers`` are the container names the storage account has and
    ``last_access_tracking`` whether it tracks access time (both read from the Bicep);
    ``None`` skips the checks that need them.
    """
    problems: list[str] = []
    names = [raw["name"] for raw in document["rules"]]
    problems.extend(
        f"rule {name}: name used by more than one rule"
        for name in sorted({n for n in names if names.count(n) > 1})
    )
    for raw in document["rules"]:
        problems.extend(_rule_problems(raw, containers, last_access_tracking))
    return problems


def policy_problems(
    document: Any,
    containers: Collection[str] | None = None,
    last_access_tracking: bool | None = None,
) -> list[str]:
    """Schema problems, or (when the schema passes) the semantic ones."""
    problems = schema_problems(document)
    if problems:
        return problems
    return semantic_problems(document, containers, last_access_tracking)


def load_policy(path: Path) -> Policy:
    """Read a policy file for simulation or apply: validated, then modelled.

    Container names and access tracking are a property of a deployment, not of the file,
    so only the rules that need no deployment are enforced here.
    """
    document = read_json(path)
    problems = policy_problems(document)
    if problems:
        raise ConfigurationError(f"{path} is not a valid lifecycle policy: " + "; ".join(problems))
    return policy_from_document(document)
