"""The console's lifecycle view: weekly points of the year the simulator costs."""

from __future__ import annotations

import itertools

from prism.console.lifecycle import DAYS, lifecycle_view


def test_the_view_thins_the_year_to_weekly_points_ending_on_its_last_day() -> None:
    view = lifecycle_view()
    days = [point["day"] for point in view["series"]]
    assert days[0] == 0 and days[-1] == DAYS - 1
    assert all(0 < later - earlier <= 7 for earlier, later in itertools.pairwise(days))


def test_the_last_point_costs_what_the_simulation_totals() -> None:
    view = lifecycle_view()
    last = view["series"][-1]
    assert last["cumulative_cost"] == view["policy"]["costs"]["total"]
    assert last["baseline_cumulative_cost"] == view["baseline_all_hot"]["costs"]["total"]
    assert view["policy"]["costs"]["total"] < view["baseline_all_hot"]["costs"]["total"]
    assert set(last["gigabytes"]) == {"Hot", "Cool", "Cold", "Archive"}
