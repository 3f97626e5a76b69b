"""Pilot tests of the Incidents pane at 80x24: colours, keys, wizard, detail, live updates.

Starting the console costs seconds on a loaded machine (every pane is mounted), so
each test drives one app through a whole story instead of one key per app: five
start-ups instead of thirteen, with the same checks. Text typed into a focused
field goes in one burst (as one SSH packet would), which is also what the
wizard must survive.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.color import Color
from textual import events

from cs_console.domain.clock import FixedClock, SystemClock
from cs_console.domain.incidents import EventType, Severity, Status
from cs_console.services.environment import Environment
from cs_console.services.incidents import IncidentService
from cs_console.wiring.incidents import local_store_root
from cs_console.services.session import session_from_args
from cs_console.stores.incident_store_local import LocalIncidentStore
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.incidents import IncidentRow, IncidentsPane
from tests.screen_text import screen_segments, screen_text, until
from tests.sessions import session_args


def make_app(tmp_path: Path, config_text: str = "", initial_pane: str | None = "incidents") -> ConsoleApp:
    args = session_args()
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


def burst(app: ConsoleApp, text: str) -> None:
    """Keys arriving together, as one read from the terminal (typing ahead, a paste
    without bracketed paste, one SSH packet): no waiting between them. '\\r' is Enter."""
    assert app._driver is not None
    for ch in text:
        key = "enter" if ch == "\r" else ("space" if ch == " " else ch)
        message = events.Key(key, ch if ch != "\r" else "\r")
        message.set_sender(app)
        app._driver.send_message(message)


async def type_text(pilot, text: str) -> None:
    burst(pilot.app, text)
    await pilot.pause()


async def keys(pilot, *names: str) -> None:
    """Named keys in one burst (cheaper than pilot.press, which idles after each key).
    Only for keys that do not move the focus between them: those are delivered to
    the widget focused when they arrive, as from a real terminal."""
    app = pilot.app
    for name in names:
        message = events.Key(name, {"enter": "\r", "space": " "}.get(name))
        message.set_sender(app)
        app._driver.send_message(message)
    await pilot.pause()


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


def select(p: IncidentsPane, ref: str) -> None:
    view = p.query_one("#inc-list")
    view.index = [i.ref for i in p.incidents].index(ref)


def colour(app: ConsoleApp, name: str) -> Color:
    return Color.parse(app.theme_variables[name])


async def test_list_colours_live_timers_literal_text_and_other_consoles(tmp_path: Path) -> None:
    app = make_app(tmp_path, initial_pane=None)  # from the Overview, by its key
    svc, clock = store_service(app, ago=timedelta(hours=3, minutes=50, seconds=30))
    p2 = await svc.open(title="Config drift", severity=Severity.P2)  # 9 1/2 minutes of its 4 hours left: amber
    clock.advance(110 * 60)
    p1 = await svc.open(title="Sign-ups failing", severity=Severity.P1)  # two hours old, unacknowledged: red
    clock.advance(60 * 60)
    await svc.record_update(p2.ref, "looking into it")  # the P2's updates are on time
    clock.advance(49 * 60)
    evil = await svc.open(title="[bold red]boom[/] \x1b[31mred", severity=Severity.P3, summary="[link=x]y[/link]")
    clock.advance(60)
    await svc.open(title="Docs typo", severity=Severity.P3)  # ten minutes old: green
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        # Key 4 pressed at once, before the pane existed: its list still takes the keys.
        await until(pilot, lambda: app.focused is p.query_one("#inc-list"))
        text = screen_text(app)
        lines = text.splitlines()
        row1 = next(line for line in lines if "Sign-ups failing" in line)
        row3 = next(line for line in lines if "Docs typo" in line)
        assert lines.index(row1) < lines.index(row3)  # severity first
        assert "ack LATE 1h00m" in row1 and "ack in 23h" in row3
        assert "1 overdue" in text
        late = [seg for seg in screen_segments(app) if "LATE 1h00m" in seg.text]
        assert late and all(seg.style.color == colour(app, "error") for seg in late)  # row and preview
        ok = [seg for seg in screen_segments(app) if "ack in 23h" in seg.text]
        assert ok and all(seg.style.color == colour(app, "success") for seg in ok)
        close = [seg for seg in screen_segments(app) if "ack in 9:" in seg.text]
        assert close and all(seg.style.color == colour(app, "warning") for seg in close)
        # The preview under the list: the whole title, the timers spelled out, the latest event.
        assert p.selected is not None and p.selected.ref == p1.ref
        assert f"{p1.ref} P1: Sign-ups failing" in text and "respond LATE 1h00m · update LATE 1h30m" in text
        # Timers (the list's and the preview's) are derived from timestamps on the app's
        # clock tick: once a second when polling; this app does not poll, so the test ticks.
        select(p, p2.ref)
        await pilot.pause()

        def preview_clock() -> str:
            return next(line for line in screen_text(app).splitlines() if "respond in 9:" in line)

        before = preview_clock()
        row_before = next(s.text for s in screen_segments(app) if "ack in 9:" in s.text)
        await asyncio.sleep(1.1)  # this environment's clock is the system's
        await pilot.pause()
        assert preview_clock() == before  # no wall-clock timer of the pane's own
        app.clock_tick()
        await pilot.pause()
        assert preview_clock() != before
        assert next(s.text for s in screen_segments(app) if "ack in 9:" in s.text) != row_before

        # Untrusted text is shown literally: in the list (cut at 80 columns) and whole in the preview.
        select(p, evil.ref)
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]boom[/] ␛[31mred — [link=x]y[/link]" in text
        boom = [seg for seg in screen_segments(app) if "boom" in seg.text]
        assert boom and all(not seg.style.bold or seg.style.color != Color.parse("red") for seg in boom)

        # Another console on this machine declares one: it appears live.
        other, _ = store_service(app, actor="bob")
        await other.open(title="Declared elsewhere", severity=Severity.P2)
        await until(pilot, lambda: "Declared elsewhe" in screen_text(app), timeout=6)

        # Bursts of change notices (a write of ours and the store's echo of it arrive
        # together) never cut a reload short in the middle of mounting rows.
        for n in range(3):
            await other.open(title=f"Burst {n}", severity=Severity.P3)
            for _ in range(4):  # as when an alert and a snapshot are attached right after
                p.post_message(IncidentsPane.Changed(None))
                await asyncio.sleep(0.01)
        await until(pilot, lambda: len(p.incidents) == 8 and len(p.query(IncidentRow)) == 8)
        assert app.is_running and [r.inc.ref for r in p.query(IncidentRow)] == [i.ref for i in p.incidents]


async def test_declaring_by_keys_triage_override_burst_and_from_an_alert(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        assert "No open incidents. o declares one" in screen_text(app)

        # The manual's questions, from P0 down; the first yes settles it (here P1).
        await pilot.press("o")
        await until(pilot, lambda: "one line saying what is wrong" in screen_text(app))
        await type_text(pilot, "DB full")
        await pilot.press("enter")
        await type_text(pilot, "97%")
        await pilot.press("enter")
        await type_text(pilot, "Database")
        await pilot.press("enter")
        assert "Is the whole service down for users?" in screen_text(app)
        await keys(pilot, "n", "n", "n", "y")  # partial outage
        assert "Proposed:  P1  Partial service outage" in screen_text(app)
        await pilot.press("enter")  # accept the proposal
        await until(pilot, lambda: any(i.title == "DB full" for i in p.incidents))
        inc = next(i for i in p.incidents if i.title == "DB full")
        assert (inc.severity, inc.proposed_severity, inc.summary, inc.components) == (Severity.P1, Severity.P1, "97%", ("Database",))
        assert inc.triage_answers == {"complete_outage": False, "data_loss": False, "security_breach": False, "partial_outage": True}

        # Overriding the proposal needs a reason.
        await pilot.press("o")
        await until(pilot, lambda: "one line saying what is wrong" in screen_text(app))
        await type_text(pilot, "Slow")
        await keys(pilot, "enter", "enter", "enter")
        await keys(pilot, "n", "n", "n", "n", "y")  # performance affecting users: P1
        await keys(pilot, "down", "down", "enter")  # pick P3
        assert "P3 overrides the proposal: give a reason" in screen_text(app)
        await type_text(pilot, "admin only")
        await pilot.press("enter")
        await until(pilot, lambda: any(i.title == "Slow" for i in p.incidents))
        inc = next(i for i in p.incidents if i.title == "Slow")
        assert (inc.severity, inc.proposed_severity, inc.override_reason) == (Severity.P3, Severity.P1, "admin only")

        # Everything typed ahead in one packet lands in the right fields and answers.
        await pilot.press("o")
        await until(pilot, lambda: "one line saying what is wrong" in screen_text(app))
        burst(app, "Burst title\rburst summary\rAuth, REST\rnnnnny")
        await until(pilot, lambda: "Proposed:  P1  Authentication issues" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: any(i.title == "Burst title" for i in p.incidents))
        inc = next(i for i in p.incidents if i.title == "Burst title")
        assert (inc.summary, inc.components, inc.severity) == ("burst summary", ("Auth", "REST"), Severity.P1)

        # Enter on an empty title does not move on.
        await pilot.press("o")
        await until(pilot, lambda: "one line saying what is wrong" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: "a title is required" in screen_text(app))
        assert app.screen.focused is not None and app.screen.focused.id == "inc-open-title"
        await pilot.press("escape")

        # From an alert: pre-filled (component from the title), evidence attached.
        alert = SimpleNamespace(id="database-down", title="Database down", detail="connection refused", alert_class="critical",
                                metric=None, at=datetime.now(timezone.utc) - timedelta(minutes=2))
        p.open_from_alert(alert)
        await until(pilot, lambda: "Database down" in screen_text(app))
        await pilot.press("enter", "enter", "enter")  # title, summary, components pre-filled
        assert "Proposed:  P0  Complete service outage (pre-filled from evidence)" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: any(i.title == "Database down" and len(i.events) >= 2 for i in p.incidents))
        inc = next(i for i in p.incidents if i.title == "Database down")
        assert inc.severity is Severity.P0 and inc.source.value == "alert" and inc.source_ref == "database-down"
        assert inc.components == ("Database",)
        assert inc.events[1].type is EventType.ALERT_ATTACHED and inc.events[1].data["alert"]["title"] == "Database down"


async def test_one_incident_through_every_key(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await svc.open(title="API 5xx", severity=Severity.P1, summary="REST answers 503",
                         evidence={"snapshot": {"api.error_rate_pct": {"value": 12.5, "state": "critical"}}})
    ref = inc.ref
    target = tmp_path / "out.md"
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)

        def current():
            return next(i for i in p.incidents if i.ref == ref) if any(i.ref == ref for i in p.incidents) else None

        # a: acknowledge; the acknowledger takes command.
        await pilot.press("a")
        await until(pilot, lambda: current().acknowledged_at is not None)
        assert current().commander

        # n: a note, pinned with Space; Enter adds it (and does not untick the pin).
        await pilot.press("n")
        await until(pilot, lambda: "Pin to the post-mortem timeline" in screen_text(app))
        await type_text(pilot, "rolled back [bold]4f2a[/]")
        await pilot.press("tab", "space", "enter")
        await until(pilot, lambda: any(e.type is EventType.NOTE for e in current().events))
        note = next(e for e in current().events if e.type is EventType.NOTE)
        assert note.data["text"] == "rolled back [bold]4f2a[/]" and current().is_pinned(note)

        # s: status (the dialog lists only the allowed ones).
        await pilot.press("s")
        await until(pilot, lambda: "status (now triage)" in screen_text(app))
        await pilot.press("enter")  # investigating
        await until(pilot, lambda: current().status is Status.INVESTIGATING)

        # v: severity, with the reason it needs.
        await pilot.press("v")
        await until(pilot, lambda: "severity (now P1)" in screen_text(app))
        await pilot.press("up", "enter")
        await type_text(pilot, "every tenant")
        await pilot.press("enter")
        await until(pilot, lambda: current().severity is Severity.P0)
        assert next(e for e in current().events if e.type is EventType.SEVERITY_CHANGED).data["reason"] == "every tenant"

        # r: roles.
        await pilot.press("r")
        await until(pilot, lambda: "roles" in screen_text(app))
        await pilot.press("down", "enter")  # scribe
        await type_text(pilot, "carol")
        await pilot.press("enter")
        await until(pilot, lambda: current().roles_display("scribe") == "carol")

        # u: the P0 stakeholder update, copied (OSC 52) and recorded.
        await pilot.press("u")
        await until(pilot, lambda: "stakeholder update" in screen_text(app))
        assert "[P0 CRITICAL]" in screen_text(app)
        await pilot.press("f2")
        await until(pilot, lambda: any(e.type is EventType.STAKEHOLDER_UPDATE for e in current().events))
        assert current().events[-1].data["channel"] == "clipboard"

        # e: export, path edited in the dialog.
        await pilot.press("e")
        await until(pilot, lambda: "export post-mortem" in screen_text(app))
        app.screen.query_one("#inc-export-path").value = str(target)  # typing a long path adds nothing
        await pilot.press("enter")
        await until(pilot, target.exists)
        assert target.read_text().startswith(f"# Post-mortem: {ref} — API 5xx")

        # Enter: the detail view, newest event in view, header with summary and components.
        await pilot.press("enter")
        await until(pilot, lambda: "Timeline (UTC)" in screen_text(app))
        text = screen_text(app)
        assert "REST answers 503" in text and "acknowledged · update in" in text
        assert "Stakeholder update sent via clipboard" in text  # the newest, scrolled into view
        assert "▶ Investigation" in text
        # g hides what the console generated.
        await pilot.press("g")
        assert "generated hidden" in screen_text(app) and "Commander:" not in screen_text(app)
        await pilot.press("g")
        # Enter on an event: all of it, literally.
        timeline = app.screen.query_one("#incd-timeline")
        while timeline.highlighted_option.id != str(note.seq):
            await pilot.press("up")
        await pilot.press("enter")
        await until(pilot, lambda: f"event {note.seq} (note)" in screen_text(app))
        assert "rolled back [bold]4f2a[/]" in screen_text(app) and "(pinned)" in screen_text(app)
        await pilot.press("escape")
        # p unpins it.
        await pilot.press("p")
        await until(pilot, lambda: not current().is_pinned(note))
        # Tab to the checklist: tick the status-page item by hand.
        await pilot.press("tab")
        phases = app.screen.query_one("#incd-phases")
        assert phases.has_focus
        await pilot.press("up")
        while phases.highlighted_option is None or phases.highlighted_option.id != "item:status_page":
            await pilot.press("up")
        await pilot.press("enter")
        await until(pilot, lambda: "[x] Check the Supabase status page" in screen_text(app))
        assert (await svc.get(ref)).checklist == {"status_page": True}
        await pilot.press("escape")
        await until(pilot, lambda: "SEV" in screen_text(app))

        # s → resolved, then closing is refused: a P0 needs its post-mortem (a notification, not a crash).
        await pilot.press("s")
        await until(pilot, lambda: "status (now investigating)" in screen_text(app))
        await keys(pilot, "down", "down", "enter")  # identified, mitigated, [resolved]
        await until(pilot, lambda: current().status is Status.RESOLVED)
        await pilot.press("s")
        await until(pilot, lambda: "status (now resolved)" in screen_text(app))
        await keys(pilot, "down", "down", "enter")  # investigating, postmortem, [closed]
        await until(pilot, lambda: "a P0 incident needs its post-mortem before closing" in notices(app))
        assert app.is_running and current().status is Status.RESOLVED

        # m: the post-mortem in the console (summary starts from the incident's), then closing works.
        await pilot.press("m")
        await until(pilot, lambda: "post-mortem (blameless)" in screen_text(app))
        assert app.screen.query_one("#pm-summary").text == "REST answers 503"
        await type_text(pilot, "logins")  # impact has the focus
        app.screen.query_one("#pm-root_cause").text = "expired signing key"
        app.screen.query_one("#pm-actions").text = "rotate keys monthly @ sec-team @ 2025-05-01"
        await pilot.press("f2")
        await until(pilot, lambda: "post-mortem saved (complete)" in notices(app))
        pm = (await svc.get(ref)).postmortem
        assert pm["impact"] == "logins" and "summary" not in pm  # untouched summary not copied
        assert pm["action_items"] == [{"text": "rotate keys monthly", "owner": "sec-team", "due": "2025-05-01"}]
        await pilot.press("s")
        await until(pilot, lambda: "status (now resolved)" in screen_text(app))
        await keys(pilot, "down", "down", "enter")
        await until(pilot, lambda: current() is None and f"{ref}: closed" in notices(app))
        got = await svc.get(ref)
        assert got.status is Status.CLOSED
        kinds = [e.type for e in got.events]
        assert kinds[:5] == [EventType.CREATED, EventType.METRIC_SNAPSHOT, EventType.ACKNOWLEDGED, EventType.ROLE_ASSIGNED, EventType.NOTE]
        # c shows the closed ones.
        await pilot.press("c")
        await until(pilot, lambda: "showing closed" in screen_text(app) and "API 5xx" in screen_text(app))


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
            # The detail view follows the other console too.
            await pilot.press("enter")
            await until(pilot, lambda: "Timeline (UTC)" in screen_text(app))
            await other.add_note(inc.ref, "bob: checking pgbouncer")
            await until(pilot, lambda: "Note: bob: checking pgbouncer" in screen_text(app), timeout=5)
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


@pytest.mark.postgres
async def test_a_note_submitted_while_the_team_store_is_down_waits_and_syncs(tmp_path: Path, pg_factory) -> None:
    from cs_console.stores.incident_store_pg import PgIncidentStore

    server = pg_factory()
    app = make_app(tmp_path, f'[profiles.team]\nstore = "postgres"\nteam_dsn = "{server.dsn}"\n')
    other = IncidentService(await PgIncidentStore.connect(server.dsn), actor="bob")
    try:
        inc = await other.open(title="Store blinks", severity=Severity.P1)
        async with app.run_test(size=(120, 30)) as pilot:
            p = await show_pane(pilot)
            await until(pilot, lambda: "Store blinks" in screen_text(app), timeout=5)
            server.stop()
            await pilot.press("n")
            await until(pilot, lambda: "What happened" in screen_text(app))
            await pilot.press(*"failover started", "enter")
            await until(pilot, lambda: "1 note waiting to sync" in screen_text(app), timeout=10)
            server.start()
            await until(pilot, lambda: "waiting to sync" not in screen_text(app), timeout=10)
            got = await other.get(inc.ref)
            assert [e.data["text"] for e in got.events if e.type is EventType.NOTE] == ["failover started"]
            await until(pilot, lambda: bool(p.incidents) and any(e.type is EventType.NOTE for e in p.incidents[0].events), timeout=5)
    finally:
        await other.close()


async def test_declare_form_labels_its_fields_and_a_key_does_not_replace_the_prefilled_title(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        alert = SimpleNamespace(id="database-down", title="Database down", detail="connection refused", alert_class="critical",
                                metric=None, at=datetime.now(timezone.utc) - timedelta(minutes=2))
        p.open_from_alert(alert)
        await until(pilot, lambda: "Database down" in screen_text(app))
        text = screen_text(app)
        for label in ("Title", "Summary (optional)", "Components (optional, comma separated)"):
            assert label in text  # labelled even when every field is filled in
        await type_text(pilot, " (eu)")  # a stray key, or an addition: added at the end
        title = app.screen.query_one("#inc-open-title")
        assert title.value == "Database down (eu)"
        await keys(pilot, "enter", "enter", "enter")
        await keys(pilot, "y")
        await until(pilot, lambda: "Reason (required when overriding the proposal)" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: any(i.title == "Database down (eu)" for i in p.incidents))


async def test_an_answer_the_evidence_gave_is_marked_and_the_operators_yes_is_not_called_pre_filled(tmp_path: Path) -> None:
    """Issue 13: a WARNING alert pre-fills a P2 yes; the questions above it say so, and a P0 the
    operator answered is the operator's, not "pre-filled from evidence"."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        p = await show_pane(pilot)
        alert = SimpleNamespace(id="db-error-rate", title="Elevated error rate: DB error rate", detail="2.9%", alert_class="warning",
                                metric="db.error_rate_pct", at=datetime.now(timezone.utc) - timedelta(minutes=2))
        p.open_from_alert(alert)
        await until(pilot, lambda: "Elevated error rate" in screen_text(app))
        await pilot.press("enter", "enter", "enter")
        await until(pilot, lambda: "Is the whole service down" in screen_text(app))
        text = screen_text(app)
        assert "So far P2; a yes here raises it" in text
        assert "Non-critical feature failures  (from the evidence)" in text
        await pilot.press("n", "n", "y")  # a breach: the operator's yes
        await until(pilot, lambda: "Proposed:" in screen_text(app))
        text = screen_text(app)
        assert "Proposed:  P0  Security breach" in text and "pre-filled" not in text
        await pilot.press("b", "n")  # back, no breach: the questions go on above P2
        await until(pilot, lambda: "Is part of the service down" in screen_text(app))
        await pilot.press("n", "n", "n")  # nothing in P1: the evidence's P2 stands
        await until(pilot, lambda: "Proposed:" in screen_text(app))
        assert "Proposed:  P2  Non-critical feature failures (pre-filled from evidence)" in screen_text(app)
