"""Storage lifecycle: the policy model, its validation, a cost simulator and local apply.

Policies live in ``lifecycle_policies/`` in the ARM ``managementPolicies`` format that
Bicep loads; everything here reads those same files, so what is simulated and applied
locally is what gets deployed.
"""

from __future__ import annotations

from prism.lifecycle.policy import Action, Clock, Condition, Policy, Rule, TagMatch, Tier
from prism.lifecycle.pricing import PriceTable, TierPrices, load_prices
from prism.lifecycle.simulator import Comparison, SimulationResult, compare_with_all_hot, simulate
from prism.lifecycle.validation import (
    lateness_problems,
    load_policy,
    policy_problems,
    schema_problems,
    semantic_problems,
)
from prism.lifecycle.workload import (
    Cohort,
    inventory_cohorts,
    inventory_start,
    load_workload,
    workload_cohorts,
)

__all__ = [
    "Action",
    "Clock",
    "Cohort",
    "Comparison",
    "Condition",
    "Policy",
    "PriceTable",
    "Rule",
    "SimulationResult",
    "TagMatch",
    "Tier",
    "TierPrices",
    "compare_with_all_hot",
    "inventory_cohorts",
    "inventory_start",
    "lateness_problems",
    "load_policy",
    "load_prices",
    "load_workload",
    "policy_problems",
    "schema_problems",
    "semantic_problems",
    "simulate",
    "workload_cohorts",
]
