"""NCRONTAB schedules of timer triggers (``{second} {minute} {hour} {day} {month}
{day-of-week}``, UTC) and TimeSpan schedules (``hh:mm:ss``, every interval)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prism.errors import ConfigurationError
from prism_local.devhost.config import parse_timespan

_FIELDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            start, end = (int(v) for v in body.split("-", 1))
        else:
            start = int(body)
            end = high if step_text else start
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(part)
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    fields: tuple[frozenset[int], ...] | None = None
    interval: float | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        if ":" in text:
            return cls(interval=parse_timespan(text))
        parts = text.split()
        if len(parts) != 6:
            raise ConfigurationError(f"timer schedule {text!r}: NCRONTAB needs 6 fields")
        try:
            fields = tuple(
                _parse_field(p, lo, hi) for p, (lo, hi) in zip(parts, _FIELDS, strict=True)
            )
        except ValueError as exc:
            raise ConfigurationError(f"timer schedule {text!r}: bad field {exc}") from exc
        return cls(fields=fields)

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (UTC)."""
        if self.interval is not None:
            return moment + timedelta(seconds=self.interval)
        assert self.fields is not None
        seconds, minutes, hours, days, months, weekdays = self.fields
        start = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(366 * 8):  # every schedule fires within a few years (29 Feb)
            # NCRONTAB counts Sunday as 0; Python's weekday() counts Monday as 0.
            if day.month in months and day.day in days and (day.weekday() + 1) % 7 in weekdays:
                for hour in sorted(hours):
                    for minute in sorted(minutes):
                        for second in sorted(seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ConfigurationError("timer schedule never fires")
