"""The local stack: Azurite and the Cosmos DB emulator on loopback ports, started and
stopped by the project's own commands (``prism up`` / ``prism down``) and by the test
fixtures. No Docker, no func CLI; Node.js and the pinned npm packages only.
"""

from __future__ import annotations

from prism_local.localstack.stack import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    COSMOS_EMULATOR_KEY,
    DEFAULT_STATE_DIR,
    AzuriteInfo,
    CosmosInfo,
    DevhostInfo,
    LocalStack,
    ServiceStatus,
    StackState,
    devhost_command,
    ensure_node_packages,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "COSMOS_EMULATOR_KEY",
    "DEFAULT_STATE_DIR",
    "AzuriteInfo",
    "CosmosInfo",
    "DevhostInfo",
    "LocalStack",
    "ServiceStatus",
    "StackState",
    "devhost_command",
    "ensure_node_packages",
]
