"""The flight recorder's vocabulary (pure): what a recording holds and how each thing is
turned into JSON-ready data and back.

A recording is a sequence of frames, each (time, kind, payload). Times are the
environment's clock (demo time on the demo) as Unix seconds. Payloads are plain
dicts so the store can compress and redact them without knowing the domain.

Kinds:
- ``metrics``: one merged MetricsSnapshot per refresh (samples and per-function stats);
- ``health``: one HealthReport per health check;
- ``alert``: an alert raised or resolved;
- ``source``: a source's state changed (DOWN, DEGRADED, a 429...);
- ``logs``: one second of logs: per-level counts of everything seen, every warn/error
  record (up to a cap) and a bounded sample of the rest;
- ``audit``: an audit record (every runbook step, before and after, and refusals);
- ``incident``: an incident seen open or closed (it bounds what `replay INC-REF` shows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.health import ComponentHealth, HealthReport, HealthStatus
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.metrics import FunctionStats, MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus

KINDS: tuple[str, ...] = ("metrics", "health", "alert", "source", "logs", "audit", "incident")

# A second of logs keeps every warn/error record up to this many, and this many of the rest.
LOG_KEEP_SEVERE_PER_S = 50
LOG_SAMPLE_OTHER_PER_S = 3
LOG_MESSAGE_MAX = 2000  # characters of one recorded message (a stack trace stays readable)


def ts(at: datetime) -> float:
    return at.timestamp()


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _opt_ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _opt_at(value: Any) -> datetime | None:
    return None if value is None else at(float(value))


# ---------------------------------------------------------------- metrics


def snapshot_to_dict(snap: MetricsSnapshot) -> dict[str, Any]:
    # Samples as key -> [value, note] (note dropped when empty): half the bytes of a dict per sample.
    samples = {k: ([s.value, s.note] if s.note else [s.value]) for k, s in snap.samples.items()}
    out: dict[str, Any] = {"source": snap.source, "samples": samples}
    if snap.functions:
        out["functions"] = [
            [f.slug, f.status, f.invocations_per_min, f.error_rate_pct, f.avg_duration_ms, f.p95_duration_ms, f.version]
            for f in snap.functions
        ]
    return out


def snapshot_from_dict(t: float, data: Mapping[str, Any]) -> MetricsSnapshot:
    samples: dict[str, MetricSample] = {}
    for key, value in dict(data.get("samples") or {}).items():
        parts = list(value) if isinstance(value, (list, tuple)) else [value]
        number = parts[0] if parts else None
        samples[str(key)] = MetricSample(str(key), None if number is None else float(number), str(parts[1]) if len(parts) > 1 else "")
    functions = tuple(
        FunctionStats(str(f[0]), str(f[1]), float(f[2]), float(f[3]), float(f[4]), None if f[5] is None else float(f[5]), None if f[6] is None else int(f[6]))
        for f in data.get("functions") or () if isinstance(f, (list, tuple)) and len(f) >= 7
    )
    return MetricsSnapshot(str(data.get("source") or "replay"), at(t), samples, functions)


# ---------------------------------------------------------------- health


def health_to_dict(report: HealthReport) -> dict[str, Any]:
    return {
        "components": [[c.name, c.status.value, c.detail, c.latency_ms, _opt_ts(c.checked_at)] for c in report.components],
        "notes": list(report.notes),
    }


def health_from_dict(t: float, data: Mapping[str, Any]) -> HealthReport:
    comps = []
    for c in data.get("components") or ():
        if not isinstance(c, (list, tuple)) or len(c) < 5:
            continue
        try:
            status = HealthStatus(c[1])
        except ValueError:
            status = HealthStatus.UNKNOWN
        comps.append(ComponentHealth(str(c[0]), status, str(c[2] or ""), None if c[3] is None else float(c[3]), _opt_at(c[4])))
    return HealthReport(tuple(comps), at(t), tuple(str(n) for n in data.get("notes") or ()))


# ---------------------------------------------------------------- alerts and sources


def alert_to_dict(alert: Alert, event: str) -> dict[str, Any]:
    return {
        "event": event, "id": alert.id, "rule": alert.rule, "class": alert.alert_class.value, "title": alert.title,
        "detail": alert.detail, "raised": ts(alert.at), "metric": alert.metric, "value": alert.value,
        "resolved": _opt_ts(alert.resolved_at),
    }


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    return Alert(
        str(data["id"]), str(data.get("rule") or ""), AlertClass(data.get("class") or "info"), str(data.get("title") or ""),
        str(data.get("detail") or ""), at(float(data["raised"])), data.get("metric"), data.get("value"), _opt_at(data.get("resolved")),
    )


def source_to_dict(status: SourceStatus) -> dict[str, Any]:
    return {"name": status.name, "state": status.state.value, "detail": status.detail, "since": _opt_ts(status.since)}


def source_from_dict(data: Mapping[str, Any]) -> SourceStatus:
    try:
        state = SourceState(data.get("state"))
    except ValueError:
        state = SourceState.UNKNOWN
    return SourceStatus(str(data.get("name") or "?"), state, str(data.get("detail") or ""), _opt_at(data.get("since")))


def source_fault(status: SourceStatus) -> str:
    """What about a source's status is worth a frame: its state, and a rate limit (429) when it says so."""
    limited = "429" in status.detail or "rate limit" in status.detail.lower()
    return f"{status.state.value}{' 429' if limited else ''}"


