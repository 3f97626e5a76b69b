"""Team mode: one alert history for the whole team in the team PostgreSQL, one row per event."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from cs_console.config import load_config
from cs_console.domain.clock import FixedClock
from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.services.environment import Environment
from cs_console.services.health_check import ALERTS_LINE, run_health_check
from cs_console.services.monitor import Monitor
from cs_console.services.session import Session
from cs_console.stores.alert_history import AlertHistory, history_file
from cs_console.stores.alert_history_team import PgAlertHistory, ProfileAlertHistory
from cs_console.wiring.environment import build_alert_history
from tests.test_alert_history import NOW, DownProbe, critical, resolved, rows

pytestmark = pytest.mark.postgres


class UpProbe:
    name = "db"

    async def check(self) -> list[ComponentHealth]:
        return [ComponentHealth("Database", HealthStatus.HEALTHY, "", 3.0)]


@pytest.fixture
def team_dsn(pg) -> str:
    name = f"team_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    return pg.dsn_for(name)


def team_env(state_dir: Path, dsn: str, profile: str, probes: list) -> Environment:
    """A console on one machine (its own state dir) whose profile is in team mode."""
    config = load_config(None)
    session = Session(config, config.profile("default"), None, state_dir)
    session.profile = dataclasses.replace(session.profile, name=profile, store="postgres", team_dsn=dsn)
    env = Environment(session=session, clock=FixedClock(NOW), health_probes=probes)
    env.alert_history = build_alert_history(env)
    return env


async def team_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("select profile, alert_id, onset, resolved_at, orphaned from cs_console.alert_events order by id")
    finally:
        await conn.close()


async def test_consoles_on_three_machines_record_one_event_and_every_machine_counts_it(tmp_path: Path, team_dsn: str) -> None:
    monitors = [Monitor(team_env(tmp_path / f"machine{i}", team_dsn, "api", [DownProbe()])) for i in range(3)]
    for m in monitors:
        await m.refresh_health()
    for m in monitors:
        await m.flush_alerts()
    [row] = await team_rows(team_dsn)
    assert (row["profile"], row["alert_id"], row["resolved_at"]) == ("api", "database-down", None)
    # Each machine's own file has it too (the console's fallback when the team store is away).
    assert all([r["event"] for r in rows(history_file(tmp_path / f"machine{i}", "api"))] == ["raised"] for i in range(3))

    # A fourth machine that never saw it counts it; another profile on the same team store does not.
    fresh = await run_health_check(team_env(tmp_path / "machine4", team_dsn, "api", [UpProbe()]))
    line = fresh.line(ALERTS_LINE)
    assert line is not None and "1 critical alert" in line.detail, line
    other = await run_health_check(team_env(tmp_path / "machine4", team_dsn, "db", [UpProbe()]))
    other_line = other.line(ALERTS_LINE)
    assert other_line is not None and "none" in other_line.detail.lower() and other.exit_code == 0


async def test_the_first_console_to_see_the_clear_resolves_it_once(team_dsn: str, tmp_path: Path) -> None:
    consoles = [PgAlertHistory(team_dsn, "api") for _ in range(2)]
    assert [await c.record(critical(NOW + timedelta(seconds=i)), "raised") for i, c in enumerate(consoles)] == [True, False]
    cleared = [await c.record(resolved(critical(NOW), NOW + timedelta(minutes=4, seconds=i)), "resolved") for i, c in enumerate(consoles)]
    assert cleared == [True, False]
    [row] = await team_rows(team_dsn)
    assert row["onset"] == NOW and row["resolved_at"] == NOW + timedelta(minutes=4)
    # A new onset after the clear is a new event; one left open for a day by a dead console is orphaned.
    assert await consoles[0].record(critical(NOW + timedelta(hours=1)), "raised") is True
    assert await consoles[1].record(critical(NOW + timedelta(hours=30)), "raised") is True
    events = await team_rows(team_dsn)
    assert [(e["resolved_at"] is None, e["orphaned"]) for e in events] == [(False, False), (False, True), (True, False)]
    recent = await consoles[0].recent(hours=24, now=NOW + timedelta(hours=30))
    assert [a.at for a in recent] == [NOW + timedelta(hours=30)]


async def test_events_wait_while_the_team_store_is_away_and_go_once_it_is_back(pg_factory, tmp_path: Path) -> None:
    server = pg_factory()
    dsn = server.dsn_for("postgres")
    env = team_env(tmp_path / "m", dsn, "api", [DownProbe()])
    history = env.alert_history
    assert isinstance(history, ProfileAlertHistory) and history.team is not None
    server.stop()
    monitor = Monitor(env)
    await monitor.refresh_health()
    await monitor.flush_alerts()
    await monitor.refresh_health()  # the next refresh says what waits
    assert history.waiting == 1 and history.team_error
    assert monitor.live.alerts_note.startswith("1 alert event(s) waiting for the team store")
    # `health` while the store is away: this machine's events, and it says so.
    result = await run_health_check(env)
    line = result.line(ALERTS_LINE)
    assert line is not None and "1 in the history" in line.detail, line  # (and 1 active now: the probe still says DOWN)
    assert any("team store unreachable" in n and "this machine only" in n for n in result.notes), result.notes

    server.start()
    await monitor.flush_alerts()
    await history.sync_team(force=True)  # a second flush must not double it
    assert history.waiting == 0 and history.team_error == ""
    [row] = await team_rows(dsn)
    assert row["alert_id"] == "database-down"
    await monitor.refresh_health()
    assert monitor.live.alerts_note == ""


async def test_a_team_store_that_does_not_answer_never_holds_the_refresh(tmp_path: Path) -> None:
    # A port nothing listens on: each try fails at once, and tries are spaced RETRY_S apart.
    env = team_env(tmp_path / "m", "postgresql://postgres@127.0.0.1:9/postgres", "api", [DownProbe()])
    monitor = Monitor(env)
    started = asyncio.get_running_loop().time()
    for _ in range(5):
        await monitor.refresh_health()
    assert asyncio.get_running_loop().time() - started < 2.0
    assert [r["event"] for r in rows(history_file(tmp_path / "m", "api"))] == ["raised"]
    assert len(AlertHistory(tmp_path / "m", "api").recent(now=NOW)) == 1
