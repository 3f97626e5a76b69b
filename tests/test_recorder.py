"""The flight recorder: what it records, when, and that the file survives a kill and keeps no secret."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.health import ComponentHealth, HealthReport, HealthStatus
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.metrics import FunctionStats, MetricSample, MetricsSnapshot
from cs_console.domain.recording import (
    LOG_KEEP_SEVERE_PER_S, LOG_SAMPLE_OTHER_PER_S, LogSampler, alert_from_dict, alert_to_dict, health_from_dict,
    health_to_dict, log_from_dict, log_to_dict, snapshot_from_dict, snapshot_to_dict,
)
from cs_console.domain.redaction import Redactor
from cs_console.services.monitor import Monitor
from cs_console.services.recorder import OpenIncident, Recorder
from cs_console.services.session import session_from_args
from cs_console.stores.recording_store import IncidentSpan, RecordingError, RecordingReader, RecordingWriter
from cs_console.wiring.demo import build_demo_environment
from tests.sessions import session_args

T0 = datetime(2026, 11, 27, 3, 0, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent


def _snapshot(at: datetime, conns: float) -> MetricsSnapshot:
    return MetricsSnapshot(
        "db+api", at,
        {"db.connections_pct": MetricSample("db.connections_pct", conns), "api.p95_ms": MetricSample("api.p95_ms", None, "no data"),
         **{f"host.metric_{n}": MetricSample(f"host.metric_{n}", n * 1.5) for n in range(12)}},
        (FunctionStats("send-email", "ACTIVE", 12.0, 0.5, 210.0, 400.0, 3),),
    )


# ---------------------------------------------------------------- domain codecs


def test_snapshot_health_alert_log_round_trip() -> None:
    snap = _snapshot(T0, 91.5)
    back = snapshot_from_dict(T0.timestamp(), json.loads(json.dumps(snapshot_to_dict(snap))))
    assert back.samples == snap.samples and back.functions == snap.functions and back.at == T0

    report = HealthReport((ComponentHealth("database", HealthStatus.DEGRADED, "slow", 120.0, T0),), T0, ("note",))
    back_h = health_from_dict(T0.timestamp(), json.loads(json.dumps(health_to_dict(report))))
    assert back_h == report

    alert = Alert("db_connections:db", "db_connections", AlertClass.CRITICAL, "DB connections", "95 %", T0, "db.connections_pct", 95.0)
    assert alert_from_dict(json.loads(json.dumps(alert_to_dict(alert, "raised")))) == alert

    rec = LogRecord(T0, Level.ERROR, "function", "boom", function="send-email", status=500, request_id="r1", id="x")
    back_l = log_from_dict(json.loads(json.dumps(log_to_dict(rec))))
    assert (back_l.ts, back_l.level, back_l.message, back_l.function, back_l.status) == (T0, Level.ERROR, "boom", "send-email", 500)


def test_log_sampler_keeps_every_error_up_to_a_cap_and_a_sample_of_the_rest() -> None:
    sampler = LogSampler()
    second = [LogRecord(T0, Level.INFO, "edge", f"ok {i}") for i in range(500)]
    second += [LogRecord(T0, Level.ERROR, "edge", f"bad {i}") for i in range(LOG_KEEP_SEVERE_PER_S + 7)]
    assert sampler.add(second) == []  # the second is still open
    done = sampler.add([LogRecord(T0 + timedelta(seconds=1), Level.INFO, "edge", "next")])
    assert len(done) == 1
    frame = done[0].to_dict()
    assert frame["counts"] == {"info": 500, "error": LOG_KEEP_SEVERE_PER_S + 7}
    levels = [r["l"] for r in frame["records"]]
    assert levels.count(int(Level.ERROR)) == LOG_KEEP_SEVERE_PER_S
    assert levels.count(int(Level.INFO)) == LOG_SAMPLE_OTHER_PER_S
    assert frame["dropped_severe"] == 7
    assert [s.second for s in sampler.flush()] == [int(T0.timestamp()) + 1]


# ---------------------------------------------------------------- the store


def _read_all(path: Path) -> list[tuple[float, str, dict]]:
    reader = RecordingReader(path)
    try:
        return list(reader.frames())
    finally:
        reader.close()


def test_writer_batches_compresses_and_the_reader_reads(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, flush_s=0.05)
    for i in range(50):
        writer.put("metrics", T0.timestamp() + i, snapshot_to_dict(_snapshot(T0 + timedelta(seconds=i), float(i))))
    writer.put("alert", T0.timestamp() + 3, {"event": "raised", "id": "a"})
    writer.incident(IncidentSpan("INC-2026-0001", "DB down", "P1", T0.timestamp(), None))
    writer.close()
    frames = _read_all(path)
    assert [k for _, k, _ in frames].count("metrics") == 50
    assert frames[3][2]["samples"]["db.connections_pct"] == [3.0]
    reader = RecordingReader(path)
    assert reader.incident("inc-2026-0001") == IncidentSpan("INC-2026-0001", "DB down", "P1", T0.timestamp(), None)
    assert reader.latest("metrics", T0.timestamp() + 10.5)[0] == T0.timestamp() + 10
    assert reader.span() == (T0.timestamp(), T0.timestamp() + 49)
    conn = sqlite3.connect(path)
    zs = dict(conn.execute("SELECT kind, max(z) FROM frames GROUP BY kind"))
    assert zs == {"metrics": 1, "alert": 0}  # big frames compressed, small ones plain
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_hour_over_its_budget_drops_frames_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, flush_s=0.05, hour_budget=2000)
    for i in range(100):
        writer.put("logs", T0.timestamp() + i, {"counts": {"INFO": i}, "records": [{"m": os.urandom(40).hex()}]})
    writer.put("alert", T0.timestamp() + 101, {"event": "raised", "id": "kept"})
    writer.close()
    frames = _read_all(path)
    assert any(k == "alert" for _, k, _ in frames)  # past the log share, other frames still go in
    hour, size, count, dropped = RecordingReader(path).hours()[0]
    assert size <= 2000 and dropped > 0 and count == len(frames)


def test_a_secret_never_reaches_the_file(tmp_path: Path) -> None:
    secret = "s3cr3t-db-passw0rd-XYZ"
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, flush_s=0.05, redact=Redactor([secret]).text)
    writer.put("logs", T0.timestamp(), {"records": [{"m": f"connect failed for postgresql://app:{secret}@db/x"}] * 30})
    writer.put("audit", T0.timestamp(), {"what": f"PGPASSWORD={secret} psql", "detail": "Authorization: Bearer sbp_0123456789abcdef0123"})
    writer.put("health", T0.timestamp(), {"notes": [f"token {secret}"]})
    writer.close()
    blobs = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    conn = sqlite3.connect(path)
    for z, body in conn.execute("SELECT z, body FROM frames"):
        blobs += zlib.decompress(body) if z else body
    assert secret.encode() not in blobs
    assert b"sbp_0123456789abcdef0123" not in blobs
    assert b"***" in blobs


def test_the_ring_keeps_n_hours_and_what_an_incident_holds(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, flush_s=0.05, ring_hours=1.0)
    base = T0.timestamp()
    writer.incident(IncidentSpan("INC-2026-0002", "x", "P2", base + 600, base + 1200))
    for minute in range(0, 240, 10):
        writer.put("metrics", base + minute * 60, {"m": minute})
    writer.close()
    # Prune as the writer thread would once a minute (closed: run it on a fresh writer).
    writer = RecordingWriter(path, flush_s=0.05, ring_hours=1.0)
    writer.put("metrics", base + 240 * 60, {"m": 240})
    time.sleep(0.3)
    writer.close()
    kept = sorted(p["m"] for _, _, p in _read_all(path))
    assert kept[0] == 0 and 10 in kept and 20 in kept  # the incident (10-20 min) and its 15-min lead-up
    assert 60 not in kept and 170 not in kept and 180 in kept and 240 in kept


def test_a_file_that_is_not_a_recording_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.sqlite3"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(RecordingError, match="not a cs-console recording"):
        RecordingReader(bad)
    with pytest.raises(RecordingError, match="no recording at"):
        RecordingReader(tmp_path / "missing")


_WRITER_SCRIPT = textwrap.dedent("""
    import sys, time, os
    from cs_console.stores.recording_store import RecordingWriter
    writer = RecordingWriter(__import__("pathlib").Path(sys.argv[1]), flush_s=0.01)
    i = 0
    while True:
        writer.put("metrics", 1.8e9 + i, {"i": i, "pad": os.urandom(300).hex()})
        i += 1
        if i == 200:
            print("ready", flush=True)
        if i % 50 == 0:
            time.sleep(0.001)
