"""The console's lifecycle view: the default policy simulated over a year on the
example workload, beside the same blobs kept hot, thinned to weekly points."""

from __future__ import annotations

from functools import cache
from typing import Any

from prism.lifecycle import (
    compare_with_all_hot,
    load_policy,
    load_prices,
    load_workload,
    workload_cohorts,
)
from prism.lifecycle.validation import DEFAULT_POLICY_PATH
from prism.lifecycle.workload import EXAMPLE_WORKLOAD_PATH

DAYS = 365
STEP_DAYS = 7


@cache
def lifecycle_view() -> dict[str, Any]:
    """Computed once per process: the policy, workload and prices ship with the app
    and do not change while it runs."""
    comparison = compare_with_all_hot(
        workload_cohorts(load_workload(EXAMPLE_WORKLOAD_PATH), DAYS),
        load_policy(DEFAULT_POLICY_PATH),
        load_prices(None),
        DAYS,
    )
    document = comparison.to_dict(per_day=True)
    per_day = document.pop("per_day")
    # Weekly points and the last day: enough for a chart, a few kilobytes to send.
    days = sorted({*range(0, DAYS, STEP_DAYS), DAYS - 1})
    document["series"] = [
        {
            "day": per_day[day]["day"],
            "gigabytes": per_day[day]["gigabytes"],
            "cumulative_cost": per_day[day]["cumulative_cost"],
            "baseline_cumulative_cost": per_day[day]["baseline_cumulative_cost"],
        }
        for day in days
    ]
    document["policy_file"] = DEFAULT_POLICY_PATH.name
    document["workload_file"] = EXAMPLE_WORKLOAD_PATH.name
    return document
