"""Pilot tests of the Incidents pane at 80x24: colours, keys, wizard, live updates."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.color import Color

from cs_console.domain.clock import FixedClock, SystemClock
from cs_console.domain.incidents import EventType, Severity, Status
from cs_console.services.environment import Environment
from cs_console.services.incidents import IncidentService, local_store_root
from cs_console.services.session import session_from_args
from cs_console.stores.incident_store_local import LocalIncidentStore
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.incidents import IncidentsPane
from tests.screen_text import screen_segments, screen_text


def make_app(tmp_path: Path, config_text: str = "", initial_pane: str | None = "incidents") -> ConsoleApp:
    args = argparse.Namespace(config=None, profile=None, read_only=False, theme=None, demo=False, scenario=None, seed=None, speed=None)
    if config_text:
        path = tmp_path / "config.toml"
        path.write_text(config_text)
        path.chmod(0o600)
        args.config = str(path)
    session = session_from_args(args)
    session.demo = None
    return ConsoleApp(session, Environment(session=session, clock=SystemClock()), poll=False, initial_pane=initial_pane)


def store_service(app: ConsoleApp, *, ago: timedelta = timedelta(0), actor: str = "alice") -> tuple[IncidentService, FixedClock]:
    """Another console's view of the same local store, its clock `ago` in the past."""
    clock = FixedClock(datetime.now(timezone.utc) - ago)
    return IncidentService(LocalIncidentStore(local_store_root(app.session)), clock=clock, actor=actor), clock


async def resolved_p1(svc: IncidentService):
    inc = await svc.open(title="Auth errors", severity=Severity.P1)
    await svc.set_status(inc.ref, Status.INVESTIGATING)
    return await svc.set_status(inc.ref, Status.RESOLVED)


async def until(pilot, check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time:\n" + screen_text(pilot.app))
        await pilot.pause(0.05)


def notices(app: ConsoleApp) -> str:
    return "\n".join(n.message for n in app._notifications)


def pane(app: ConsoleApp) -> IncidentsPane:
    return app.query_one(IncidentsPane)


async def show_pane(pilot) -> IncidentsPane:
    if pilot.app.current_pane is None or pilot.app.current_pane.PANE_ID != "incidents":
        await pilot.press("4")
    await until(pilot, lambda: pilot.app.query(IncidentsPane) and pane(pilot.app).service is not None)
    p = pane(pilot.app)
    await until(pilot, lambda: "open ·" in screen_text(pilot.app))
    return p


async def test_overdue_p1_shows_red_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path, initial_pane=None)  # from the Overview, by its key
    svc, clock = store_service(app, ago=timedelta(hours=3, minutes=50))
    p2 = await svc.open(title="Config drift", severity=Severity.P2)  # under 10 minutes of its 4 hours left: amber
    clock.advance(110 * 60)
    await svc.open(title="Sign-ups failing", severity=Severity.P1)  # two hours old, unacknowledged: red
    clock.advance(60 * 60)
    await svc.record_update(p2.ref, "looking into it")  # the P2's updates are on time
    clock.advance(50 * 60)
    await svc.open(title="Docs typo", severity=Severity.P3)  # ten minutes old: green
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        text = screen_text(app)
        lines = text.splitlines()
        p1 = next(line for line in lines if "Sign-ups failing" in line)
        p3 = next(line for line in lines if "Docs typo" in line)
        assert lines.index(p1) < lines.index(p3)  # severity first
        assert "ack LATE 1h00m" in p1 and "ack in 23h" in p3
        assert "1 overdue" in text
        error = Color.parse(app.theme_variables["error"])
        success = Color.parse(app.theme_variables["success"])
        late = [seg for seg in screen_segments(app) if "ack LATE" in seg.text]
        assert late and all(seg.style.color == error for seg in late)
        ok = [seg for seg in screen_segments(app) if "ack in 23h" in seg.text]
        assert ok and all(seg.style.color == success for seg in ok)
        warning = Color.parse(app.theme_variables["warning"])
        close = [seg for seg in screen_segments(app) if "ack in 9:" in seg.text]
        assert close and all(seg.style.color == warning for seg in close)
        # The timer is derived from timestamps every second.
        await pilot.pause(1.2)
        assert next(s.text for s in screen_segments(app) if "ack in 9:" in s.text) != close[0].text


