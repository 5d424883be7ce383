"""What Flex Consumption (FC1) accepts, for the offline checks of the Function App.

Sources (read 2026-11-30):
- "Flex Consumption plan deprecations" in the Functions app settings reference,
  https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
  — the same settings the Azure CLI's `az functionapp flex-migration` drops when it
  copies an app's settings (azure-cli, appservice `_migrate_app_settings`);
- "Flex Consumption plan hosting", https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan
  — instance memory sizes, and the supported language versions (Python 3.10–3.13);
- the Flex samples (Azure-Samples/functions-quickstart-python-http-azd) for the shape
  of ``functionAppConfig``.
"""

from __future__ import annotations

# App settings Flex Consumption deprecates: each is replaced by a functionAppConfig
# property or means nothing on the plan; set anyway, they are ignored or break the app.
DEPRECATED_APP_SETTINGS = frozenset(
    {
        "ENABLE_ORYX_BUILD",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_DNS_SERVER",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_MOUNT_ENABLED",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED",
        "WEBSITE_VNET_ROUTE_ALL",
    }
)

# Site properties (under ``properties.siteConfig``) the plan deprecates: the runtime and
# the scale settings moved to ``functionAppConfig``.
DEPRECATED_SITE_CONFIG = frozenset(
    {
        "alwaysOn",
        "functionAppScaleLimit",
        "javaVersion",
        "linuxFxVersion",
        "minimumElasticInstanceCount",
        "netFrameworkVersion",
        "powerShellVersion",
        "preWarmedInstanceCount",
        "use32BitWorkerProcess",
    }
)

INSTANCE_MEMORY_MB = frozenset({512, 2048, 4096})

# functionAppConfig.runtime: name -> versions Flex Consumption runs (Python only: the one
# language this project deploys; extend from the same page if another is added).
RUNTIME_VERSIONS: dict[str, frozenset[str]] = {
    "python": frozenset({"3.10", "3.11", "3.12", "3.13"}),
}
