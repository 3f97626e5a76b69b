"""Replaying a recording: the monitor fed the recorded frames at their own times.

The console's panes read the monitor (LiveState, MetricHistory, alerts) as always.
Here the monitor is fed, in time order, every recorded metrics snapshot and health
result up to the replay clock's time, with the clock pinned to each frame's time,
so history, states and alerts are rebuilt exactly as they were computed then. A
seek backwards (or far ahead) starts the monitor afresh and feeds the frames of the
WARM_S before the new time: what the sparklines and alert durations need.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cs_console.domain.alerts import AlertEngine
from cs_console.domain.metric_history import MetricHistory, StateTracker
from cs_console.domain.sources import SourceStatus
from cs_console.services.environment import Environment

WARM_S = 900.0  # recorded seconds fed after a seek (the sparklines' span)


@dataclass(frozen=True)
class ReplayEvent:
    t: float
    kind: str  # alert, source, incident, audit
    label: str


@dataclass
class ReplayEnvironment(Environment):
    """An environment whose source states are the recorded ones at the clock's time."""

    statuses_at: Any = None  # callable(t) -> list[SourceStatus]

    def source_statuses(self) -> list[SourceStatus]:
        if self.statuses_at is None:
            return super().source_statuses()
        return list(self.statuses_at(self.clock.now().timestamp()))


class PinnedClock:
    """The replay clock, or one frame's time while that frame is fed to the monitor."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._pinned: float | None = None

    @property
    def speed(self) -> float:
        return float(self.inner.speed)

    def now(self) -> datetime:
        if self._pinned is not None:
            return datetime.fromtimestamp(self._pinned, tz=timezone.utc)
        return self.inner.now()

    @contextmanager
    def pinned(self, t: float) -> Iterator[None]:
        self._pinned = t
        try:
            yield
        finally:
            self._pinned = None


@dataclass
class ReplayController:
    """What the time bar drives: the clock, the frames' times, the timeline's events."""

    clock: Any  # backends.replay.clock.ReplayClock
    pinned: PinnedClock
    metric_times: list[float]
    health_times: list[float]
    events: list[ReplayEvent]
    title: str = ""
    incident_ref: str = ""
    notes: list[str] = field(default_factory=list)
    _fed: float | None = None

    @property
    def start(self) -> float:
        return float(self.clock.start)

    @property
    def end(self) -> float:
        return float(self.clock.end)

    def position(self) -> float:
        return float(self.clock.epoch())

    # ------------------------------------------------------------ moving

    def toggle(self) -> bool:
        if self.clock.playing:
            self.clock.pause()
        else:
            self.clock.play()
        return bool(self.clock.playing)

    def seek(self, t: float) -> None:
        self.clock.seek(t)

    def seek_by(self, seconds: float) -> None:
        self.clock.seek(self.position() + seconds)

    def step(self, direction: int) -> float:
        """Pause, and move to the next (1) or previous (-1) recorded refresh."""
        self.clock.pause()
        times = sorted(set(self.metric_times) | set(self.health_times))
        now = self.position()
        if direction > 0:
            i = bisect.bisect_right(times, now + 1e-6)
            target = times[i] if i < len(times) else self.end
        else:
            i = bisect.bisect_left(times, now - 1e-6) - 1
            target = times[i] if i >= 0 else self.start
        self.clock.seek(target)
        return target

    def event_near(self, direction: int) -> ReplayEvent | None:
        now = self.position()
        later = [e for e in self.events if e.t > now + 0.5] if direction > 0 else [e for e in self.events if e.t < now - 0.5]
        if not later:
            return None
        return later[0] if direction > 0 else later[-1]

    def seek_event(self, direction: int) -> ReplayEvent | None:
        event = self.event_near(direction)
        if event is not None:
            self.clock.pause()
            self.clock.seek(event.t)
        return event

    # ------------------------------------------------------------ feeding the monitor

    async def sync(self, monitor: Any) -> bool:
        """Feed the monitor up to the clock's time; True when anything was fed."""
        now = self.position()
        fed = self._fed
        if fed is not None and abs(now - fed) < 1e-9:
            return False
        if fed is None or now < fed or now - fed > WARM_S:
            reset_monitor(monitor)
            fed = max(now - WARM_S, self.start) - 1e-6
        todo = sorted(
            [(t, 0) for t in self.metric_times[bisect.bisect_right(self.metric_times, fed):bisect.bisect_right(self.metric_times, now)]]
            + [(t, 1) for t in self.health_times[bisect.bisect_right(self.health_times, fed):bisect.bisect_right(self.health_times, now)]]
        )
        for t, kind in todo:
            with self.pinned.pinned(t):
                if kind == 0:
                    await monitor.refresh_metrics()
                else:
                    await monitor.refresh_health()
        self._fed = now
        return True


def reset_monitor(monitor: Any) -> None:
    """A monitor as if just started (its LiveState object kept: the panes hold it)."""
    monitor.history = MetricHistory()
    monitor.tracker = StateTracker(monitor.env.session.profile.thresholds)
    monitor.alerts = AlertEngine()
    live = monitor.live
    live.snapshot = None
    live.health = None
    live.states = {}
    live.alerts_active = []
    live.alerts_recent = []
    live.metrics_at = None
    live.health_at = None
    live.metrics_error = ""
    live.health_error = ""
