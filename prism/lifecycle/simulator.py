"""Day-by-day simulation of a lifecycle policy with Azure's billing semantics.

Each simulated day, in this order (the order Azure's daily cycle implies):

1. blobs created that day are uploaded (one Hot write each);
2. scheduled reads happen: a read of an archived blob first rehydrates it to Hot
   (archive read + retrieval, and archive early deletion if under 180 days); a read of
   a Cool blob under a rule with ``enableAutoTierToHotFromCool`` moves it to Hot;
   otherwise the read pays its tier's read and retrieval price;
3. the policy runs once (or, with ``run_every``, only every so many days, to cost runs
   that finish late): of all actions due across the matching rules, the cheapest
   outcome wins (delete > archive > cold > cool); tiering only ever moves a blob colder,
   never out of Archive; leaving a tier before its minimum retention is charged pro rata;
4. every blob still present pays one day of storage on its billable size (at least
   128 KiB in Cool, Cold and Archive) and of index-tag storage.

Costs are arrays per day so the report can show a cumulative curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from prism.lifecycle.policy import Action, Clock, Policy, Tier
from prism.lifecycle.pricing import BYTES_PER_GB, PriceTable
from prism.lifecycle.workload import Cohort

COST_CATEGORIES = ("storage", "operations", "retrieval", "early_deletion", "index_tags")
_NO_ACTION = 0


@dataclass(frozen=True)
class SimulationResult:
    """Per-day state (rows are days, columns tiers Hot..Archive) and per-day costs."""

    blobs: NDArray[np.float64]
    gigabytes: NDArray[np.float64]
    costs: dict[str, NDArray[np.float64]]
    deleted_blobs: float

    @property
    def days(self) -> int:
        return int(self.blobs.shape[0])

    def totals(self) -> dict[str, float]:
        totals = {name: float(values.sum()) for name, values in self.costs.items()}
        totals["total"] = sum(totals.values())
        return totals

    def cumulative_cost(self) -> NDArray[np.float64]:
        daily: NDArray[np.float64] = np.sum(list(self.costs.values()), axis=0)
        return np.cumsum(daily)


@dataclass(frozen=True)
class Comparison:
    """A policy's simulation beside the same blobs kept Hot with no policy."""

    policy: SimulationResult
    baseline: SimulationResult
    prices: PriceTable

    def to_dict(self, per_day: bool = True) -> dict[str, Any]:
        def final(result: SimulationResult) -> dict[str, dict[str, float]]:
            return {
                tier.label: {
                    "blobs": round(float(result.blobs[-1, tier]), 1),
                    "gigabytes": round(float(result.gigabytes[-1, tier]), 3),
                }
                for tier in Tier
            }

        policy_total = self.policy.totals()["total"]
        baseline_total = self.baseline.totals()["total"]
        document: dict[str, Any] = {
            "days": self.policy.days,
            "currency": self.prices.currency,
            "prices_recorded": self.prices.recorded,
            "policy": {"costs": _rounded(self.policy.totals()), "final": final(self.policy)},
            "baseline_all_hot": {
                "costs": _rounded(self.baseline.totals()),
                "final": final(self.baseline),
            },
            "savings": round(baseline_total - policy_total, 4),
            "savings_percent": round(100 * (1 - policy_total / baseline_total), 2)
            if baseline_total
            else 0.0,
            "deleted_blobs": round(self.policy.deleted_blobs, 1),
        }
        if per_day:
            cumulative = self.policy.cumulative_cost()
            baseline = self.baseline.cumulative_cost()
            document["per_day"] = [
                {
                    "day": day,
                    "blobs": {t.label: round(float(self.policy.blobs[day, t]), 1) for t in Tier},
                    "gigabytes": {
                        t.label: round(float(self.policy.gigabytes[day, t]), 4) for t in Tier
                    },
                    "cumulative_cost": round(float(cumulative[day]), 4),
                    "baseline_cumulative_cost": round(float(baseline[day]), 4),
                }
                for day in range(self.policy.days)
            ]
        return document

    def summary(self) -> str:
        """A short text report: totals by category for both runs, and the final tier mix."""
        policy, baseline = self.policy.totals(), self.baseline.totals()
        currency = self.prices.currency
        lines = [
            f"{self.policy.days} days, prices recorded {self.prices.recorded} ({currency})",
            f"{'cost':<16}{'policy':>14}{'all hot':>14}",
        ]
        lines += [
            f"{name:<16}{policy[name]:>14.2f}{baseline[name]:>14.2f}"
            for name in (*COST_CATEGORIES, "total")
        ]
        saving = baseline["total"] - policy["total"]
        share = 100 * saving / baseline["total"] if baseline["total"] else 0.0
        lines.append(f"saving {saving:.2f} {currency} ({share:.1f} %)")
        lines.append(f"{'on the last day':<16}{'blobs':>14}{'GB':>14}")
        lines += [
            f"{tier.label:<16}{self.policy.blobs[-1, tier]:>14.0f}"
            f"{self.policy.gigabytes[-1, tier]:>14.2f}"
            for tier in Tier
        ]
        lines.append(f"deleted by the policy: {self.policy.deleted_blobs:.0f} blobs")
        return "\n".join(lines)


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in values.items()}


