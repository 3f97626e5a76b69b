"""The filter bar helps: Tab completes fields and values, ↑/↓ recalls earlier filters (kept
across sessions), and a source opens with the last filter used on it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cs_console.domain.log_filter_completion import complete, value_words
from cs_console.stores.filter_history import FilterHistory
from tests.test_logs_pane import loaded, log_file, logs_app, only_overview_and_logs, pane, wait_for  # noqa: F401 - fixtures

VALUES = value_words({"function": ["monitor-keywords", "send-email"], "source": ["edge", "auth"]})


def test_tab_completes_the_word_under_the_cursor() -> None:
    assert complete("lev", 3, VALUES).text == "level="
    assert complete("level=e", 7, VALUES).text == "level=error "
    assert complete("since=1h fun", 12, VALUES).text == "since=1h function="
    done = complete("function=mon", 12, VALUES)
    assert (done.text, done.cursor) == ("function=monitor-keywords ", 26)
    assert complete("function=", 9, VALUES).options == ("monitor-keywords", "send-email")
    assert complete("-sour", 5, VALUES).text == "-source="
    assert complete("s", 1, VALUES).options == ("status=", "source=", "since=")
    # in the middle of the text, only the word before the cursor changes
    assert complete("lev since=1h", 3, VALUES).text == "level= since=1h"
    assert complete("zzz", 3, VALUES).options == ()


def test_history_is_kept_private_bounded_and_survives_a_damaged_file(tmp_path: Path) -> None:
    history = FilterHistory.in_state_dir(tmp_path)
    history.add("level>=warn", "edge")
    history.add("ip=203.0.113.7", "auth")
    history.add("level>=warn", "edge")  # again: moves to the end, not twice
    again = FilterHistory.in_state_dir(tmp_path)
    assert again.entries == ["ip=203.0.113.7", "level>=warn"]
    assert again.last_for("auth") == "ip=203.0.113.7" and again.last_for("function") == ""
    assert stat.S_IMODE(history.path.stat().st_mode) == 0o600
    history.path.write_text("{not json")
    assert FilterHistory.in_state_dir(tmp_path).entries == []
    history.path.write_text(json.dumps({"history": ["a", 3, None], "last_by_source": {"edge": 1}}))
    assert FilterHistory.in_state_dir(tmp_path).entries == ["a"]


async def test_tab_and_history_in_the_pane_and_the_last_filter_comes_back(log_file: Path, only_overview_and_logs) -> None:  # noqa: F811
    def with_history():
        app = logs_app(log_file)
        app.env.filter_history = FilterHistory.in_state_dir(app.session.state_dir)  # as build_environment does
        return app

    app = with_history()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash", *"lev", "tab", "e", "tab")
        await wait_for(pilot, lambda: pane(app).filter_bar.input.value == "level=error ")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane(app).typed_filter.strip() == "level=error")
    app = with_history()  # the next session, same source
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: pane(app).typed_filter.strip() == "level=error")
        await pilot.press("slash", "ctrl+u")
        await wait_for(pilot, lambda: pane(app).filter_bar.input.value == "")
        await pilot.press("up")
        await wait_for(pilot, lambda: pane(app).filter_bar.input.value.strip() == "level=error")
        await pilot.press("down")
        await wait_for(pilot, lambda: pane(app).filter_bar.input.value.strip() == "level=error")  # back to the text at open


def test_every_environment_keeps_a_filter_history() -> None:
    from cs_console.services.session import session_from_args
    from cs_console.wiring.environment import build_environment
    from tests.sessions import session_args

    env = build_environment(session_from_args(session_args(demo=True)), one_shot=True)
    assert isinstance(env.filter_history, FilterHistory)
    assert env.filter_history.path.parent.parent == env.alert_state_dir


async def test_the_status_line_keeps_the_filter_whole_at_80_columns() -> None:
    from tests.demo_app import demo_app, play
    from tests.screen_text import screen_text, until

    flt = "function=monitor-keywords level>=error since=1h"
    app = demo_app("function-failures", initial_pane="logs", pane_options={"source": "all", "filter": flt})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 30)
        await until(pilot, lambda: f"/{flt}" in screen_text(app) and " match" in screen_text(app))
    wide = demo_app("function-failures", initial_pane="logs", pane_options={"source": "all", "filter": flt})
    async with wide.run_test(size=(160, 40)) as pilot:
        await play(wide, 120, 30)
        await until(pilot, lambda: "buf " in screen_text(wide) and "UTC" in screen_text(wide))  # room for everything
