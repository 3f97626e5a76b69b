"""The flight recorder: what the console saw, recorded while an incident is open.

The monitor hands it each refresh (metrics, health, source states, alerts as they
are raised and resolved); a background task of its own follows the logs, tails
the audit log (every runbook step, from this console or another on the machine)
and asks the incident store which incidents are open. Every frame is stamped
with the environment's clock, so the demo records in demo time.

It records:
- while any incident is open, plus a post-roll after the last one closes, and the
  pre-roll kept in memory before the first one opened (the alert that led to the
  declaration fires before it);
- always, when the profile sets `record_ring_hours` (the store keeps that many hours).

Writing is the sink's business (stores.recording_store.RecordingWriter: a queue and
a thread); every call here returns at once, so the UI loop never waits on the disk.

Its problems are the operator's to know, never a reason to stop the console: a file that
cannot be opened (tried again every SINK_RETRY_S), a write that fails (disk full, unwritable:
the sink's `error`), an incident store that cannot be read (the team PostgreSQL down: what was
known open stays open), a log source that fails. `problem` says the current one ('' when
none); the console shows it and says when it is gone.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from cs_console.domain.alerts import Alert
from cs_console.domain.clock import Clock
from cs_console.domain.recording import LogSampler, alert_to_dict, health_to_dict, snapshot_to_dict, source_fault, source_to_dict

PRE_ROLL_S = 900.0  # clock seconds kept in memory before an incident opens
POST_ROLL_S = 300.0  # clock seconds still recorded after the last incident closes
PRE_ROLL_FRAMES = 4000
INCIDENT_POLL_S = 5.0  # wall seconds between asks of the incident store
AUDIT_POLL_S = 1.0
SINK_RETRY_S = 30.0  # wall seconds between attempts to open a recording that failed to open


class RecordingSink(Protocol):
    def put(self, kind: str, t: float, payload: dict[str, Any]) -> None: ...

    def incident(self, span: Any) -> None: ...

    def last_logs(self) -> float | None: ...

    def close(self, timeout: float = 5.0) -> None: ...

    @property
    def error(self) -> str: ...


@dataclass(frozen=True)
class OpenIncident:
    ref: str
    title: str
    severity: str
    opened: float


class Recorder:
    def __init__(
        self, clock: Clock, sink_factory: Callable[[], RecordingSink], *, ring_hours: float = 0.0,
        incidents: Callable[[], Awaitable[list[OpenIncident]]] | None = None,
        audit_path: Path | None = None, log_source: Callable[[], Any] | None = None,
        span_type: Callable[..., Any] | None = None, sink_retry_s: float = SINK_RETRY_S,
    ) -> None:
        self.clock = clock
        self._sink_factory = sink_factory
        self._sink: RecordingSink | None = None
        self.ring_hours = ring_hours
        self._incidents = incidents
        self._audit_path = audit_path
        self._audit_offset: int | None = None
        self._log_source = log_source
        self._span_type = span_type
        self.open_incidents: dict[str, OpenIncident] = {}
        self._last_closed_at: float | None = None
        self._pre_roll: deque[tuple[str, float, dict[str, Any]]] = deque(maxlen=PRE_ROLL_FRAMES)
        self._sources: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._log_task: asyncio.Task[None] | None = None
        self._sampler = LogSampler()
        self._logged_to: float | None = None  # the newest logs second handed to the sink
        self._problems: dict[str, str] = {}  # part -> what is wrong with it now
        self._sink_retry_s = sink_retry_s
        self._sink_retry_at = 0.0
        self._sink_failure = ""  # why the recording would not open ('' once it did)
        self.frames = 0
        self.lost = 0  # frames pushed out of memory while the recording would not open

    # ------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        if self.ring_hours > 0 or self.open_incidents:
            return True
        if self._last_closed_at is not None:
            return self._now() - self._last_closed_at <= POST_ROLL_S
        return False

    @property
    def sink(self) -> RecordingSink | None:
        return self._sink

    @property
    def problem(self) -> str:
        """What keeps the recording from being whole right now ('' when nothing does)."""
        parts = list(self._problems.values())
        if self._sink is not None and self._sink.error:
            parts.insert(0, f"flight recorder: {self._sink.error}")
        elif self._sink is None and self._sink_failure and self.active:
            lost = f", {self.lost} lost" if self.lost else ""
            parts.insert(0, f"{self._sink_failure} · {len(self._pre_roll)} frames held{lost}, tried again every {self._sink_retry_s:.0f} s")
        return " · ".join(parts)

    @property
    def error(self) -> str:  # the name earlier callers used
        return self.problem

    def _said(self, part: str, problem: str = "") -> None:
        """Set (or, with '', clear) the problem of one part of the recorder."""
        if problem:
            self._problems[part] = problem[:200]
        else:
            self._problems.pop(part, None)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _emit(self, kind: str, t: float, payload: dict[str, Any]) -> None:
        active = self.active
        sink = self._open_sink() if active else None
        if sink is None:
            # Not recording (the pre-roll), or the file will not open: held in memory, bounded,
            # and written once it opens (a frame pushed out while recording is counted lost).
            if active and len(self._pre_roll) == self._pre_roll.maxlen:
                self.lost += 1
            self._pre_roll.append((kind, t, payload))
            while not active and self._pre_roll and t - self._pre_roll[0][1] > PRE_ROLL_S:
                self._pre_roll.popleft()
            return
        while self._pre_roll:
            sink.put(*self._pre_roll.popleft())
            self.frames += 1
        sink.put(kind, t, payload)
        self.frames += 1

    def _open_sink(self) -> RecordingSink | None:
        if self._sink is None:
            if time.monotonic() < self._sink_retry_at:
                return None
            try:
                self._sink = self._sink_factory()
            except Exception as exc:  # noqa: BLE001 - a recording that cannot open must not stop the console
                self._sink_retry_at = time.monotonic() + self._sink_retry_s
                self._sink_failure = f"flight recorder off: cannot open the recording: {type(exc).__name__}: {exc}"[:200]
                return None
            self._sink_failure = ""
        return self._sink

    # ------------------------------------------------------------ fed by the monitor

    def observe_metrics(self, at: datetime, live: Any) -> None:
        self._start()
        snap = live.snapshot
        if snap is not None and live.metrics_at == at:
            self._emit("metrics", at.timestamp(), snapshot_to_dict(snap))
        self._observe_sources(at, live.sources)

    def observe_health(self, at: datetime, live: Any) -> None:
        self._start()
        if live.health is not None and live.health_at == at:
            self._emit("health", at.timestamp(), health_to_dict(live.health))

    def observe_alert(self, alert: Alert, event: str, at: datetime) -> None:
        self._emit("alert", at.timestamp(), alert_to_dict(alert, event))

    def _observe_sources(self, at: datetime, statuses: list[Any]) -> None:
        for status in statuses:
            fault = source_fault(status)
            if self._sources.get(status.name) != fault:
                self._sources[status.name] = fault
                self._emit("source", at.timestamp(), source_to_dict(status))

    def observe_logs(self, records: list[Any]) -> None:
        done = self._sampler.add(records) + self._sampler.close_before(int(self._now()) - 2)
        for second in done:
            self._emit_logs(second)

    def _emit_logs(self, second: Any) -> None:
        self._logged_to = max(self._logged_to or 0.0, float(second.second))
        self._emit("logs", float(second.second), second.to_dict())

    def log_since(self) -> datetime:
        """Where the log follower starts: the pre-roll (the last PRE_ROLL_S of the source's
        history, as the metrics' pre-roll), never a second already recorded."""
        since = self._now() - PRE_ROLL_S
        sink = self._open_sink() if self.active else self._sink
        for done in (self._logged_to, sink.last_logs() if sink is not None else None):
            if done is not None:
                since = max(since, done + 1.0)
        return datetime.fromtimestamp(since, tz=timezone.utc)

    # ------------------------------------------------------------ its own task

    def _start(self) -> None:
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        ticks = 0
        while True:
            try:
                if ticks % max(int(INCIDENT_POLL_S / AUDIT_POLL_S), 1) == 0:
                    await self.refresh_incidents()
                self.tail_audit()
                self._follow_logs()
                self._said("run")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the recorder reports, the console goes on
                self._said("run", f"flight recorder: {type(exc).__name__}: {exc}")
            ticks += 1
            await asyncio.sleep(AUDIT_POLL_S)

    async def refresh_incidents(self) -> None:
        if self._incidents is None:
            return
        try:
            found = {i.ref: i for i in await self._incidents()}
        except Exception as exc:  # noqa: BLE001 - the store down: keep what we knew
            known = ", ".join(self.open_incidents) or "none"
            self._said("incidents", f"flight recorder: incidents not readable ({type(exc).__name__}: {exc}); recording as open: {known}")
            return
        self._said("incidents")
        now = self._now()
        for ref, inc in found.items():
            if ref not in self.open_incidents:
                self.open_incidents[ref] = inc
                self._emit("incident", now, {"event": "open", "ref": ref, "title": inc.title, "severity": inc.severity, "opened": inc.opened})
                self._span(inc, None)
        for ref in [r for r in self.open_incidents if r not in found]:
            inc = self.open_incidents.pop(ref)
            self._last_closed_at = now
            self._emit("incident", now, {"event": "closed", "ref": ref, "title": inc.title, "severity": inc.severity})
            self._span(inc, now)

    def _span(self, inc: OpenIncident, closed: float | None) -> None:
        sink = self._open_sink() if self.active else self._sink
        if sink is None or self._span_type is None:
            return
        # Opened before the pre-roll began: the replay window starts with the recording.
        sink.incident(self._span_type(inc.ref, inc.title, inc.severity, inc.opened, closed))

    def tail_audit(self) -> None:
        """New lines of the audit log since the last look (the first look only marks the end)."""
        path = self._audit_path
        if path is None:
            return
        try:
            size = path.stat().st_size
        except OSError:
            self._audit_offset = 0  # not written yet: what comes later is all new
            return
        if self._audit_offset is None or size < self._audit_offset:
            self._audit_offset = size if self._audit_offset is None else 0
            return
        if size == self._audit_offset:
            return
        with open(path, "rb") as fh:
            fh.seek(self._audit_offset)
            chunk = fh.read(size - self._audit_offset)
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next look
        self._audit_offset += end
        now = self._now()
        for line in chunk[:end].splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                self._emit("audit", now, rec)

    def _follow_logs(self) -> None:
        want = self.active and self._log_source is not None
        running = self._log_task is not None and not self._log_task.done()
        if want and not running:
            self._log_task = asyncio.get_running_loop().create_task(self._logs())
        elif not want and running and self._log_task is not None:
            self._log_task.cancel()

    async def _logs(self) -> None:
        """Follow the `all` logs while recording; a failing source is said, and retried by `_run`."""
        assert self._log_source is not None
        for second in self._sampler.flush():  # a restart: what was open is closed, not mixed
            self._emit_logs(second)
        try:
            source = self._log_source()
            async for batch in source.records(self.log_since(), True):
                self._said("logs")
                self.observe_logs(batch)  # an empty batch still closes the seconds the clock has left
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the console's own Logs pane says more
            self._said("logs", f"flight recorder: logs not followed: {type(exc).__name__}: {exc}")
            await asyncio.sleep(5.0)  # not a retry every second against a failing source

    async def aclose(self) -> None:
        for task in (self._task, self._log_task):
            if task is not None:
                task.cancel()
        for second in self._sampler.flush():
            self._emit_logs(second)
        if self._sink is not None:
            await asyncio.to_thread(self._sink.close)
