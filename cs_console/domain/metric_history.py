"""Bounded metric history (sparklines), time-in-state, and spike detection. Pure."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from cs_console.domain.metrics import MetricsSnapshot
from cs_console.domain.thresholds import MetricState, Threshold


class MetricHistory:
    """The last `window` of values per metric key, trimmed by time, never unbounded."""

    def __init__(self, window: timedelta = timedelta(minutes=15), max_points: int = 1800) -> None:
        self.window = window
        self._series: dict[str, deque[tuple[datetime, float]]] = {}
        self._max_points = max_points

    def add(self, snapshot: MetricsSnapshot) -> None:
        for key, sample in snapshot.samples.items():
            if sample.value is None:
                continue
            series = self._series.setdefault(key, deque(maxlen=self._max_points))
            series.append((snapshot.at, float(sample.value)))
            cutoff = snapshot.at - self.window
            while series and series[0][0] < cutoff:
                series.popleft()

    def values(self, key: str) -> list[float]:
        return [v for _, v in self._series.get(key, ())]

    def points(self, key: str) -> list[tuple[datetime, float]]:
        return list(self._series.get(key, ()))

    def baseline(self, key: str, exclude_last: int = 1) -> float | None:
        """Median of the window, without the newest point(s): robust against the spike itself."""
        vals = self.values(key)
        vals = vals[:-exclude_last] if exclude_last else vals
        return median(vals) if len(vals) >= 5 else None


def is_spike(value: float | None, baseline: float | None, factor: float = 3.0, floor: float = 1.0) -> bool:
    """A value at least `factor` times its rolling baseline (and above a small floor)."""
    if value is None or baseline is None:
        return False
    return value >= max(baseline * factor, floor)


@dataclass(frozen=True, slots=True)
class StateEntry:
    threshold: str
    metric: str
    state: MetricState
    value: float | None
    since: datetime
    note: str = ""

    def duration(self, now: datetime) -> timedelta:
        return max(now - self.since, timedelta(0))


class StateTracker:
    """Evaluates thresholds on each snapshot and remembers since when each state holds."""

    def __init__(self, thresholds: dict[str, Threshold]) -> None:
        self.thresholds = thresholds
        self.entries: dict[str, StateEntry] = {}

    def update(self, snapshot: MetricsSnapshot) -> dict[str, StateEntry]:
        for name, threshold in self.thresholds.items():
            sample = snapshot.samples.get(threshold.metric)
            if sample is None:
                continue  # this source does not report it: keep what another source said
            value = sample.value
            previous = self.entries.get(name)
            state = threshold.state_after(value, previous.state if previous else None)
            since = previous.since if previous and previous.state == state else snapshot.at
            self.entries[name] = StateEntry(name, threshold.metric, state, value, since, sample.note)
        return self.entries

    def state_of_metric(self, metric: str) -> StateEntry | None:
        return next((e for e in self.entries.values() if e.metric == metric), None)
