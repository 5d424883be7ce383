"""The simulator's picture: tier mix over time above the cumulative cost of both runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prism.lifecycle.policy import Tier
from prism.lifecycle.simulator import Comparison

_TIER_COLOURS = {
    Tier.HOT: "#d9534f",
    Tier.COOL: "#5bc0de",
    Tier.COLD: "#337ab7",
    Tier.ARCHIVE: "#555",
}


def plot_comparison(comparison: Comparison, path: Path, title: str = "") -> None:
    """Write a PNG: stacked GB per tier by day, and cumulative cost with and without policy."""
    import matplotlib

    # A file backend: the command runs on servers and in CI without a display.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    policy, baseline = comparison.policy, comparison.baseline
    days = np.arange(policy.days)
    figure, (mix, cost) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    mix.stackplot(
        days,
        *(policy.gigabytes[:, tier] for tier in Tier),
        labels=[tier.label for tier in Tier],
        colors=[_TIER_COLOURS[tier] for tier in Tier],
    )
    mix.set_ylabel("stored GB by tier")
    mix.legend(loc="upper left")
    mix.set_title(title or "Lifecycle policy simulation")
    currency = comparison.prices.currency
    cost.plot(days, baseline.cumulative_cost(), label="all hot, no policy", color="#d9534f")
    cost.plot(days, policy.cumulative_cost(), label="with policy", color="#337ab7")
    cost.set_ylabel(f"cumulative cost ({currency})")
    cost.set_xlabel("day")
    cost.legend(loc="upper left")
    cost.annotate(
        f"prices recorded {comparison.prices.recorded}",
        xy=(1, 0),
        xycoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=8,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
