"""Time as a dependency, so the demo can compress it and tests can pin it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


def clock_rate(clock: object) -> float:
    """Clock seconds per wall second: the demo's `--speed`, 1 for every other clock.

    Intervals that are wall time (refresh periods) are this many clock seconds long, so a
    staleness check in clock time must scale them."""
    rate = getattr(clock, "speed", None)
    if rate is None:
        inner = getattr(clock, "rate", None)
        rate = inner() if callable(inner) else None
    try:
        return float(rate) if rate and float(rate) > 0 else 1.0
    except (TypeError, ValueError):
        return 1.0


MIN_POLL_S = 0.5  # the fastest the console polls, whatever the demo's --speed


def poll_interval(seconds: float, clock: object) -> float:
    """Wall seconds between polls of a source refreshed every `seconds` of clock time: the demo
    at --speed 10 polls ten times as often, so health keeps pace with the metrics."""
    return max(seconds / clock_rate(clock), MIN_POLL_S)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._at = self._at + timedelta(seconds=seconds)