async def test_open_with_the_triage_wizard(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        await pilot.press("o")
        await pilot.pause(0.1)
        await pilot.press(*"DB full", "enter")
        await pilot.press(*"97%", "enter")
        await pilot.press(*"Database", "enter")
        assert "Is the whole service down for users?" in screen_text(app)
        await pilot.press("n", "n", "n", "y")  # partial outage
        await pilot.pause(0.1)
        assert "Proposed:  P1  Partial service outage" in screen_text(app)
        await pilot.press("enter")  # accept the proposal
        await until(pilot, lambda: any(i.title == "DB full" for i in p.incidents))
        svc, _ = store_service(app)
        [inc] = await svc.list()
        assert (inc.severity, inc.proposed_severity, inc.summary, inc.components) == (Severity.P1, Severity.P1, "97%", ("Database",))
        assert inc.triage_answers == {"complete_outage": False, "data_loss": False, "security_breach": False, "partial_outage": True}
        await until(pilot, lambda: "DB full" in screen_text(app))


async def test_override_of_the_proposal_needs_a_reason(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        await pilot.press("o", *"Slow", "enter", "enter", "enter")
        await pilot.press("n", "n", "n", "n", "y")  # performance affecting users: P1
        await pilot.press("down", "down", "enter")  # pick P3
        await pilot.pause(0.1)
        assert "P3 overrides the proposal: give a reason" in screen_text(app)
        await pilot.press(*"admin", "enter")
        await until(pilot, lambda: bool(p.incidents))
        inc = p.incidents[0]
        assert (inc.severity, inc.proposed_severity, inc.override_reason) == (Severity.P3, Severity.P1, "admin")


async def test_ack_note_status_and_update_by_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await svc.open(title="API 5xx", severity=Severity.P2)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        await pilot.press("a")
        await until(pilot, lambda: p.incidents and p.incidents[0].acknowledged_at is not None)
        assert p.incidents[0].commander  # the acknowledger took command
        await pilot.press("n", *"undo", "enter")
        await until(pilot, lambda: any(e.type is EventType.NOTE for e in p.incidents[0].events))
        await pilot.press("s")
        await pilot.pause(0.1)
        await pilot.press("down", "down", "enter")  # investigating, identified, [mitigated]
        await until(pilot, lambda: p.incidents[0].status is Status.MITIGATED)
        await pilot.press("u")
        await until(pilot, lambda: "stakeholder update" in screen_text(app))
        assert "[P2 Medium]" in screen_text(app)
        await pilot.press("f2")  # copy (OSC 52) and record
        await until(pilot, lambda: any(e.type is EventType.STAKEHOLDER_UPDATE for e in p.incidents[0].events))
        got = await svc.get(inc.ref)
        assert [e.type for e in got.events][1:] == [
            EventType.ACKNOWLEDGED, EventType.ROLE_ASSIGNED, EventType.NOTE, EventType.STATUS_CHANGED, EventType.STAKEHOLDER_UPDATE,
        ]
        assert got.events[-1].data["channel"] == "clipboard"


async def test_refused_transition_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    await resolved_p1(svc)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        await pilot.press("s")
        await pilot.pause(0.1)
        await pilot.press("down", "down", "enter")  # investigating, postmortem, [closed]: a P1 needs its post-mortem
        await until(pilot, lambda: "a P1 incident needs its post-mortem before closing" in notices(app))
        assert app.is_running and p.incidents[0].status is Status.RESOLVED


async def test_detail_view_timeline_checklist_and_hidden_generated(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await svc.open(title="Edge function errors", severity=Severity.P1,
                         evidence={"snapshot": {"fn.error_rate_pct": {"value": 12.5, "state": "critical"}}})
    await svc.add_note(inc.ref, "looking at logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: "Timeline (UTC)" in screen_text(app))
        text = screen_text(app)
        assert "Metric snapshot 'at declaration' (1 metrics)" in text and "Note: looking at logs" in text
        assert "▶ Immediate response" in text and "[x] Assess the situation: run the health check (auto)" in text
        await pilot.press("g")
        await pilot.pause(0.1)
        assert "Metric snapshot" not in screen_text(app) and "generated hidden" in screen_text(app)
        # Tick the status-page item by hand.
        await pilot.press("tab")
        phases = app.screen.query_one("#incd-phases")
        assert phases.has_focus
        while phases.highlighted_option is None or phases.highlighted_option.id != "item:status_page":
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: "[x] Check the Supabase status page" in screen_text(app))
        assert (await svc.get(inc.ref)).checklist == {"status_page": True}
        await pilot.press("escape")
        await until(pilot, lambda: "SEV" in screen_text(app))


async def test_export_by_keys_writes_the_postmortem(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await svc.open(title="Storage quota", severity=Severity.P2)
    target = tmp_path / "out.md"
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        await pilot.press("e")
        await pilot.pause(0.1)
        app.screen.query_one("#inc-export-path").value = str(target)  # typing a long path adds nothing
        await pilot.press("enter")
        await until(pilot, target.exists)
        assert target.read_text().startswith(f"# Post-mortem: {inc.ref} — Storage quota")


async def test_open_from_an_alert_prefills_and_attaches_evidence(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    alert = SimpleNamespace(id="database-down", title="Database down", detail="connection refused", alert_class="critical",
                            metric=None, at=datetime.now(timezone.utc) - timedelta(minutes=2))
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        p.open_from_alert(alert)
        await pilot.pause(0.1)
        assert "Database down" in screen_text(app)
        await pilot.press("enter", "enter", "enter")  # title, summary, components pre-filled
        await pilot.pause(0.1)
        assert "Proposed:  P0  Complete service outage (pre-filled from evidence)" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: bool(p.incidents) and len(p.incidents[0].events) >= 2)
        inc = p.incidents[0]
        assert inc.severity is Severity.P0 and inc.source.value == "alert" and inc.source_ref == "database-down"
        assert inc.events[1].type is EventType.ALERT_ATTACHED and inc.events[1].data["alert"]["title"] == "Database down"


async def test_other_local_console_appears_live(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        svc, _ = store_service(app, actor="bob")
        await svc.open(title="Declared elsewhere", severity=Severity.P2)
        await until(pilot, lambda: "Declared elsewhere" in screen_text(app), timeout=6)


@pytest.mark.postgres
async def test_team_mode_pane_updates_on_notify(tmp_path: Path, pg) -> None:
    from cs_console.stores.incident_store_pg import PgIncidentStore

    db = f"team_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {db}")
    dsn = pg.dsn_for(db)
    app = make_app(tmp_path, f'[profiles.team]\nstore = "postgres"\nteam_dsn = "{dsn}"\n')
    other = IncidentService(await PgIncidentStore.connect(dsn), actor="bob")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            p = await show_pane(pilot)
            assert "team store (PostgreSQL)" in screen_text(app)
            inc = await other.open(title="Seen through NOTIFY", severity=Severity.P1)
            await until(pilot, lambda: "Seen through NOTIFY" in screen_text(app), timeout=5)
            await other.acknowledge(inc.ref)
            await until(pilot, lambda: p.incidents and p.incidents[0].commander == "bob", timeout=5)
    finally:
        await other.close()


async def test_reachable_from_an_alert_in_the_overview() -> None:
    from tests.demo_app import demo_app, play

    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 600)
        await pilot.pause(0.2)
        assert app.live.alerts_active[0].title == "Connection pool near exhaustion"
        await pilot.press("a", "i")  # the Overview's alert list, first alert
        await until(pilot, lambda: "Declare an incident" in screen_text(app))
        await pilot.press("enter", "enter", "enter", "n", "n", "n")
        await until(pilot, lambda: "Proposed:  P1  Partial service outage (pre-filled from evidence)" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: bool(pane(app).incidents) and len(pane(app).incidents[0].events) >= 3)
        inc = pane(app).incidents[0]
        assert app.current_pane.PANE_ID == "incidents"
        assert inc.source.value == "alert" and inc.components == ("Database",)
        kinds = [e.type for e in inc.events]
        assert kinds[:3] == [EventType.CREATED, EventType.ALERT_ATTACHED, EventType.METRIC_SNAPSHOT]
        metrics = inc.events[2].data["metrics"]
        assert metrics["db.connections.pct"]["state"].lower() == "critical" and metrics["db.connections.pct"]["value"] > 80
        assert "Database" in metrics["_health"]


async def test_postmortem_written_in_the_console_lets_a_p1_close(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await resolved_p1(svc)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        await pilot.press("m")
        await until(pilot, lambda: "post-mortem (blameless)" in screen_text(app))
        await pilot.press(*"logins", "tab")  # impact
        app.screen.query_one("#pm-root_cause").text = "expired signing key"
        app.screen.query_one("#pm-actions").text = "rotate keys monthly @ sec-team @ 2025-05-01"
        await pilot.press("f2")
        await until(pilot, lambda: "post-mortem saved (complete)" in notices(app))
        pm = (await svc.get(inc.ref)).postmortem
        assert pm["impact"] == "logins" and pm["action_items"] == [{"text": "rotate keys monthly", "owner": "sec-team", "due": "2025-05-01"}]
        await pilot.press("s")
        await pilot.pause(0.1)
        await pilot.press("down", "down", "enter")  # closed
        await until(pilot, lambda: (p.show_closed or not p.incidents) and "closed" in notices(app))
        assert (await svc.get(inc.ref)).status is Status.CLOSED


async def test_untrusted_text_is_shown_literally(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    await svc.open(title="[bold red]boom[/] \x1b[31mred", severity=Severity.P2, summary="[link=x]y[/link]")
    async with app.run_test(size=(120, 30)) as pilot:
        await show_pane(pilot)
        text = screen_text(app)
        assert "[bold red]boom[/] ␛[31mred" in text
        assert "[link=x]y[/link]" in text
