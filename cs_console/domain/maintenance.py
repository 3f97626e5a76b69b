"""Maintenance windows (the manual: weekly Sunday 02:00-04:00 UTC; monthly first Sunday 01:00-05:00 UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    name: str
    weekday: int  # 0 = Monday ... 6 = Sunday
    start: time
    end: time
    nth_in_month: int | None = None  # 1 = first <weekday> of the month; None = every week

    def _applies_on(self, day: datetime) -> bool:
        if day.weekday() != self.weekday:
            return False
        return self.nth_in_month is None or (day.day - 1) // 7 + 1 == self.nth_in_month

    def contains(self, at: datetime) -> bool:
        at = at.astimezone(timezone.utc)
        return self._applies_on(at) and self.start <= at.time() < self.end

    def next_start(self, after: datetime) -> datetime:
        after = after.astimezone(timezone.utc)
        day = after.replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(400):
            if self._applies_on(day):
                start = datetime.combine(day.date(), self.start, tzinfo=timezone.utc)
                if start > after:
                    return start
            day += timedelta(days=1)
        raise ValueError("window never occurs")

    def describe(self) -> str:
        day = WEEKDAYS[self.weekday].capitalize()
        when = f"{'first ' if self.nth_in_month == 1 else ''}{day}" if self.nth_in_month else f"{day}s"
        if self.nth_in_month and self.nth_in_month > 1:
            when = f"{self.nth_in_month}th {day}"
        return f"{self.name}: {when} {self.start:%H:%M}-{self.end:%H:%M} UTC"


DEFAULT_WINDOWS: tuple[MaintenanceWindow, ...] = (
    MaintenanceWindow("weekly", 6, time(2, 0), time(4, 0)),
    MaintenanceWindow("monthly", 6, time(1, 0), time(5, 0), nth_in_month=1),
)


def _parse_hhmm(text: Any, what: str) -> time:
    if not isinstance(text, str):
        raise ValueError(f"{what} as \"HH:MM\"")
    try:
        h, m = text.split(":")
        return time(int(h), int(m))
    except ValueError:
        raise ValueError(f"{what} as \"HH:MM\" (got {text!r})") from None


def parse_window(name: str, raw: Any) -> MaintenanceWindow:
    """From a config table {day = "sunday", start = "02:00", end = "04:00", week = 1}."""
    if not isinstance(raw, dict):
        raise ValueError("a table with day, start, end (and week for monthly)")
    unknown = set(raw) - {"day", "start", "end", "week"}
    if unknown:
        raise ValueError(f"only day, start, end, week (unknown: {', '.join(sorted(unknown))})")
    day = raw.get("day")
    if not isinstance(day, str) or day.lower() not in WEEKDAYS:
        raise ValueError("day as a weekday name such as \"sunday\"")
    start = _parse_hhmm(raw.get("start"), "start")
    end = _parse_hhmm(raw.get("end"), "end")
    if end <= start:
        raise ValueError("end after start")
    week = raw.get("week")
    if week is not None and (isinstance(week, bool) or not isinstance(week, int) or not 1 <= week <= 5):
        raise ValueError("week as 1-5 (the nth weekday of the month)")
    return MaintenanceWindow(name, WEEKDAYS.index(day.lower()), start, end, week)
