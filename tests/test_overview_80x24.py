"""The Overview at 80x24 keeps its answer: every non-healthy component with its reason,
the healthy ones folded into a line, the first alerts; Enter on a component opens its logs."""

from __future__ import annotations

import pytest

from cs_console.domain.health import HealthStatus
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until


def showing(app, pane_id: str) -> bool:
    return app.current_pane is not None and app.current_pane.PANE_ID == pane_id


def _row_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"│ {name} "))


async def test_every_non_healthy_component_keeps_its_reason_at_80x24() -> None:
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "✖ DOWN" in screen_text(app) and "✓ HEALTHY  Storage" in screen_text(app))
        report = app.live.health
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        sick = [c for c in report.components if c.status is not HealthStatus.HEALTHY]
        assert len(sick) >= 3  # the scenario a minute and a half in
        for comp in sick:
            row = _row_of(text, comp.name)
            assert comp.status.value in row
            # the reason is there, cut last (its first 25 characters at least)
            assert comp.detail[:25] in row, (comp.name, row)
        healthy = [c.name for c in report.components if c.status is HealthStatus.HEALTHY]
        folded = next(line for line in lines if "✓ HEALTHY" in line)
        assert all(name in folded for name in healthy), (healthy, folded)
        # the alerts keep their first rows: both critical ones are readable
        alerts = text.split("Alerts")[1]
        assert "Connection pool near exhaustion" in alerts and "Database down" in alerts
        assert "q Quit" in lines[-1]


async def test_calm_at_80x24_folds_every_healthy_component_into_one_answer() -> None:
    app = demo_app("calm")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "✓ HEALTHY  Database" in screen_text(app))
        text = screen_text(app)
        components = text.split("Components")[1].split("Daily review")[0]
        for name in ("Database", "Auth", "REST", "Storage", "Realtime", "Platform status"):
            assert name in components
        assert "DOWN" not in components and "DEGRADED" not in components
        assert "No alerts" in text


async def test_tall_terminals_keep_one_row_per_component() -> None:
    app = demo_app("calm")
    async with app.run_test(size=(80, 40)) as pilot:
        await play(app, 60, 15)
        await until(pilot, lambda: "Platform status ✓ HEALTHY" in screen_text(app))
        text = screen_text(app)
        for comp in app.live.health.components:
            row = _row_of(text, comp.name)
            assert "✓ HEALTHY" in row and comp.detail[:20] in row


@pytest.mark.parametrize(("presses", "component", "expected"), [
    (0, "Database", "source=postgres since=1h"),
    (1, "Auth", "source=auth since=1h"),
    (2, "REST", "source=edge since=1h"),
    (3, "Edge Functions", "source=function since=1h"),
])
async def test_enter_on_a_component_opens_its_logs_and_esc_comes_back(presses: int, component: str, expected: str) -> None:
    from cs_console.tui.panes.overview import ComponentRow

    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "✖ DOWN" in screen_text(app))
        await pilot.press("c", *["down"] * presses)
        focused = app.screen.focused
        assert isinstance(focused, ComponentRow) and focused.component_name == component
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, "logs") and getattr(app.current_pane, "typed_filter", "") == expected)
        await until(pilot, lambda: expected in screen_text(app))  # the status line shows the filter
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, "overview"))


async def test_a_component_without_logs_says_so_and_stays() -> None:
    from cs_console.tui.panes.overview import ComponentRow

    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "✖ DOWN" in screen_text(app))
        await pilot.press("c")
        while not (isinstance(app.screen.focused, ComponentRow) and app.screen.focused.component_name == "Storage"):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert showing(app, "overview")
        assert any("no logs of Storage" in n.message for n in app._notifications)


async def test_r_on_a_component_opens_its_runbook_pre_filled_and_esc_comes_back() -> None:
    from textual.widgets import Input

    from cs_console.tui.panes.overview import ComponentRow
    from cs_console.tui.screens.runbook_start import RunbookStartScreen

    app = demo_app("function-failures")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 30)
        await until(pilot, lambda: "Edge Functions  ▲ DEGRADED" in screen_text(app))
        await pilot.press("c")
        while not (isinstance(app.screen.focused, ComponentRow) and app.screen.focused.component_name == "Edge Functions"):
            await pilot.press("down")
        worst = max(app.live.snapshot.functions, key=lambda fn: fn.error_rate_pct).slug
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
        assert app.screen.runbook.id == "edge-function-failures"
        assert app.screen.query_one("#rbs-in-function_slug", Input).value == worst
        assert worst in screen_text(app)
        await pilot.press("escape")  # the form: cancelled, nothing started
        await until(pilot, lambda: not isinstance(app.screen, RunbookStartScreen) and showing(app, "runbooks"))
        await pilot.press("escape")  # and back where it started
        await until(pilot, lambda: showing(app, "overview"))


async def test_r_on_a_component_without_a_runbook_says_so() -> None:
    from cs_console.tui.panes.overview import ComponentRow

    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 90, 15)
        await until(pilot, lambda: "✖ DOWN" in screen_text(app))
        await pilot.press("r")  # nothing selected yet
        await pilot.press("c", "down")
        assert isinstance(app.screen.focused, ComponentRow) and app.screen.focused.component_name == "Auth"
        await pilot.press("r")
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert any("select a component first" in m for m in messages)
        assert any("no runbook is about Auth alone" in m for m in messages)
        assert showing(app, "overview")
