"""The shipped policy validates; broken copies fail with a message naming the problem."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from prism.errors import ConfigurationError
from prism.lifecycle import load_policy, load_prices, policy_problems
from prism.lifecycle.validation import DEFAULT_POLICY_PATH

CONTAINERS = {"incoming", "quarantine"}


@pytest.fixture
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def _tiering(document: dict[str, Any]) -> dict[str, Any]:
    actions: dict[str, Any] = document["rules"][0]["definition"]["actions"]["baseBlob"]
    return actions


def test_default_policy_is_valid(document: dict[str, Any]) -> None:
    assert policy_problems(document, CONTAINERS, last_access_tracking=False) == []


def test_unknown_policy_key_is_rejected_with_its_name(document: dict[str, Any]) -> None:
    _tiering(document)["tierToFreezer"] = {"daysAfterModificationGreaterThan": 10}

    problems = policy_problems(document, CONTAINERS, False)

    assert len(problems) == 1
    assert "tierToFreezer" in problems[0]
    assert "$.rules[0].definition.actions.baseBlob" in problems[0]


def test_misspelt_condition_is_rejected(document: dict[str, Any]) -> None:
    _tiering(document)["tierToCool"] = {"daysAfterModifiedGreaterThan": 30}

    assert any("daysAfterModifiedGreaterThan" in p for p in policy_problems(document))


def test_ages_out_of_order_are_reported(document: dict[str, Any]) -> None:
    _tiering(document)["tierToCold"] = {"daysAfterModificationGreaterThan": 20}

    problems = policy_problems(document, CONTAINERS, False)

    assert any(
        "ages out of order" in p and "tierToCool after 30" in p and "tierToCold after 20" in p
        for p in problems
    )


def test_step_inside_minimum_retention_is_reported(document: dict[str, Any]) -> None:
    _tiering(document)["tierToArchive"] = {"daysAfterModificationGreaterThan": 100}

    problems = policy_problems(document, CONTAINERS, False)

    assert problems == [
        "rule incomingTiering: tierToArchive after 100 days leaves Cold 33 days after "
        "tierToCold, before its 90-day minimum retention (early-deletion charge)"
    ]


def test_prefix_outside_the_bicep_containers_is_reported(document: dict[str, Any]) -> None:
    document["rules"][2]["definition"]["filters"]["prefixMatch"] = ["uploads/"]

    problems = policy_problems(document, CONTAINERS, False)

    assert any("'uploads/'" in p and "container" in p for p in problems)


def test_last_access_condition_needs_access_tracking(document: dict[str, Any]) -> None:
    _tiering(document)["tierToCool"] = {"daysAfterLastAccessTimeGreaterThan": 30}

    assert any(
        "last access time tracking" in p for p in policy_problems(document, CONTAINERS, False)
    )
    assert not any(
        "last access time tracking" in p for p in policy_problems(document, CONTAINERS, True)
    )


def test_auto_tier_to_hot_needs_a_last_access_condition(document: dict[str, Any]) -> None:
    _tiering(document)["enableAutoTierToHotFromCool"] = True

    assert any("enableAutoTierToHotFromCool" in p for p in policy_problems(document))


def test_tier_change_guard_is_only_allowed_on_archive(document: dict[str, Any]) -> None:
    _tiering(document)["tierToCool"]["daysAfterLastTierChangeGreaterThan"] = 5

    assert any("tierToCool cannot use" in p for p in policy_problems(document))


def test_duplicate_rule_names_are_reported(document: dict[str, Any]) -> None:
    document["rules"][1]["name"] = document["rules"][0]["name"]

    assert any("used by more than one rule" in p for p in policy_problems(document))


def test_tiering_append_blobs_is_reported(document: dict[str, Any]) -> None:
    document["rules"][0]["definition"]["filters"]["blobTypes"] = ["blockBlob", "appendBlob"]

    assert any("blockBlob only" in p for p in policy_problems(document))


def test_loading_an_invalid_policy_raises_with_the_problems(
    document: dict[str, Any], tmp_path: Any
) -> None:
    document["rules"][0]["colour"] = "blue"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ConfigurationError, match="colour"):
        load_policy(path)


def test_price_table_names_its_date_and_source() -> None:
    prices = load_prices()

    assert prices.recorded == "2026-09-15"
    assert "Retail Prices API" in prices.source


def test_price_override_with_an_unknown_key_is_rejected(tmp_path: Any) -> None:
    from prism.lifecycle.pricing import DEFAULT_PRICES_PATH

    table = json.loads(DEFAULT_PRICES_PATH.read_text(encoding="utf-8"))
    table["tiers"]["Hot"]["storage_per_gb"] = 1.0
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table), encoding="utf-8")

    with pytest.raises(ConfigurationError, match="storage_per_gb"):
        load_prices(path)