class _Rates:
    """The price table as vectors indexed by tier, so a cohort array indexes them."""

    def __init__(self, prices: PriceTable) -> None:
        def by_tier(value: Callable[[Tier], float]) -> NDArray[np.float64]:
            return np.array([value(tier) for tier in Tier], dtype=np.float64)

        self.gb_day = by_tier(prices.storage_gb_day)
        self.write = by_tier(lambda t: prices.tiers[t].write_per_10k / 10_000)
        self.read = by_tier(lambda t: prices.tiers[t].read_per_10k / 10_000)
        self.retrieval = by_tier(lambda t: prices.tiers[t].retrieval_per_gb)
        self.min_retention = by_tier(lambda t: prices.tiers[t].min_retention_days)
        self.min_billable = by_tier(
            lambda t: prices.min_billable_bytes if t in prices.min_billable_tiers else 0
        )
        self.tag_day = prices.index_tags_per_10k_month / 10_000 / prices.days_per_month


class _State:
    """The cohorts as parallel arrays, and which enabled rule selects which cohort."""

    def __init__(self, cohorts: Sequence[Cohort], policy: Policy) -> None:
        def column(values: list[float] | list[int], dtype: Any) -> Any:
            return np.array(values, dtype=dtype)

        self.count = column([c.count for c in cohorts], np.float64)
        self.size = column([c.size for c in cohorts], np.float64)
        self.created = column([c.created for c in cohorts], np.int64)
        self.modified = column(
            [c.created if c.modified is None else c.modified for c in cohorts], np.int64
        )
        self.last_access = column(
            [c.created if c.last_access is None else c.last_access for c in cohorts], np.int64
        )
        self.tier = column([int(c.tier) for c in cohorts], np.int64)
        self.tier_since = column(
            [c.created if c.tier_since is None else c.tier_since for c in cohorts], np.int64
        )
        self.tag_count = column([len(c.tags) for c in cohorts], np.float64)
        self.deleted = np.zeros(len(cohorts), dtype=bool)
        self.rules = policy.enabled_rules
        self.matches = np.array(
            [[rule.matches(c.name, c.tags) for c in cohorts] for rule in self.rules], dtype=bool
        ).reshape(len(self.rules), len(cohorts))
        self.auto_hot = np.zeros(len(cohorts), dtype=bool)
        for index, rule in enumerate(self.rules):
            if rule.auto_tier_to_hot_from_cool:
                self.auto_hot |= self.matches[index]
        reads: dict[int, list[int]] = {}
        for index, cohort in enumerate(cohorts):
            for day in cohort.read_days:
                reads.setdefault(day, []).append(index)
        self.reads = {day: np.array(indices, dtype=np.int64) for day, indices in reads.items()}

    def clock(self, clock: Clock) -> Any:
        return {
            Clock.MODIFICATION: self.modified,
            Clock.CREATION: self.created,
            Clock.LAST_ACCESS: self.last_access,
            Clock.LAST_TIER_CHANGE: self.tier_since,
        }[clock]

    def early_deletion(self, rates: _Rates, index: Any, day: int) -> float:
        """Pro-rata charge for the cohorts at ``index`` leaving their tier today."""
        tier = self.tier[index]
        remaining = np.maximum(rates.min_retention[tier] - (day - self.tier_since[index]), 0)
        billable = np.maximum(self.size[index], rates.min_billable[tier])
        return float(
            np.sum(self.count[index] * remaining * rates.gb_day[tier] * billable) / BYTES_PER_GB
        )

    def actions_due(self, day: int, present: Any) -> NDArray[np.int64]:
        """Per cohort, the value of the :class:`Action` the policy takes today, or 0.

        The cheapest outcome wins across all matching rules. Rules never warm a blob up
        and never touch an archived one except to delete it (leaving Archive needs a
        rehydration, which no rule performs).
        """
        chosen = np.full(self.count.shape, _NO_ACTION, dtype=np.int64)
        for index, rule in enumerate(self.rules):
            selected = present & self.matches[index]
            for action, condition in rule.actions.items():
                due = selected & (day - self.clock(condition.clock) > condition.days)
                if condition.since_tier_change_days is not None:
                    due &= day - self.tier_since > condition.since_tier_change_days
                chosen[due] = np.maximum(chosen[due], action.value)
        blocked = (chosen != Action.DELETE) & ((chosen <= self.tier) | (self.tier == Tier.ARCHIVE))
        chosen[blocked] = _NO_ACTION
        return chosen


