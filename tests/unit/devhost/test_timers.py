from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prism.errors import ConfigurationError
from prism_local.devhost.timers import Schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("0 */5 * * * *", "2026-03-01T10:02:07", "2026-03-01T10:05:00"),
        ("0 */5 * * * *", "2026-03-01T10:05:00", "2026-03-01T10:10:00"),  # strictly after
        ("0 0 3 * * *", "2026-03-01T04:00:00", "2026-03-02T03:00:00"),
        ("0 30 9 * * 0", "2026-03-02T00:00:00", "2026-03-08T09:30:00"),  # Sunday is 0
        ("0 0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("15,45 * * * * *", "2026-03-01T10:00:20", "2026-03-01T10:00:45"),
        ("0 0 9-17/4 * * 1-5", "2026-03-06T13:00:00", "2026-03-06T17:00:00"),
        ("0 0 9-17/4 * * 1-5", "2026-03-06T17:00:00", "2026-03-09T09:00:00"),  # Fri → Mon
    ],
)
def test_ncrontab_next_occurrence(schedule: str, after: str, expected: str) -> None:
    assert Schedule.parse(schedule).next_after(at(after)) == at(expected)


def test_timespan_schedule_fires_every_interval() -> None:
    assert Schedule.parse("00:10:00").next_after(at("2026-03-01T10:02:00")) == at(
        "2026-03-01T10:12:00"
    )


@pytest.mark.parametrize("schedule", ["* * * * *", "0 61 * * * *", "0 */0 * * * *", "x * * * * *"])
def test_malformed_schedules_are_configuration_errors(schedule: str) -> None:
    with pytest.raises(ConfigurationError):
        Schedule.parse(schedule)
