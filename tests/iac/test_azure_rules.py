"""Rules Azure enforces only when it deploys, held offline: built-in role ids, Cosmos DB
container definitions, what Flex Consumption accepts, and the hardening the templates
promise. Each test plants one defect in a copy of bicep/ and expects its check to name
it; the defects of issue 15 (a wrong role id, TTL without an index) are among them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .bicep_checks import (
    BicepFile,
    cosmos_container_problems,
    publishing_credential_problems,
    security_problems,
)
from .builtin_roles import AZURE_BUILTIN_ROLES, COSMOS_DATA_ROLES
from .conftest import ROOT, flex_rules_problems, line_of, replace_once, role_rules_problems

MODULES = ROOT / "bicep" / "modules"


def _roles(path: Path) -> list[str]:
    return role_rules_problems(BicepFile.read(path))


def _flex(path: Path) -> list[str]:
    return flex_rules_problems(BicepFile.read(path))


def _role_assignments(path: Path) -> int:
    return sum(
        1
        for _, resource_type, _ in BicepFile.read(path).resources()
        if "roleassignments@" in resource_type.lower()
    )


def test_the_role_check_sees_every_role_assignment() -> None:
    # Five Azure RBAC assignments and one Cosmos DB data-plane assignment: a check that
    # found none would pass vacuously.
    counts = {path.name: _role_assignments(path) for path in MODULES.glob("*.bicep")}
    assert sum(counts.values()) == 6
    assert counts["cosmos.bicep"] == 1


def test_the_tables_hold_each_role_once() -> None:
    ids = [*AZURE_BUILTIN_ROLES.values(), *COSMOS_DATA_ROLES.values()]
    assert len(ids) == len(set(ids))


def test_wrong_monitoring_metrics_publisher_id_is_reported(broken: Path) -> None:
    # The id the template shipped with: it names no built-in role.
    monitoring = broken / "modules" / "monitoring.bicep"
    replace_once(
        monitoring, "3913510d-42f4-4e42-8a64-420c390055eb", "3913510d-42f4-4e42-8a23-00e8f5c2f3b5"
    )

    problems = _roles(monitoring)

    assert any(
        "role assignment role id 3913510d-42f4-4e42-8a23-00e8f5c2f3b5 is not a built-in role" in p
        for p in problems
    )


def test_role_variable_holding_another_roles_id_is_reported(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    replace_once(
        storage,
        "var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'",
        "var storageQueueDataContributor = '19e7f393-937e-4f77-808e-94535e297925'",
    )

    assert any(
        "variable storageQueueDataContributor holds the id of 'Storage Queue Data Reader'" in p
        for p in _roles(storage)
    )


def test_unknown_cosmos_data_role_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(
        cosmos, "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003"
    )

    assert any(
        "Cosmos DB role assignment role id 00000000-0000-0000-0000-000000000003" in p
        for p in _roles(cosmos)
    )


def test_ttl_on_a_container_without_an_index_is_reported(broken: Path) -> None:
    # What the template shipped with: TTL on a container with indexingMode 'none'.
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(
        cosmos,
        """        indexingMode: 'consistent'
        automatic: true
        includedPaths: []
        excludedPaths: [
          {
            path: '/*'
          }
        ]""",
        """        indexingMode: 'none'
        automatic: false""",
    )

    assert cosmos_container_problems(BicepFile.read(cosmos)) == [
        f"cosmos.bicep:{line_of(cosmos, 'resource cache')}: container cache: defaultTtl needs an "
        "index: Cosmos DB refuses TTL with indexingMode 'none' (use 'consistent' with every "
        "path excluded)"
    ]


def test_indexing_policy_without_the_root_path_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(cosmos, "path: '/*'", "path: '/payload/*'")

    assert any(
        "container results: the indexing policy must include or exclude '/*'" in p
        for p in cosmos_container_problems(BicepFile.read(cosmos))
    )


def test_bad_partition_key_path_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(cosmos, "'/id'", "'/id/'")

    assert any(
        "partition key path '/id/' is not a plain path" in p
        for p in cosmos_container_problems(BicepFile.read(cosmos))
    )


def test_hash_key_with_two_paths_and_a_wildcard_unique_key_are_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(
        cosmos,
        """          '/id'
        ]
        kind: 'Hash'
      }""",
        """          '/id'
          '/modality'
        ]
        kind: 'Hash'
      }
      uniqueKeyPolicy: {
        uniqueKeys: [
          {
            paths: [
              '/source/*'
            ]
          }
        ]
      }""",
    )

    problems = cosmos_container_problems(BicepFile.read(cosmos))

    assert any("a 'Hash' partition key takes exactly one path" in p for p in problems)
    assert any("unique key path '/source/*' is not a plain path" in p for p in problems)


def test_setting_flex_consumption_deprecates_is_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(
        app,
        "      appSettings: [\n",
        "      appSettings: [\n        {\n          name: 'FUNCTIONS_WORKER_RUNTIME'\n"
        "          value: 'python'\n        }\n",
    )

    assert any(
        "app setting FUNCTIONS_WORKER_RUNTIME is deprecated on Flex Consumption" in p
        for p in _flex(app)
    )


def test_site_property_flex_consumption_deprecates_is_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(app, "      http20Enabled: true\n", "      linuxFxVersion: 'Python|3.11'\n")

    assert any("siteConfig.linuxFxVersion is deprecated" in p for p in _flex(app))


def test_instance_memory_flex_consumption_lacks_is_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(app, "@allowed([\n  2048\n", "@allowed([\n  1024\n")

    assert any(
        "instanceMemoryMB 1024 is not a Flex Consumption size (512, 2048, 4096)" in p
        for p in _flex(app)
    )


def test_instance_memory_from_a_parameter_without_allowed_values_is_reported(
    broken: Path,
) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(app, "@allowed([\n  2048\n  4096\n])\n", "")

    assert any("parameter instanceMemoryMB, which has no @allowed list" in p for p in _flex(app))


def test_python_version_flex_consumption_does_not_run_is_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(app, "version: '3.13'", "version: '3.9'")

    assert any("python 3.9 does not run on Flex Consumption" in p for p in _flex(app))


def test_basic_publishing_credentials_left_on_are_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    replace_once(
        app,
        "  name: 'scm'\n  properties: {\n    allow: false",
        "  name: 'scm'\n  properties: {\n    allow: true",
    )
    assert any(
        "basicPublishingCredentialsPolicies allow must be false, is true" in p
        for p in security_problems(BicepFile.read(app))
    )


def test_missing_basic_publishing_credentials_policy_is_reported(broken: Path) -> None:
    app = broken / "modules" / "functionapp.bicep"
    text = app.read_text("utf-8")
    start = text.index("resource ftpBasicAuth")
    app.write_text(text[:start] + text[text.index("resource scmBasicAuth") :], encoding="utf-8")

    assert publishing_credential_problems(BicepFile.read(app)) == [
        f"functionapp.bicep:{line_of(app, 'resource app ')}: site app has no "
        "basicPublishingCredentialsPolicies 'ftp' resource (basic authentication would stay "
        "allowed)"
    ]


def test_copy_scope_and_scm_tls_are_part_of_the_baseline(broken: Path) -> None:
    storage = broken / "modules" / "storage.bicep"
    app = broken / "modules" / "functionapp.bicep"
    replace_once(storage, "    allowedCopyScope: 'AAD'\n", "")
    replace_once(app, "      scmMinTlsVersion: '1.2'\n", "")

    assert any(
        "allowedCopyScope must be 'AAD', is missing" in p
        for p in security_problems(BicepFile.read(storage))
    )
    assert any(
        "scmMinTlsVersion must be '1.2', is missing" in p
        for p in security_problems(BicepFile.read(app))
    )


def test_location_is_limited_to_flex_consumption_regions() -> None:
    main = BicepFile.read(ROOT / "bicep" / "main.bicep")
    allowed = main.decorator_argument("location", "allowed")

    assert allowed is not None
    regions = [(item.text or b"").decode().strip("'") for item in allowed.named_children]
    assert len(regions) == len(set(regions)) >= 20
    # Early-access (EUAP) regions take only enrolled subscriptions.
    assert not [region for region in regions if region.endswith("euap")]


def test_azure_runs_the_python_the_app_is_tested_on() -> None:
    # The worker runtime pinned in requirements.txt needs 3.13; the tests run there too.
    text = (MODULES / "functionapp.bicep").read_text("utf-8")
    (version,) = re.findall(r"runtime: \{\s*name: 'python'\s*version: '([\d.]+)'", text)
    assert version == f"{sys.version_info.major}.{sys.version_info.minor}" == "3.13"
