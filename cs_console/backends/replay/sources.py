"""A recording served as sources: the frame in force at the replay clock's time.

`frames` is a recording reader (stores.recording_store.RecordingReader, passed in
by the wiring: backends do not import stores): latest(kind, t) and frames(kind, start, end).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

from cs_console.domain.clock import Clock
from cs_console.domain.health import ComponentHealth
from cs_console.domain.log_buffer import Rewind
from cs_console.domain.log_record import LogRecord
from cs_console.domain.metrics import MetricsSnapshot
from cs_console.domain.recording import health_from_dict, logs_from_frame, snapshot_from_dict, source_from_dict
from cs_console.domain.sources import SourceState, SourceStatus

LOG_LOOKBACK_S = 900.0  # what the Logs pane is shown when it opens: the recording's last 15 minutes
LOG_POLL_S = 0.25  # wall seconds between looks at the moving clock


class Frames(Protocol):
    def latest(self, kind: str, t: float) -> tuple[float, dict[str, Any]] | None: ...

    def frames(self, kind: str | None = None, start: float | None = None, end: float | None = None) -> Any: ...


class ReplayMetricsSource:
    name = "replay"

    def __init__(self, frames: Frames, clock: Clock) -> None:
        self._frames = frames
        self._clock = clock
        self._status = SourceStatus("replay", SourceState.UNKNOWN, "not read yet")

    async def collect(self) -> MetricsSnapshot:
        t = self._clock.now().timestamp()
        found = self._frames.latest("metrics", t)
        if found is None:
            self._status = SourceStatus("replay", SourceState.UNKNOWN, "no metrics recorded before this time")
            return MetricsSnapshot("replay", self._clock.now())
        self._status = SourceStatus("replay", SourceState.UP, "recorded")
        return snapshot_from_dict(found[0], found[1])

    def status(self) -> SourceStatus:
        return self._status

    def recorded_statuses(self, t: float) -> list[SourceStatus]:
        """Each recorded source as it stood at `t` (the last change at or before it)."""
        latest: dict[str, SourceStatus] = {}
        for _t, _kind, payload in self._frames.frames("source", None, t):
            status = source_from_dict(payload)
            latest[status.name] = status
        return list(latest.values())

    async def close(self) -> None:
        return None


class ReplayHealthProbe:
    name = "replay"

    def __init__(self, frames: Frames, clock: Clock) -> None:
        self._frames = frames
        self._clock = clock

    async def check(self) -> list[ComponentHealth]:
        found = self._frames.latest("health", self._clock.now().timestamp())
        if found is None:
            return []
        return list(health_from_dict(found[0], found[1]).components)


class ReplayLogSource:
    """The recorded logs (every warn/error, a sample of the rest) as they came, up to the clock's time."""

    def __init__(self, frames: Frames, clock: Clock, name: str) -> None:
        self.name = name
        self._frames = frames
        self._clock = clock
        self._newest: float | None = None

    def _between(self, start: float, end: float) -> list[LogRecord]:
        out: list[LogRecord] = []
        for _t, _kind, payload in self._frames.frames("logs", start, end):
            out += [r for r in logs_from_frame(payload) if self.name == "all" or r.source == self.name]
        out.sort(key=_ts)  # a frame keeps its warn/errors first, then the sample: shown in time order
        return out

    async def records(self, since: datetime | None, follow: bool) -> AsyncIterator[list[LogRecord]]:
        now = self._clock.now().timestamp()
        start = since.timestamp() if since is not None else now - LOG_LOOKBACK_S
        # Frames are stamped with their second: the one in progress at `now` is not shown yet.
        first = self._between(start, now - 1)
        cursor = now - 1
        if first:
            self._newest = first[-1].ts.timestamp()
            yield first
        while follow:
            await asyncio.sleep(LOG_POLL_S)
            now = self._clock.now().timestamp()
            if now - 1 < cursor - 1e-6 or now - 1 - cursor > LOG_LOOKBACK_S:
                # Sought back (or far ahead): what was shown is replaced by the records up to the
                # new time, as when the pane opens there (a Rewind batch, empty when there are none).
                cursor = now - 1
                rewind = Rewind(self._between(now - LOG_LOOKBACK_S, now - 1))
                self._newest = rewind[-1].ts.timestamp() if rewind else None
                yield rewind
                continue
            batch = self._between(cursor + 1e-6, now - 1)
            cursor = now - 1
            if batch:
                self._newest = batch[-1].ts.timestamp()
                yield batch

    def lag_seconds(self) -> float | None:
        if self._newest is None:
            return None
        return max(self._clock.now().timestamp() - self._newest, 0.0)


def _ts(rec: LogRecord) -> datetime:
    return rec.ts
