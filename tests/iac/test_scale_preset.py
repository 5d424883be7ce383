"""The Bicep's scale preset is the one prism plan recommends: the same two names, small
serverless by default, large with autoscale throughput on both containers and a maximum
no lower than Cosmos DB's autoscale floor. The defaults the plan checks against Azure's
rules and costs (the results maximum, the cache's fixed one, the always-ready instances)
are the Bicep's."""

from __future__ import annotations

from typing import Any

from prism_tools.capacity.plan import (
    BICEP_ALWAYS_READY_INSTANCES,
    BICEP_CACHE_MAX_THROUGHPUT,
    BICEP_RESULTS_MAX_THROUGHPUT,
    PRESETS,
    load_limits,
)

from .bicep_checks import BicepFile, container_resources, literal_value, property_node
from .conftest import ROOT

MAIN = BicepFile.read(ROOT / "bicep" / "main.bicep")
COSMOS = BicepFile.read(ROOT / "bicep" / "modules" / "cosmos.bicep")
FUNCTION_APP = BicepFile.read(ROOT / "bicep" / "modules" / "functionapp.bicep")


def allowed(bicep: BicepFile, param: str) -> Any:
    return literal_value(bicep, bicep.decorator_argument(param, "allowed"))


def test_both_templates_offer_the_presets_prism_plan_names_small_by_default() -> None:
    for bicep in (MAIN, COSMOS):
        assert allowed(bicep, "scalePreset") == list(PRESETS)
        assert literal_value(bicep, bicep.param_default("scalePreset")) == "small"


def test_only_the_small_preset_makes_the_account_serverless() -> None:
    assert COSMOS.variables()["serverless"].text == b"scalePreset == 'small'"
    ((_, _, account),) = [r for r in COSMOS.resources() if "databaseAccounts@" in r[1]]
    capabilities = property_node(account, "properties.capabilities")
    assert capabilities is not None and capabilities.type == "ternary_expression"
    condition, serverless, provisioned = capabilities.named_children
    assert condition.text == b"serverless"
    vector_search = {"name": "EnableNoSQLVectorSearch"}  # both presets: GET /api/v1/search
    assert literal_value(COSMOS, serverless) == [{"name": "EnableServerless"}, vector_search]
    assert literal_value(COSMOS, provisioned) == [vector_search]


def options_of(container: str) -> tuple[Any, Any]:
    """The container's throughput options: (serverless branch, provisioned branch)."""
    body = container_resources(COSMOS)[container]
    options = property_node(body.parent.parent if body.parent else None, "options")
    assert options is not None and options.type == "identifier", container
    ternary = COSMOS.variables()[(options.text or b"").decode()]
    assert ternary.type == "ternary_expression"
    condition, serverless, provisioned = ternary.named_children
    assert condition.text == b"serverless"
    return literal_value(COSMOS, serverless), provisioned


def test_the_large_preset_gives_both_containers_autoscale_and_the_small_none() -> None:
    for container in ("results", "cache"):
        serverless, provisioned = options_of(container)
        assert serverless == {}
        assert property_node(provisioned, "autoscaleSettings.maxThroughput") is not None


def test_the_autoscale_maximum_is_never_below_cosmos_dbs_floor() -> None:
    floor = load_limits()["cosmos_autoscale_min_max_ru_s"].value
    for bicep in (MAIN, COSMOS):
        assert literal_value(bicep, bicep.decorator_argument("resultsMaxThroughput",
                                                             "minValue")) == floor  # fmt: skip
    _, cache = options_of("cache")
    assert literal_value(COSMOS, property_node(cache, "autoscaleSettings.maxThroughput")) == floor


def test_the_plan_checks_and_costs_the_biceps_own_defaults() -> None:
    for bicep in (MAIN, COSMOS):
        default = literal_value(bicep, bicep.param_default("resultsMaxThroughput"))
        assert default == BICEP_RESULTS_MAX_THROUGHPUT, bicep.path.name
    _, cache = options_of("cache")
    fixed = literal_value(COSMOS, property_node(cache, "autoscaleSettings.maxThroughput"))
    assert fixed == BICEP_CACHE_MAX_THROUGHPUT
    for bicep in (MAIN, FUNCTION_APP):
        default = literal_value(bicep, bicep.param_default("alwaysReadyHttpInstances"))
        assert default == BICEP_ALWAYS_READY_INSTANCES, bicep.path.name


def test_the_results_maximum_documents_cosmos_dbs_minimum() -> None:
    # A maximum under 10 RU/s per GB stored is raised by Cosmos DB itself, and the next
    # deployment that sets it again is refused: the parameter says so where it is set.
    for bicep in (MAIN, COSMOS):
        argument = bicep.decorator_argument("resultsMaxThroughput", "description")
        description = (argument.text or b"").decode() if argument is not None else ""
        assert "10 RU/s per GB stored" in description and "prism plan" in description
    # The default holds Cosmos DB's minimum up to 1 TB of results, no further.
    per_gb = load_limits()["cosmos_min_ru_s_per_gb_stored"].value
    assert BICEP_RESULTS_MAX_THROUGHPUT / per_gb == 1000
