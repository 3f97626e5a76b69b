"""Pilot and snapshot tests of the shell and the Overview/Metrics panes on the demo."""

from __future__ import annotations

import re

import pytest

from cs_console.domain.health import HealthStatus
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text
from tests.snapshot_support import mount_done, pinned_machine, settle  # noqa: F401 - a fixture


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_connection_exhaustion_shows_database_down_within_a_minute(size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=size) as pilot:
        await play(app, 60, 15)
        await pilot.pause(0.2)
        db = app.live.health.component("Database")
        assert db is not None and db.status is HealthStatus.DOWN  # the seeded scenario, a minute in
        text = screen_text(app)
        assert "DEMO" in text and "connection-exhaustion" in text
        assert "Database" in text and "DOWN" in text
        assert "CRITICAL" in text  # the connection alert is listed
        assert len(text.splitlines()) == size[1]
        # nothing spills past the right edge
        assert all(len(line) <= size[0] for line in text.splitlines())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_calm_is_healthy_and_shows_the_daily_review(size: tuple[int, int]) -> None:
    app = demo_app("calm")
    async with app.run_test(size=size) as pilot:
        await play(app, 120, 30)
        await pilot.pause(0.2)
        assert app.live.health.overall == HealthStatus.HEALTHY
        text = screen_text(app)
        for label in ("DB connections", "Query avg", "Fn error rate", "API p95", "CPU", "Memory", "Last backup"):
            assert label in text
        assert "n/a" not in text.split("Daily review")[1].split("Alerts")[0]
        assert "CRITICAL" not in text


async def test_metrics_pane_groups_functions_and_scaling() -> None:
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 120, 15)
        await pilot.press("2")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Connections used" in text and "CRITICAL" in text and "for " in text
        await pilot.press("f")
        await pilot.pause(0.2)
        text = screen_text(app)
        for slug in ("monitor-keywords", "process-conversations", "send-alerts", "sync-integrations"):
            assert slug in text
        await pilot.press("s")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "CROSSED" in text and "Database connections > 80% of limit" in text and "Upgrade compute tier via dashboard" in text
        await pilot.press("d")
        await pilot.pause(0.2)
        await pilot.press("enter")  # the first view: long-running queries
        for _ in range(20):
            await pilot.pause(0.1)
            if "Long-running queries:" in screen_text(app):
                break
        assert re.search(r"Long-running queries: \d+ rows", screen_text(app))


async def test_alert_selection_opens_triage() -> None:
    from cs_console.tui.screens.incident_open import IncidentOpenScreen

    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 60, 15)
        await pilot.pause(0.1)
        await pilot.press("a", "enter")
        # The seeded scenario's top alert a minute in is the connection pool: Enter on it opens
        # the Incidents pane with the declare form filled in from the alert.
        for _ in range(200):
            if isinstance(app.screen, IncidentOpenScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, IncidentOpenScreen)
        assert app.current_pane is not None and app.current_pane.PANE_ID == "incidents"
        text = screen_text(app)
        assert "Declare an incident" in text and "Connection pool near exhaustion" in text
        assert not any("Incidents pane" in n.message for n in app._notifications)


async def test_resize_keeps_running() -> None:
    app = demo_app("traffic-spike")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 30, 15)
        for size in ((80, 24), (200, 60), (60, 15), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
        assert app.is_running and "Daily review" in screen_text(app)


@pytest.mark.usefixtures("pinned_machine")
def test_overview_snapshot(snap_compare) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot) -> None:
        await play(app, 90, 15)
        await settle(pilot, lambda: mount_done(app) and "CRITICAL" in screen_text(app), what="overview")

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.usefixtures("pinned_machine")
def test_overview_snapshot_80x24(snap_compare) -> None:
    app = demo_app("calm")

    async def run_before(pilot) -> None:
        await play(app, 90, 15)
        await settle(pilot, lambda: mount_done(app) and "Daily review" in screen_text(app), what="overview")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (180, 45)])
async def test_platform_incident_shows_in_the_platform_status_row(size: tuple[int, int]) -> None:
    from textual.widgets import Static

    from cs_console.domain.health import PLATFORM_STATUS
    from cs_console.tui.panes.overview import ComponentRow

    app = demo_app("platform-incident")
    async with app.run_test(size=size) as pilot:
        await play(app, 60, 15)  # impact, but the status page has not posted yet
        await pilot.pause(0.2)
        row = next(r for r in app.query(ComponentRow) if r.component_name == PLATFORM_STATUS)
        cells = [str(s.render()) for s in row.query(Static)]
        assert cells[1].endswith("HEALTHY") and cells[3] == "no incident for eu-central-1"
        await play(app, 120, 15)
        await pilot.pause(0.2)
        cells = [str(s.render()) for s in row.query(Static)]
        assert cells[1].endswith("DEGRADED")
        assert cells[3].startswith("incident in eu-central-1: Elevated API latency and errors in eu-central-1 (investigating")
        text = screen_text(app)
        assert "Platform status" in text and "pane fault" not in text
        assert all(len(line) <= size[0] for line in text.splitlines())


async def test_alert_lines_show_the_value_now_not_the_one_at_firing() -> None:
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 120, 15)
        await pilot.pause(0.1)
        first = next(a for a in app.live.alerts_active if a.id == "error-rate:db_error_rate_pct")
        await play(app, 120, 15)
        await pilot.pause(0.1)
        now = next(a for a in app.live.alerts_active if a.id == "error-rate:db_error_rate_pct")
        assert now.at == first.at and now.detail != first.detail  # one alert whose value moved
        line = next(line for line in screen_text(app).splitlines() if "Elevated error rate: DB error rate" in line)
        assert now.detail[:30] in line and first.detail[:30] not in line
        assert "(WARNING" in line  # a WARNING-class alert says so


def test_alert_detail_gives_the_value_now_and_at_onset() -> None:
    from datetime import datetime, timezone

    from cs_console.domain.alerts import Alert, AlertClass
    from cs_console.tui.screens.alert_detail import alert_text

    alert = Alert("response-time:api_p95_ms", "high-response-times", AlertClass.WARNING, "High response time: API p95",
                  "API p95 700 ms (WARNING; manual: p95 < 500ms)", datetime(2026, 11, 27, tzinfo=timezone.utc),
                  "api.p95_ms", 700.0, onset_value=1250.0)
    text = alert_text(alert)
    assert "value now 700 ms (at onset 1,250 ms)" in text and "when raised" not in text


async def test_two_p95_figures_on_the_overview_say_what_they_measure() -> None:
    # Health is checked less often than metrics are read: during the traffic ramp the REST
    # check's p95 is older than the Metrics' "API p95", and says when it was read.
    app = demo_app("traffic-spike")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 60, 15)
        health_at = app.live.health_at
        for _ in range(6):  # metrics only, as between two health checks
            app.env.clock.advance(15)
            await app.monitor.refresh_metrics()
        app._live_changed()
        await pilot.pause(0.1)
        text = screen_text(app)
        rest = next(line for line in text.splitlines() if "REST" in line and "p95" in line)
        api = next(line for line in text.splitlines() if "API p95" in line)
        assert f"at {health_at:%H:%M:%S}" in rest
        rest_p95 = int(re.search(r"p95 (\d+) ms", rest).group(1))
        api_p95 = int(re.search(r"API p95\s+([\d,]+) ms", api).group(1).replace(",", ""))
        assert api_p95 > rest_p95 + 300  # the ramp moved on since the check
