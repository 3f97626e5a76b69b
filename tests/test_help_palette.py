"""Help grouped by pane and dialog with human titles, the palette with every action, 16 colours."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widgets import DataTable, OptionList, Static

from cs_console.tui.themes import choose_theme, load_themes, terminal_colours
from cs_console.tui.screens.alert_detail import AlertDetailScreen
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until
from tests.test_shell import bare_app


def showing(app, pane_id: str) -> bool:
    return app.current_pane is not None and app.current_pane.PANE_ID == pane_id


async def test_help_is_grouped_by_pane_and_dialog_with_human_titles(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("f1")
        await until(pilot, lambda: "cs-console help" in screen_text(app))
        from cs_console.tui.screens.help import HelpScreen

        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        titles = [title for title, _ in help_screen._sections]
        assert titles[0] == "Global"
        for pane in ("Overview pane", "Metrics pane", "Logs pane", "Incidents pane", "Runbooks pane"):
            assert pane in titles, titles
        # each dialog sits under its pane, after it
        assert titles.index("Runbooks · runbook wizard") > titles.index("Runbooks pane")
        assert titles.index("Logs · log view, filter bar, record detail, save") > titles.index("Logs pane")
        assert "Dialogs · confirming a destructive step" in titles
        assert not any("Screen:" in t or "Bar:" in t or "View:" in t for t in titles), titles  # no class names
        global_keys = {b.description for b in help_screen._sections[0][1]}
        assert "Command palette: every action by name" in global_keys


@pytest.mark.parametrize("query", ["export", "declare", "errors in the last hour"])
async def test_the_palette_finds_every_console_action(tmp_path: Path, query: str) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        titles = [c.title.lower() for c in app.get_system_commands(app.screen)]
        assert any(query in t for t in titles), titles


async def test_the_palette_declares_an_incident_from_any_pane(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert showing(app, "overview")
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Declare an incident")
        command.callback()
        await until(pilot, lambda: showing(app, "incidents"))
        from cs_console.tui.screens.incident_open import IncidentOpenScreen

        await until(pilot, lambda: isinstance(app.screen, IncidentOpenScreen))


async def test_the_palette_opens_error_logs_of_the_last_hour(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Logs: errors in the last hour")
        command.callback()
        await until(pilot, lambda: showing(app, "logs"))
        await until(pilot, lambda: getattr(app.current_pane, "typed_filter", "") == "level>=error since=1h")


@pytest.mark.parametrize(("env", "colours"), [
    ({"TERM": "xterm"}, 16), ({"TERM": "screen"}, 16), ({"TERM": "linux"}, 16),
    ({"TERM": "xterm-256color"}, 256), ({"TERM": "screen-256color"}, 256),
    ({"TERM": "xterm", "COLORTERM": "truecolor"}, 1 << 24), ({}, 256),
])
def test_terminal_colours_follow_rich(env: dict[str, str], colours: int) -> None:
    assert terminal_colours(env) == colours


def test_sixteen_colour_terminals_get_the_ansi_theme_unless_one_is_asked_for() -> None:
    themes = load_themes().themes
    assert choose_theme("", themes, {"TERM": "xterm"}) == ("ansi", None)
    assert choose_theme("", themes, {"TERM": "screen"}) == ("ansi", None)
    assert choose_theme("", themes, {"TERM": "xterm-256color"}) == ("dark", None)
    assert choose_theme("light", themes, {"TERM": "xterm"}) == ("light", None)  # asked for: kept


class _RunInProgress(Screen):
    def compose(self):
        yield Static("a run")

    def quit_warning(self) -> str:
        return "a step of 'Restore' is running"


async def test_q_asks_before_quitting_while_a_run_is_open(tmp_path: Path) -> None:
    from cs_console.tui.screens.quit_confirm import QuitConfirmScreen

    app = bare_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        app.push_screen(_RunInProgress())
        await pilot.pause(0.1)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirmScreen))
        assert "'Restore' is running" in screen_text(app)
        await pilot.press("enter")  # Stay has the focus: Enter never quits
        await until(pilot, lambda: isinstance(app.screen, _RunInProgress))
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitConfirmScreen))
        await pilot.press("q")  # a repeated q stays too
        await until(pilot, lambda: isinstance(app.screen, _RunInProgress))
        await pilot.press("q", "y")
        await until(pilot, lambda: not app.is_running)


async def test_q_quits_at_once_when_nothing_is_in_progress(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_enter_on_a_function_opens_its_logs_and_esc_comes_back() -> None:
    app = demo_app("function-failures", initial_pane="metrics")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 120, 15)
        await pilot.press("f")
        await until(pilot, lambda: "Calls/min" in screen_text(app))
        table = app.query_one("#mt-fn-table", DataTable)
        await until(pilot, lambda: table.row_count > 0)
        table.focus()
        slug = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, "logs"))
        await until(pilot, lambda: getattr(app.current_pane, "typed_filter", "") == f"function={slug} since=1h")
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, "metrics"))


async def test_an_alert_cut_at_80x24_reads_in_full_with_v() -> None:
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 600, 30)
        await until(pilot, lambda: "Connection pool near exhaustion" in screen_text(app))
        full = app.current_pane._alert_ids[0]
        assert safe_detail(full.detail)[:60] not in flat(screen_text(app))  # the row cuts it at 80 columns
        await pilot.press("a", "v")
        await until(pilot, lambda: isinstance(app.screen, AlertDetailScreen) and app.screen.alert == full)
        await until(pilot, lambda: safe_detail(full.detail)[:60] in flat(screen_text(app)))
        assert "raised" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AlertDetailScreen))


def safe_detail(text: str) -> str:
    return " ".join(text.split())


def flat(screen: str) -> str:
    """The screen's text as one line, box edges out, so wrapped text can be searched."""
    return safe_detail(screen.replace("│", " "))


async def test_a_database_view_takes_the_whole_width_at_80x24() -> None:
    app = demo_app("connection-exhaustion", initial_pane="metrics")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 300, 30)
        await pilot.press("d")
        await until(pilot, lambda: "Connections per role" in screen_text(app))
        views = app.query_one("#mt-views", OptionList)
        await pilot.press("enter")  # the first view: long-running queries (sessions)
        await until(pilot, lambda: not views.display and "d: views" in screen_text(app))
        await until(pilot, lambda: "application" in screen_text(app).lower())
        await pilot.press("d")
        await until(pilot, lambda: views.display)
