"""The Bicep templates pass the offline checks, and broken copies fail them by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prism.lifecycle import policy_problems

from .bicep_checks import (
    BicepFile,
    api_version_problems,
    cosmos_container_problems,
    description_problems,
    last_access_tracking,
    literal_container_names,
    load_json_targets,
    module_param_problems,
    publishing_credential_problems,
    query_validation_problems,
    security_problems,
    syntax_problems,
)
from .conftest import flex_rules_problems, line_of, role_rules_problems
from .conftest import replace_once as _break

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "bicep"
FILES = sorted(BICEP.rglob("*.bicep"))
STORAGE = BICEP / "modules" / "storage.bicep"


def _problems(path: Path) -> list[str]:
    bicep = BicepFile.read(path)
    return (
        syntax_problems(bicep)
        + description_problems(bicep)
        + api_version_problems(bicep)
        + module_param_problems(bicep)
        + security_problems(bicep)
        + publishing_credential_problems(bicep)
        + role_rules_problems(bicep)
        + cosmos_container_problems(bicep)
        + flex_rules_problems(bicep)
        + query_validation_problems(bicep)
    )


def test_every_module_of_main_is_checked() -> None:
    assert len(FILES) == 9


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_bicep_file_passes_the_offline_checks(path: Path) -> None:
    assert _problems(path) == []


def test_lifecycle_policy_loaded_by_the_bicep_validates_against_it() -> None:
    storage = BicepFile.read(STORAGE)
    [target] = load_json_targets(storage)
    containers = literal_container_names(storage)

    problems = policy_problems(
        json.loads(target.read_text("utf-8")), containers, last_access_tracking(storage)
    )

    assert containers == {"incoming", "quarantine", "eventgrid-deadletter"}
    assert problems == []


def test_parameters_file_supplies_every_parameter_without_a_default() -> None:
    supplied = json.loads((BICEP / "main.parameters.json").read_text("utf-8"))["parameters"]
    declared = BicepFile.read(BICEP / "main.bicep").params()

    assert set(supplied) <= set(declared)
    assert {name for name, has_default in declared.items() if not has_default} <= set(supplied)


def test_syntax_error_is_reported_with_itsline_of(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    _break(storage, "allowBlobPublicAccess: false", "allowBlobPublicAccess: = false")

    problems = syntax_problems(BicepFile.read(storage))

    assert problems
    assert all(p.startswith("storage.bicep:") and "syntax error" in p for p in problems)


def test_missing_api_version_is_reported(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    _break(
        storage,
        "'Microsoft.Storage/storageAccounts@2023-05-01' = {",
        "'Microsoft.Storage/storageAccounts' = {",
    )

    problems = api_version_problems(BicepFile.read(storage))

    assert problems == [
        f"storage.bicep:{problems[0].split(':')[1]}: resource account has no pinned API "
        "version (@YYYY-MM-DD) in 'Microsoft.Storage/storageAccounts'"
    ]


def test_shared_key_access_enabled_is_reported(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    _break(storage, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")

    problems = security_problems(BicepFile.read(storage))

    assert len(problems) == 1
    assert "allowSharedKeyAccess must be false, is true" in problems[0]


def test_missing_security_property_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    _break(cosmos, "    disableLocalAuth: true\n", "")

    assert any(
        "disableLocalAuth must be true, is missing" in p
        for p in security_problems(BicepFile.read(cosmos))
    )


def test_module_given_an_undeclared_parameter_is_reported(broken: Path) -> None:
    main = broken / "main.bicep"
    _break(main, "    retentionInDays: logRetentionDays\n", "    retentionDays: logRetentionDays\n")

    assert module_param_problems(BicepFile.read(main)) == [
        f"main.bicep:{line_of(main, 'module monitoring')}: module modules/monitoring.bicep has no "
        "parameter 'retentionDays'",
    ]


def test_module_missing_a_required_parameter_is_reported(broken: Path) -> None:
    main = broken / "main.bicep"
    _break(
        main,
        "    identityPrincipalId: identity.outputs.principalId\n    resultsTtlDays",
        "    resultsTtlDays",
    )

    assert any(
        "modules/cosmos.bicep needs parameter 'identityPrincipalId'" in p
        for p in module_param_problems(BicepFile.read(main))
    )


def test_policy_prefix_for_a_container_the_bicep_lacks_is_reported(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    _break(storage, "name: 'quarantine'", "name: 'rejected'")
    bicep = BicepFile.read(storage)
    [target] = load_json_targets(bicep)

    problems = policy_problems(
        json.loads(target.read_text("utf-8")), literal_container_names(bicep), False
    )

    assert problems == [
        "rule quarantineCleanup: prefix 'quarantine/' does not start with a container the "
        "Bicep creates (eventgrid-deadletter, incoming, rejected)"
    ]


def test_parameter_without_description_is_reported(broken: Path) -> None:
    identity = broken / "modules" / "identity.bicep"
    _break(identity, "@description('Region of the identity.')\n", "")

    assert description_problems(BicepFile.read(identity)) == [
        "identity.bicep:5: parameter location has no @description"
    ]


def test_an_alert_on_a_table_its_deployment_creates_skips_query_validation() -> None:
    # The poison-queue alert reads StorageQueueLogs, which the workspace created by the
    # same deployment does not have until the queue logs arrive.
    alerts = BicepFile.read(BICEP / "modules" / "alerts.bicep")
    assert query_validation_problems(alerts) == []
    rules = [r for _, t, r in alerts.resources() if "scheduledQueryRules@" in t]
    assert len(rules) == 3  # the check saw every rule


def test_an_alert_validated_against_a_missing_table_is_reported(broken: Path) -> None:
    alerts = broken / "modules" / "alerts.bicep"
    _break(alerts, "    skipQueryValidation: true\n", "")

    assert query_validation_problems(BicepFile.read(alerts)) == [
        f"alerts.bicep:{line_of(alerts, 'resource poisonMessages')}: alert poisonMessages "
        "queries StorageQueueLogs, which exists only once its first rows arrive: set "
        "skipQueryValidation: true or creating the rule fails"
    ]
