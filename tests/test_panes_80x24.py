"""Each pane keeps its answer at 80x24: the text an on-call engineer came for is on screen.

(The Overview's component reasons and alerts: tests/test_overview_80x24.py; the Metrics
tab's values and reasons: tests/test_metrics_pane.py; the Logs pane: tests/test_logs_pane.py.)
"""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import OptionList

from cs_console.domain.incidents import Severity
from cs_console.tui.screens.runbook_start import ResumeOfferScreen
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until

SIZE = (80, 24)


def fits(text: str) -> bool:
    lines = text.split("\n")
    return len(lines) == SIZE[1] and all(len(line) <= SIZE[0] for line in lines)


async def test_incidents_at_80x24_show_the_open_incidents_ref_severity_and_title() -> None:
    from cs_console.wiring.incidents import open_incident_service

    app = demo_app("connection-exhaustion", initial_pane="incidents")
    service = await open_incident_service(app.session, clock=app.env.clock)
    try:
        p2 = await service.open(title="Storage uploads slow for EU users", severity=Severity.P2, components=("Storage",))
        app.env.clock.advance(timedelta(minutes=5).total_seconds())  # type: ignore[attr-defined]
        p1 = await service.open(title="Database connections exhausted", severity=Severity.P1,
                                summary="API 5xx on every write", components=("Database",))
    finally:
        await service.close()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "2 open" in screen_text(app) and p1.ref in screen_text(app))
        await until(pilot, lambda: f"{p1.ref} P1: Database connections exhausted" in screen_text(app))
        text = screen_text(app)
        lines = text.splitlines()
        header = next(line for line in lines if "SEV" in line and "REF" in line)
        assert header.split()[:3] == ["SEV", "REF", "STATUS"] and "TITLE" in header
        rows = [line for line in lines if p1.ref in line or p2.ref in line]
        first = next(line for line in rows if p1.ref in line)
        second = next(line for line in rows if p2.ref in line and "P2" in line)
        assert lines.index(first) < lines.index(second)  # the P1 first
        assert first.split()[:2] == ["P1", p1.ref] and "Database" in first
        assert second.split()[:2] == ["P2", p2.ref] and "Storage" in second
        # the selected incident in full under the list: ref, severity, title, summary
        assert f"{p1.ref} P1: Database connections exhausted — API 5xx on every write" in text
        assert fits(text)


async def test_runbooks_at_80x24_show_the_names_and_the_interrupted_run() -> None:
    from cs_console.services.runbooks.catalog import load_catalog
    from cs_console.wiring.runbooks import open_engine

    first = demo_app("connection-exhaustion", initial_pane="overview")
    rb = load_catalog().get("db-connection-issues")
    engine = open_engine(first.session, rb, environment=first.env)
    await engine.start({})
    await engine.execute("usage")
    await engine.close()  # the console went away mid-run

    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=SIZE) as pilot:
        # the interrupted run is offered: which runbook, where it stopped
        await until(pilot, lambda: isinstance(app.screen, ResumeOfferScreen) and "by_state" in screen_text(app))
        offer = screen_text(app)
        assert "1 interrupted run(s)" in offer and "Database connection issues · running at by_state" in offer
        assert fits(offer)
        await pilot.press("escape")  # later
        await until(pilot, lambda: not isinstance(app.screen, ResumeOfferScreen))
        listing = app.query_one("#rb-list", OptionList)
        await until(pilot, lambda: listing.option_count > 0 and "interrupted run(s): u resumes" in screen_text(app))
        text = screen_text(app)
        for title in ("Morning health check", "Database connection issues"):
            assert title in text
        assert "1 interrupted run(s): u resumes" in text
        # found by name: its details beside the list, the interrupted run still said
        await pilot.press("slash", *"connection issues", "enter")
        await until(pilot, lambda: "1 of " in screen_text(app) and "db-connection-issues" in screen_text(app))
        text = screen_text(app)
        assert "1 interrupted run(s): u resumes" in text and "! Database connection issues" in text
        assert fits(text)


async def test_metrics_at_80x24_show_the_crossed_thresholds_with_their_values() -> None:
    app = demo_app("connection-exhaustion", initial_pane="metrics")
    async with app.run_test(size=SIZE) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "Connections used" in screen_text(app))
        used = app.live.snapshot.value("db.connections.pct")
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "Connections used" in line)
        assert "CRITICAL" in row and f"{used:.0f}" in row
        assert fits(text)