def simulate(
    cohorts: Sequence[Cohort], policy: Policy, prices: PriceTable, days: int, run_every: int = 1
) -> SimulationResult:
    """Run ``policy`` over ``cohorts`` for ``days`` days (day 0 first), on every
    ``run_every``-th day. Azure means to run it daily; a larger value models runs that
    come late: each action then happens up to ``run_every - 1`` days after it is due,
    by a different delay for blobs that arrived on different days."""
    if run_every < 1:
        raise ValueError(f"run_every must be at least 1, not {run_every}")
    state, rates = _State(cohorts, policy), _Rates(prices)
    blobs = np.zeros((days, len(Tier)))
    gigabytes = np.zeros((days, len(Tier)))
    costs = {name: np.zeros(days) for name in COST_CATEGORIES}
    deleted_blobs = 0.0
    for day in range(days):
        present = (state.created <= day) & ~state.deleted
        uploads = state.created == day
        costs["operations"][day] += np.sum(state.count[uploads]) * rates.write[Tier.HOT]
        _read(state, rates, day, present, costs)
        if day % run_every == 0:
            deleted_blobs += _run_policy(state, rates, day, present, costs)
        present &= ~state.deleted
        count, size, tier = state.count[present], state.size[present], state.tier[present]
        billable = np.maximum(size, rates.min_billable[tier])
        costs["storage"][day] = np.sum(count * billable * rates.gb_day[tier]) / BYTES_PER_GB
        costs["index_tags"][day] = np.sum(count * state.tag_count[present]) * rates.tag_day
        blobs[day] = np.bincount(tier, weights=count, minlength=len(Tier))
        gigabytes[day] = np.bincount(tier, weights=count * size, minlength=len(Tier))
    return SimulationResult(blobs, gigabytes / BYTES_PER_GB, costs, deleted_blobs)


def _read(state: _State, rates: _Rates, day: int, present: Any, costs: dict[str, Any]) -> None:
    scheduled = state.reads.get(day)
    if scheduled is None:
        return
    index = scheduled[present[scheduled]]
    tier = state.tier[index]
    # Archived blobs cannot be read in place: rehydrate to Hot, then read there.
    # Cool blobs under auto-tier-to-hot are read in Cool and moved to Hot by the read.
    leaving = index[(tier == Tier.ARCHIVE) | ((tier == Tier.COOL) & state.auto_hot[index])]
    count, gigabytes = state.count[index], state.count[index] * state.size[index] / BYTES_PER_GB
    costs["operations"][day] += np.sum(count * rates.read[tier])
    costs["retrieval"][day] += np.sum(gigabytes * rates.retrieval[tier])
    costs["early_deletion"][day] += state.early_deletion(rates, leaving, day)
    costs["operations"][day] += np.sum(count[tier == Tier.ARCHIVE]) * rates.read[Tier.HOT]
    state.tier[leaving] = Tier.HOT
    state.tier_since[leaving] = day
    state.last_access[index] = day


def _run_policy(
    state: _State, rates: _Rates, day: int, present: Any, costs: dict[str, Any]
) -> float:
    """Apply today's winning action to every cohort; returns the number of blobs deleted."""
    chosen = state.actions_due(day, present)
    deleting = np.flatnonzero(chosen == Action.DELETE)
    costs["early_deletion"][day] += state.early_deletion(rates, deleting, day)
    state.deleted[deleting] = True
    moving = np.flatnonzero((chosen != _NO_ACTION) & (chosen != Action.DELETE))
    costs["early_deletion"][day] += state.early_deletion(rates, moving, day)
    target = chosen[moving]
    costs["operations"][day] += np.sum(state.count[moving] * rates.write[target])
    state.tier[moving] = target
    state.tier_since[moving] = day
    return float(np.sum(state.count[deleting]))


def actions_due(cohorts: Sequence[Cohort], policy: Policy, day: int) -> list[Action | None]:
    """What the policy does to each cohort on ``day`` (``None``: nothing), the same
    decision :func:`simulate` takes; ``prism lifecycle apply`` acts on it."""
    state = _State(cohorts, policy)
    chosen = state.actions_due(day, state.created <= day)
    return [None if value == _NO_ACTION else Action(value) for value in chosen.tolist()]


def compare_with_all_hot(
    cohorts: Sequence[Cohort], policy: Policy, prices: PriceTable, days: int, run_every: int = 1
) -> Comparison:
    """Simulate ``policy`` (run every ``run_every`` days) and the baseline: the same
    blobs, all Hot, untagged, no policy."""
    baseline_cohorts = [replace(c, tier=Tier.HOT, tags={}) for c in cohorts]
    return Comparison(
        policy=simulate(cohorts, policy, prices, days, run_every),
        baseline=simulate(baseline_cohorts, Policy(()), prices, days),
        prices=prices,
    )
