"""The log detail: known fields labelled, nested JSON (a JSON message kept as text too) as a
key: value tree shown literally; Enter on a field narrows the Logs pane, Esc comes back."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from cs_console.backends.demo.model.catalog import COMPROMISED_USER
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.log_record_fields import known_fields, parsed_json_text, record_tree, tree_lines
from cs_console.tui.screens.log_detail import LogDetailScreen
from cs_console.tui.widgets.log_view import LogView
from tests.demo_app import demo_app, play
from tests.screen_text import screen_segments, screen_text, until

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)

GOTRUE = json.dumps({
    "msg": "[bold red]x[/] \x1b[31mred",
    "auth_event": {"action": "login", "actor_username": "Dana@BrightPath.health", "log_type": "account"},
    "component": "api", "method": "POST", "path": "/token", "remote_addr": "203.0.113.77",
    "request_id": "9f1c", "status": 400
})


def auth_record(message: str = "POST | 400 | 203.0.113.77 | /token | Invalid login credentials") -> LogRecord:
    return LogRecord(NOW, Level.WARN, "auth", message, None, 400, "9f1c", "id-1", {"event_message": GOTRUE, "level": "warn"})


def test_known_fields_are_labelled_in_reading_order() -> None:
    fields = {f.label: (f.value, f.filter_field) for f in known_fields(auth_record())}
    assert list(fields) == ["time", "level", "source", "ip", "user", "status", "method", "path", "request id"]
    assert fields["ip"] == ("203.0.113.77", "ip")
    assert fields["user"] == ("dana@brightpath.health", "user")  # as user= matches it
    assert fields["method"] == ("POST", None) and fields["path"] == ("/token", None)
    assert fields["request id"] == ("9f1c", "request_id") and fields["time"][0] == "2026-12-03T12:00:00.000000Z"
    fn = LogRecord(NOW, Level.ERROR, "function", "boom", "monitor-keywords", 500, None)
    assert [(f.label, f.value) for f in known_fields(fn)][1:] == [("level", "error"), ("source", "function"), ("function", "monitor-keywords"), ("status", "500")]


def test_json_kept_as_text_becomes_an_indented_tree() -> None:
    lines = record_tree(auth_record())
    assert (0, "message", "POST | 400 | 203.0.113.77 | /token | Invalid login credentials") in lines
    assert (1, "event_message (JSON text)", "") in lines
    assert (2, "auth_event", "") in lines and (3, "actor_username", "Dana@BrightPath.health") in lines
    assert (2, "status", "400") in lines and (1, "level", "warn") in lines
    # lists, empties, scalars
    assert tree_lines({"a": [1, {"b": None}], "e": {}, "t": True}) == [
        (0, "a", ""), (1, "[0]", "1"), (1, "[1]", ""), (2, "b", "null"), (0, "e", "{}"), (0, "t", "true")]
    # not JSON: kept as text
    assert parsed_json_text("{not json") is None and parsed_json_text('"a string"') is None
    assert parsed_json_text("[1]") == [1]


def test_the_tree_is_bounded() -> None:
    lines = tree_lines({"k": list(range(5000))}, limit=100)
    assert len(lines) == 101 and "more line(s) not shown" in lines[-1][2]
    deep: dict = {}
    cur = deep
    for _ in range(50):
        cur["d"] = {}
        cur = cur["d"]
    assert len(tree_lines(deep)) < 20  # the depth is capped; the rest is one JSON value


async def test_detail_shows_fields_and_tree_literally_at_80x24() -> None:
    from pathlib import Path

    from textual.app import App

    import cs_console.tui

    class Host(App):
        CSS_PATH = Path(cs_console.tui.__file__).parent / "styles" / "logs.tcss"

        def on_mount(self) -> None:
            self.push_screen(LogDetailScreen(auth_record(), title="the line"))

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LogDetailScreen) and "auth_event:" in screen_text(app))
        text = screen_text(app)
        rows = [line.split("│")[1].split() for line in text.splitlines() if line.count("│") >= 2]
        assert ["ip", "203.0.113.77", "⏎"] in rows and ["user", "dana@brightpath.health", "⏎"] in rows
        assert ["method", "POST"] in rows and ["path", "/token"] in rows
        assert "  event_message (JSON text):" in text and "    auth_event:" in text
        assert "    msg: [bold red]x[/] ␛[31mred" in text  # markup and escapes shown as text
        assert not any(seg.text == "x" and seg.style and seg.style.bold for seg in screen_segments(app))
        assert all(len(line) <= 80 for line in text.splitlines())
        # the first field highlighted is the IP; Enter closes with its filter term
        chosen: list = []
        app.screen.dismiss = lambda result=None: chosen.append(result)  # type: ignore[method-assign]
        await pilot.press("enter")
        assert chosen == ["ip=203.0.113.77"]
        await pilot.press("down", "f")
        assert chosen[-1] == "user=dana@brightpath.health"
        await pilot.press("down", "down", "enter")  # method: not a filter field, says so
        assert len(chosen) == 2
        assert any("not a filter field" in n.message for n in app._notifications)


async def test_enter_on_the_user_field_narrows_the_logs_and_esc_comes_back() -> None:
    """Security breach: a login's detail, Enter on the user, the pane filtered by it; Esc undoes it."""
    app = demo_app("security-breach", initial_pane="logs", pane_options={"source": "auth"})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 600, 30)
        pane = app.current_pane
        await until(pilot, lambda: len(pane.lines) > 100)
        pane.apply_filter(f"user={COMPROMISED_USER}")
        await until(pilot, lambda: len(pane.lines) > 0)
        app.query_one(LogView).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LogDetailScreen) and "request id" in screen_text(app))
        text = screen_text(app)
        assert COMPROMISED_USER in text and "ip " in text
        fields = [f.filter_field for f in app.screen.fields]
        await pilot.press(*["down"] * (fields.index("user") - fields.index("ip")), "enter")
        await until(pilot, lambda: not isinstance(app.screen, LogDetailScreen))
        assert pane.typed_filter == f"user={COMPROMISED_USER} user={COMPROMISED_USER}"
        await until(pilot, lambda: f"user={COMPROMISED_USER} user=" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: pane.typed_filter == f"user={COMPROMISED_USER}")
        assert app.current_pane is pane


async def test_a_filter_typed_by_hand_ends_the_way_back() -> None:
    app = demo_app("security-breach", initial_pane="logs", pane_options={"source": "auth"})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 30)
        pane = app.current_pane
        await until(pilot, lambda: len(pane.lines) > 10)
        pane.add_filter_term("status=400")
        assert pane.typed_filter == "status=400"
        await pilot.press("slash", *" level=warn", "enter")
        await until(pilot, lambda: pane.typed_filter == "status=400 level=warn")
        app.query_one(LogView).focus()
        await pilot.press("escape")  # nothing to take back: the Logs pane stays as typed
        await pilot.pause(0.2)
        assert pane.typed_filter == "status=400 level=warn" and app.current_pane is pane
