"""The Metrics pane and the Overview with sources that see only part of the picture,
report n/a with a reason, or send hostile text: readable at 80x24, literal, cheap to repaint."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.geometry import Region

from cs_console.domain.clock import FixedClock
from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.domain.metrics import METRIC_BY_KEY, MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus
from cs_console.domain.thresholds import MetricState
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.widgets.metrics_list import MetricLine, MetricsList
from tests.screen_text import screen_segments, screen_text, until
from tests.sessions import session_args

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
HOSTILE = "\x1b[31mred\x1b[0m [bold red]x[/] \x07"


class DbOnlySource:
    """A database-only metrics source (like PostgreSQL without Supabase): some n/a with reasons."""

    name = "db"

    def __init__(self, note: str = "no transactions in the interval") -> None:
        self.note = note

    async def collect(self) -> MetricsSnapshot:
        samples = {
            "db.connections.used": MetricSample("db.connections.used", 3),
            "db.connections.max": MetricSample("db.connections.max", 20),
            "db.connections.pct": MetricSample("db.connections.pct", 15.0),
            "db.error_rate_pct": MetricSample("db.error_rate_pct", None, self.note),
            "db.query_avg_ms": MetricSample("db.query_avg_ms", None, "n/a: no statements in the last 2 s"),
        }
        return MetricsSnapshot(source=self.name, at=NOW, samples=samples)

    def status(self) -> SourceStatus:
        return SourceStatus(self.name, SourceState.UP, "", NOW)

    async def close(self) -> None:
        pass


class DbOnlyProbe:
    name = "db"

    def __init__(self, detail: str = "round trip 1.0 ms") -> None:
        self.detail = detail

    async def check(self) -> list[ComponentHealth]:
        return [ComponentHealth("Database", HealthStatus.HEALTHY, self.detail, 1.0, NOW)]


def db_only_app(note: str = "no transactions in the interval", detail: str = "round trip 1.0 ms") -> ConsoleApp:
    args = session_args()
    session = session_from_args(args)
    session.demo = None
    env = Environment(session=session, clock=FixedClock(NOW), metrics_sources=[DbOnlySource(note)], health_probes=[DbOnlyProbe(detail)])
    return ConsoleApp(session, env, poll=False)


async def refreshed(app: ConsoleApp, pilot) -> None:
    await app.monitor.refresh_metrics()
    await app.monitor.refresh_health()
    app._live_changed()
    await pilot.pause(0.2)


async def test_overview_says_which_components_have_no_source_and_why_values_are_na() -> None:
    app = db_only_app()
    async with app.run_test(size=(120, 40)) as pilot:
        text = screen_text(app)
        assert "Database        …" in text and "HEALTHY" not in text and "…" in text.split("Daily review")[1]  # before any data
        await refreshed(app, pilot)
        text = screen_text(app)
        assert "Database        ✓ HEALTHY" in text
        assert text.count("– no source") == 5 and "not checked yet" not in text
        assert "n/a (no statements in the last 2 s)" in text  # the reason, without "n/a (n/a: ..."
        assert "n/a (n/a" not in text


async def test_metrics_tab_at_80x24_shows_na_reasons_in_full_and_keeps_columns_apart() -> None:
    app = db_only_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        await pilot.press("2")
        await until(pilot, lambda: "Connection limit" in screen_text(app) and "q Quit" in screen_text(app).splitlines()[-1])
        lines = screen_text(app).splitlines()
        error_line = next(line for line in lines if "DB error rate" in line)
        assert error_line.split() == ["DB", "error", "rate", "n/a", "UNKNOWN", "no", "transactions", "in", "the", "interval"]
        assert next(line for line in lines if "Query avg" in line).rstrip().endswith("no statements in the last 2 s")
        assert all(len(line) <= 80 for line in lines)
        assert "q Quit" in lines[-1] and "f1 Help" in lines[-1]


async def test_functions_table_fits_80_columns() -> None:
    from tests.demo_app import demo_app, play

    app = demo_app("function-failures")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 30)
        await pilot.press("2")
        await until(pilot, lambda: "Connection limit" in screen_text(app))  # mounted on demand: its keys work once it is up
        await pilot.press("f")
        await until(pilot, lambda: "Calls/min" in screen_text(app))
        text = screen_text(app)
        header = next(line for line in text.splitlines() if "Function" in line and "Status" in line)
        assert header.split() == ["Function", "Status", "Calls/min", "Errors", "Avg", "p95", "Ver"]
        assert "process-conversations" in text


async def test_hostile_notes_and_details_are_shown_literally() -> None:
    app = db_only_app(note=HOSTILE, detail=HOSTILE)
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(app, pilot)
        await until(pilot, lambda: "[bold red]x[/]" in screen_text(app))  # painted (a loaded machine is slow)
        overview = screen_text(app)
        await pilot.press("2")
        await until(pilot, lambda: "no transactions" not in screen_text(app) and "Connection limit" in screen_text(app))
        metrics = screen_text(app)
        for text in (overview, metrics):
            assert "[bold red]x[/]" in text and "␛[31mred␛[0m" in text and "\x1b" not in text
        # the markup was not interpreted: no red bold "x" segment
        assert not any(seg.text == "x" and seg.style and seg.style.bold for seg in screen_segments(app))


async def test_an_unchanged_refresh_repaints_nothing_and_a_new_value_only_its_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    app = db_only_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(app, pilot)
        await pilot.press("2")
        await until(pilot, lambda: "Connection limit" in screen_text(app))
        listing = app.query_one(MetricsList)
        # Under load the labels can paint before the first values reach the list.
        await until(pilot, lambda: all(listing.line(key) for key in ("db.connections.used", "db.connections.pct")))
        regions: list[Region] = []
        monkeypatch.setattr(listing, "refresh", lambda *r, **k: regions.extend(r))
        current = {key: listing.line(key) for key in ("db.connections.used", "db.connections.pct") if listing.line(key)}
        listing.set_lines(current)
        assert regions == []
        listing.set_lines({"db.connections.used": MetricLine("4", None, current["db.connections.used"].spark)})
        assert len(regions) == 1 and regions[0].height == 1 and regions[0].width == 22  # the value cell alone
        regions.clear()
        pct = current["db.connections.pct"]
        listing.set_lines({"db.connections.pct": MetricLine("85.0%", MetricState.WARNING, pct.spark, pct.since)})
        assert len(regions) == 1 and regions[0].x == 25  # a new state recolours value, state and sparkline


def test_every_metric_has_a_label_that_fits_the_narrow_column() -> None:
    assert max(len(m.label) for m in METRIC_BY_KEY.values()) <= 21


async def test_source_tooltips_and_fault_notices_are_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.content import Content

    from cs_console.tui.panes.overview import OverviewPane
    from cs_console.tui.widgets.console_header import SourceDots

    app = db_only_app()
    async with app.run_test(size=(120, 40)) as pilot:
        dots = app.query_one(SourceDots)
        dots.show([SourceStatus("db", SourceState.DOWN, HOSTILE)])
        assert isinstance(dots.tooltip, Content) and "[bold red]x[/]" in dots.tooltip.plain and "\x1b" not in dots.tooltip.plain

        def boom(self) -> None:
            raise KeyError("[bold red]x[/] [/unbalanced]")

        monkeypatch.setattr(OverviewPane, "refresh_live", boom)
        await app.action_refresh_now()
        await pilot.pause(0.1)
        [fault] = [n for n in app._notifications if "pane fault" in n.message]
        assert fault.markup is False and "[/unbalanced]" in fault.message and app.is_running


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
async def test_metric_lines_are_legible_in_every_theme(theme: str) -> None:
    from textual.color import Color

    app = db_only_app()
    app.theme = theme
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(app, pilot)
        await pilot.press("2")
        await until(pilot, lambda: bool(app.query(MetricsList)) and "Connection limit" in screen_text(app))
        listing = app.query_one(MetricsList)
        for component in ("metrics-list--label", "metrics-list--value", "metrics-list--muted", "metrics-list--group"):
            style = listing._style(component)
            fg, bg = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
            # $text-muted taken with partial=True came out white: white on white in the light theme
            assert abs(fg.brightness - bg.brightness) > 0.25, (theme, component, style)
