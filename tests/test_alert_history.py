"""The alert history: one file per profile, one record per event however many consoles watch."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.config import load_config
from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.clock import FixedClock
from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.services.environment import Environment
from cs_console.services.health_check import ALERTS_LINE, run_health_check
from cs_console.services.monitor import Monitor
from cs_console.services.session import Session
from cs_console.stores.alert_history import AlertHistory, history_file

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=timezone.utc)


def critical(at: datetime, alert_id: str = "db_down:db") -> Alert:
    return Alert(alert_id, "db_down", AlertClass.CRITICAL, "Database down", "refused", at)


def resolved(alert: Alert, at: datetime) -> Alert:
    return Alert(alert.id, alert.rule, alert.alert_class, alert.title, alert.detail, alert.at, None, None, at)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_three_consoles_seeing_one_event_record_it_once(tmp_path: Path) -> None:
    consoles = [AlertHistory(tmp_path, "db") for _ in range(3)]
    # each console's poll sees the onset a little later than the one before
    written = [c.record(critical(NOW + timedelta(seconds=i * 4)), "raised") for i, c in enumerate(consoles)]
    assert written == [True, False, False]
    written = [c.record(resolved(critical(NOW + timedelta(seconds=i * 4)), NOW + timedelta(minutes=9, seconds=i)), "resolved") for i, c in enumerate(consoles)]
    assert written == [True, False, False]
    recorded = rows(history_file(tmp_path, "db"))
    assert [r["event"] for r in recorded] == ["raised", "resolved"]
    assert recorded[0]["key"] == recorded[1]["key"] == f"db:db_down:db:{NOW.isoformat()}"
    [event] = consoles[2].recent(now=NOW + timedelta(hours=1))
    assert event.at == NOW and event.resolved_at == NOW + timedelta(minutes=9)


def test_a_new_onset_after_the_resolve_is_a_new_event(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path, "db")
    history.record(critical(NOW), "raised")
    history.record(resolved(critical(NOW), NOW + timedelta(minutes=5)), "resolved")
    history.record(critical(NOW + timedelta(minutes=30)), "raised")
    events = history.recent(now=NOW + timedelta(hours=1))
    assert [(e.at, e.resolved_at) for e in events] == [(NOW + timedelta(minutes=30), None), (NOW, NOW + timedelta(minutes=5))]


def test_an_event_left_open_by_a_dead_console_does_not_swallow_a_later_one(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path, "db")
    history.record(critical(NOW - timedelta(hours=30)), "raised")  # its console died before the resolve
    assert history.record(critical(NOW), "raised") is True
    assert len(history.recent(hours=48, now=NOW)) == 2


def _raise_in_a_process(state_dir: str, offset_s: int, barrier) -> None:  # noqa: ANN001 - a multiprocessing barrier
    barrier.wait()
    AlertHistory(Path(state_dir), "db").record(critical(NOW + timedelta(seconds=offset_s)), "raised")


def test_consoles_in_separate_processes_racing_write_one_record(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_raise_in_a_process, args=(str(tmp_path), i, barrier)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
    assert all(p.exitcode == 0 for p in procs)
    assert [r["event"] for r in rows(history_file(tmp_path, "db"))] == ["raised"]


class DownProbe:
    name = "db"

    async def check(self) -> list[ComponentHealth]:
        return [ComponentHealth("Database", HealthStatus.DOWN, "connection refused")]


def env_for(tmp_path: Path, profile: str, probes: list) -> Environment:
    config = load_config(None)
    session = Session(config, config.profile("default"), None, tmp_path / "state")
    session.profile = dataclasses.replace(session.profile, name=profile)
    return Environment(session=session, clock=FixedClock(NOW), health_probes=probes)


async def test_health_counts_only_its_own_profiles_critical_alerts(tmp_path: Path) -> None:
    # Three consoles watch the `api` profile while its database is down.
    for _ in range(3):
        await Monitor(env_for(tmp_path, "api", [DownProbe()])).refresh_health()
    api = history_file(tmp_path / "state", "api")
    assert [(r["event"], r["class"]) for r in rows(api)] == [("raised", "critical")]

    class UpProbe:
        name = "db"

        async def check(self) -> list[ComponentHealth]:
            return [ComponentHealth("Database", HealthStatus.HEALTHY, "", 3.0)]

    db = await run_health_check(env_for(tmp_path, "db", [UpProbe()]))
    line = db.line(ALERTS_LINE)
    assert line is not None and "none" in line.detail.lower() and db.exit_code == 0
    api_result = await run_health_check(env_for(tmp_path, "api", [UpProbe()]))
    api_line = api_result.line(ALERTS_LINE)
    assert api_line is not None and "1 critical alert" in api_line.detail
