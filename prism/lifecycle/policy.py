"""A typed model of an Azure Storage lifecycle management policy.

The files under ``lifecycle_policies/`` hold the ``policy`` object of
``Microsoft.Storage/storageAccounts/managementPolicies`` exactly as ARM expects it
(``{"rules": [...]}``), so Bicep can ``loadJsonContent`` them unchanged. This module
turns such a document into frozen dataclasses the simulator and ``apply`` evaluate.
It assumes the document already passed :func:`prism.lifecycle.validation.schema_problems`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

from prism.errors import ConfigurationError


class Tier(IntEnum):
    """Access tiers ordered from hottest to coldest: a larger value is colder."""

    HOT = 0
    COOL = 1
    COLD = 2
    ARCHIVE = 3

    @property
    def label(self) -> str:
        """The tier's name as Azure spells it (``Hot``, ``Cool``, ...)."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Tier:
        try:
            return cls[text.strip().upper()]
        except KeyError as exc:
            raise ConfigurationError(f"unknown access tier {text!r}") from exc


class Action(IntEnum):
    """Base-blob actions, ranked the way Azure resolves conflicts: the highest rank
    (the cheapest outcome to store) wins when several actions are due the same day."""

    TIER_TO_COOL = 1
    TIER_TO_COLD = 2
    TIER_TO_ARCHIVE = 3
    DELETE = 4

    @property
    def key(self) -> str:
        return _ACTION_KEYS[self]

    @property
    def target_tier(self) -> Tier | None:
        """The tier the action moves a blob to; ``None`` for delete."""
        return None if self is Action.DELETE else Tier(self.value)


_ACTION_KEYS = {
    Action.TIER_TO_COOL: "tierToCool",
    Action.TIER_TO_COLD: "tierToCold",
    Action.TIER_TO_ARCHIVE: "tierToArchive",
    Action.DELETE: "delete",
}
ACTION_BY_KEY = {key: action for action, key in _ACTION_KEYS.items()}


class Clock(StrEnum):
    """What a condition's age is measured from (the condition key names it)."""

    MODIFICATION = "daysAfterModificationGreaterThan"
    CREATION = "daysAfterCreationGreaterThan"
    LAST_ACCESS = "daysAfterLastAccessTimeGreaterThan"
    LAST_TIER_CHANGE = "daysAfterLastTierChangeGreaterThan"


@dataclass(frozen=True)
class Condition:
    """``age(clock) > days``; ``since_tier_change_days`` adds Azure's optional
    ``daysAfterLastTierChangeGreaterThan`` guard (archive only), which stops a blob
    rehydrated for a read from being archived again the next day."""

    clock: Clock
    days: int
    since_tier_change_days: int | None = None


@dataclass(frozen=True)
class TagMatch:
    name: str
    value: str


@dataclass(frozen=True)
class Rule:
    name: str
    enabled: bool
    prefixes: tuple[str, ...]
    tag_matches: tuple[TagMatch, ...]
    actions: dict[Action, Condition]
    auto_tier_to_hot_from_cool: bool

    def matches(self, name: str, tags: dict[str, str]) -> bool:
        """Whether the rule's filters select a block blob ``container/path`` with ``tags``.

        Prefixes are OR-ed, index-tag conditions AND-ed, as Azure documents.
        """
        if self.prefixes and not any(name.startswith(prefix) for prefix in self.prefixes):
            return False
        return all(tags.get(tag.name) == tag.value for tag in self.tag_matches)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]

    @property
    def enabled_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    def uses_last_access(self) -> bool:
        return any(
            condition.clock is Clock.LAST_ACCESS
            for rule in self.enabled_rules
            for condition in rule.actions.values()
        )


def _condition(body: dict[str, Any]) -> Condition:
    clocks = [clock for clock in Clock if clock in body and clock is not Clock.LAST_TIER_CHANGE]
    guard = body.get(Clock.LAST_TIER_CHANGE.value)
    if not clocks:
        # Validation allows the tier-change clock alone, on tierToArchive only.
        return Condition(Clock.LAST_TIER_CHANGE, int(body[Clock.LAST_TIER_CHANGE.value]))
    clock = clocks[0]
    return Condition(clock, int(body[clock.value]), None if guard is None else int(guard))


def policy_from_document(document: dict[str, Any]) -> Policy:
    """Build the model of a policy document that is valid against the schema."""
    rules = []
    for raw in document["rules"]:
        definition = raw["definition"]
        filters = definition.get("filters", {})
        base_blob = definition["actions"].get("baseBlob", {})
        actions = {
            ACTION_BY_KEY[key]: _condition(body)
            for key, body in base_blob.items()
            if key in ACTION_BY_KEY
        }
        rules.append(
            Rule(
                name=raw["name"],
                enabled=raw.get("enabled", True),
                prefixes=tuple(filters.get("prefixMatch", ())),
                tag_matches=tuple(
                    TagMatch(tag["name"], tag["value"]) for tag in filters.get("blobIndexMatch", ())
                ),
                actions=actions,
                auto_tier_to_hot_from_cool=bool(base_blob.get("enableAutoTierToHotFromCool")),
            )
        )
    return Policy(tuple(rules))


def read_json(path: Path) -> Any:
    """Parse a JSON file, turning I/O and syntax errors into a :class:`ConfigurationError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from exc