""")


def test_a_console_killed_mid_write_leaves_a_readable_recording(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER_SCRIPT, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)  # mid-stream: batches are being committed as it dies
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    frames = _read_all(path)
    numbers = [p["i"] for _, _, p in frames]
    assert len(numbers) >= 100
    assert numbers == list(range(len(numbers)))  # a prefix: nothing torn, nothing out of order


# ---------------------------------------------------------------- the recorder service


class _Incidents:
    def __init__(self) -> None:
        self.open: list[OpenIncident] = []

    async def __call__(self) -> list[OpenIncident]:
        return list(self.open)


def _demo_env(tmp_path: Path):
    session = session_from_args(session_args(demo=True, scenario="connection-exhaustion", seed=7))
    return build_demo_environment(session, one_shot=False, anchor=T0, real_time=False)


async def test_the_recorder_keeps_a_pre_roll_and_records_while_an_incident_is_open(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    path = tmp_path / "rec.sqlite3"
    incidents = _Incidents()
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"phase": "before", "step_id": "old"}\n')
    recorder = Recorder(env.clock, lambda: RecordingWriter(path, flush_s=0.05), incidents=incidents, audit_path=audit, span_type=IncidentSpan)
    env.recorder = recorder
    monitor = Monitor(env, persist_alerts=False)
    recorder.tail_audit()  # the first look marks the end: older steps are not this incident's
    for _ in range(40):  # ten minutes of the scenario with no incident open
        env.clock.advance(15)
        await monitor.refresh_metrics()
        await monitor.refresh_health()
    assert recorder.sink is None and not path.exists()  # nothing written while nothing is open
    incidents.open.append(OpenIncident("INC-2026-0007", "DB connections exhausted", "P1", env.clock.now().timestamp()))
    await recorder.refresh_incidents()
    with audit.open("a") as fh:
        fh.write('{"phase": "after", "step_id": "kill_idle", "outcome": "succeeded", "what": "password=hunter2x"}\n{"phase": "be')
    recorder.tail_audit()
    for _ in range(8):
        env.clock.advance(15)
        await monitor.refresh_metrics()
        await monitor.refresh_health()
    incidents.open.clear()
    await recorder.refresh_incidents()
    closed_at = env.clock.now()
    env.clock.advance(400)  # past the post-roll
    await monitor.refresh_metrics()
    await recorder.aclose()

    reader = RecordingReader(path)
    kinds = [k for _, k, _ in reader.frames()]
    assert kinds.count("metrics") == 40 + 8  # the pre-roll (the last 15 minutes) and the incident
    assert kinds.count("health") == 48
    assert "source" in kinds
    alerts = [p for _, k, p in reader.frames("alert")]
    assert any(a["event"] == "raised" and "connection" in a["title"].lower() for a in alerts)
    audits = [p for _, _, p in reader.frames("audit")]
    assert [a["step_id"] for a in audits] == ["kill_idle"]  # not the old one, not the torn line
    span = reader.incident("INC-2026-0007")
    assert span is not None and span.closed == pytest.approx(closed_at.timestamp())
    times = [t for t, _, _ in reader.frames("metrics")]
    assert times == sorted(times) and times[0] == pytest.approx((T0 + timedelta(seconds=15)).timestamp())


async def test_the_ring_setting_records_without_an_incident(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    path = tmp_path / "rec.sqlite3"
    recorder = Recorder(env.clock, lambda: RecordingWriter(path, flush_s=0.05), ring_hours=2.0)
    env.recorder = recorder
    monitor = Monitor(env, persist_alerts=False)
    for _ in range(3):
        env.clock.advance(5)
        await monitor.refresh_metrics()
    await recorder.aclose()
    assert [k for _, k, _ in RecordingReader(path).frames("metrics")] == ["metrics"] * 3


async def test_the_recorder_follows_the_logs_in_clock_time(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    path = tmp_path / "rec.sqlite3"
    recorder = Recorder(env.clock, lambda: RecordingWriter(path, flush_s=0.05), ring_hours=1.0)
    start = env.clock.now()
    records = [LogRecord(start + timedelta(seconds=s, milliseconds=ms), Level.ERROR if ms == 0 else Level.INFO, "edge", f"m{s}.{ms}")
               for s in range(5) for ms in range(0, 1000, 100)]
    recorder.observe_logs(records)
    env.clock.advance(10)
    recorder.observe_logs([])  # the clock moved on: the last second closes too
    await recorder.aclose()
    frames = list(RecordingReader(path).frames("logs"))
    assert [int(t) for t, _, _ in frames] == [int(start.timestamp()) + s for s in range(5)]
    assert frames[0][2]["counts"] == {"error": 1, "info": 9}


def test_the_console_recorder_redacts_the_profiles_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.wiring.recording import session_redactor

    secret = "pr0file-db-s3cret-value"
    monkeypatch.setenv("MY_DB_PASSWORD", secret)
    config = tmp_path / "config.toml"
    config.write_text('[profiles.prod]\ndb_dsn = "postgresql://app@db.example:5432/app"\ndb_password_env = "MY_DB_PASSWORD"\n')
    session = session_from_args(session_args(config=config, profile="prod"))
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, flush_s=0.05, redact=session_redactor(session).text)
    writer.put("health", T0.timestamp(), {"components": [["database", "DOWN", f"auth failed: password {secret}", None, None]]})
    writer.put("logs", T0.timestamp(), {"records": [{"m": f"url=postgresql://app:{secret.replace('-', '%2D')}@db/app"}]})
    writer.close()
    raw = path.read_bytes() + b"".join(zlib.decompress(b) if z else b for z, b in sqlite3.connect(path).execute("SELECT z, body FROM frames"))
    assert secret.encode() not in raw and b"%2D" not in raw


async def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_logs_before_the_incident_are_in_the_pre_roll_and_never_twice(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    path = tmp_path / "rec.sqlite3"
    incidents = _Incidents()

    def recorder() -> Recorder:
        return Recorder(env.clock, lambda: RecordingWriter(path, flush_s=0.05), incidents=incidents,
                        log_source=lambda: env.log_source("all"), span_type=IncidentSpan)

    first = recorder()
    env.clock.advance(1200)  # twenty minutes of the scenario, nothing open: no follower, no file
    first._follow_logs()
    assert first._log_task is None and not path.exists()
    declared = env.clock.now().timestamp()
    incidents.open.append(OpenIncident("INC-2026-0009", "DB connections exhausted", "P1", declared))
    await first.refresh_incidents()
    first._follow_logs()  # what the recorder's own task does each second
    await _until(lambda: (first._logged_to or 0) >= declared - 5)
    env.clock.advance(30)
    await _until(lambda: (first._logged_to or 0) >= declared + 25)
    await first.aclose()
    seconds = [t for t, _, _ in RecordingReader(path).frames("logs")]
    assert seconds[0] == pytest.approx(int(declared) - 900)  # the pre-roll: the 15 minutes before, not the 20
    assert seconds[-1] >= declared + 25
    assert len(seconds) == len(set(seconds))
    severe = [r for t, _, p in RecordingReader(path).frames("logs", end=declared) for r in p["records"] if r["l"] >= int(Level.WARN)]
    assert severe  # the scenario's errors leading to the declaration are recorded
    # A console restarted while the incident is open: its pre-roll starts after what the file holds.
    second = recorder()
    env.clock.advance(20)
    await second.refresh_incidents()
    assert second.log_since().timestamp() == pytest.approx(seconds[-1] + 1)
    second._follow_logs()
    await _until(lambda: (second._logged_to or 0) >= env.clock.now().timestamp() - 5)
    await second.aclose()
    again = [t for t, _, _ in RecordingReader(path).frames("logs")]
    assert len(again) == len(set(again)) and again[-1] > seconds[-1]