# ---------------------------------------------------------------- logs


def log_to_dict(rec: LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"t": ts(rec.ts), "l": int(rec.level), "s": rec.source, "m": rec.message[:LOG_MESSAGE_MAX]}
    for key, short in (("function", "f"), ("status", "st"), ("request_id", "r"), ("id", "i")):
        value = getattr(rec, key)
        if value is not None:
            out[short] = value
    return out


def log_from_dict(data: Mapping[str, Any]) -> LogRecord:
    try:
        level = Level(int(data.get("l", int(Level.INFO))))
    except ValueError:
        level = Level.INFO
    status = data.get("st")
    return LogRecord(
        at(float(data["t"])), level, str(data.get("s") or "?"), str(data.get("m") or ""),
        function=data.get("f"), status=int(status) if isinstance(status, int) else None,
        request_id=data.get("r"), id=data.get("i"),
    )


@dataclass
class LogSecond:
    """One second of logs as the recorder keeps it: counts of all, the severe ones, a sample of the rest."""

    second: int
    counts: dict[str, int] = field(default_factory=dict)  # level label -> records seen
    severe: list[LogRecord] = field(default_factory=list)
    sample: list[LogRecord] = field(default_factory=list)
    dropped_severe: int = 0

    def add(self, rec: LogRecord) -> None:
        label = rec.level.label
        self.counts[label] = self.counts.get(label, 0) + 1
        if rec.level >= Level.WARN:
            if len(self.severe) < LOG_KEEP_SEVERE_PER_S:
                self.severe.append(rec)
            else:
                self.dropped_severe += 1
        elif len(self.sample) < LOG_SAMPLE_OTHER_PER_S:
            self.sample.append(rec)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"counts": self.counts, "records": [log_to_dict(r) for r in (*self.severe, *self.sample)]}
        if self.dropped_severe:
            out["dropped_severe"] = self.dropped_severe
        return out


class LogSampler:
    """Groups records into seconds (of their own time); a second is handed over once a
    later one begins, or when flushed."""

    def __init__(self) -> None:
        self._open: dict[int, LogSecond] = {}

    def add(self, records: Iterable[LogRecord]) -> list[LogSecond]:
        done: list[LogSecond] = []
        for rec in records:
            second = int(rec.ts.timestamp())
            bucket = self._open.get(second)
            if bucket is None:
                bucket = self._open[second] = LogSecond(second)
            bucket.add(rec)
        if len(self._open) > 1:
            newest = max(self._open)
            for second in sorted(s for s in self._open if s < newest):
                done.append(self._open.pop(second))
        return done

    def close_before(self, second: int) -> list[LogSecond]:
        """The seconds before `second` (the clock has moved past them: no more records will come)."""
        done = [self._open.pop(s) for s in sorted(s for s in self._open if s < second)]
        return done

    def flush(self) -> list[LogSecond]:
        done = [self._open[s] for s in sorted(self._open)]
        self._open.clear()
        return done


def logs_from_frame(data: Mapping[str, Any]) -> list[LogRecord]:
    out = []
    for item in data.get("records") or ():
        try:
            out.append(log_from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue
    return out
