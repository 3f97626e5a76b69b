"""Counting by a regex group in the counts screen (g, then / or x)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cs_console.domain.log_filter import matches
from cs_console.domain.log_grouping import RegexFieldError, group_by, regex_field
from cs_console.domain.log_record import Level, LogRecord
from cs_console.tui.screens.log_groups import LogGroupsScreen, text_term
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def rec(message: str) -> LogRecord:
    return LogRecord(NOW, Level.INFO, "edge", message)


def test_records_are_grouped_by_the_first_group_or_the_first_named_one() -> None:
    records = [rec("POST | 400 | /token"), rec("GET | 200 | /rest"), rec("POST | 400 | /token"), rec("no status here")]
    g = group_by(records, "regex", get=regex_field(r"\| (\d{3}) \|"))
    assert [(x.value, x.count) for x in g.groups] == [("400", 2), ("200", 1)] and g.without == 1
    named = regex_field(r"(POST|GET) \| (?P<code>\d+)")  # the named group wins over group 1
    assert named(records[0]) == "400"
    optional = regex_field(r"(x)?token")  # a group that took no part: no value
    assert optional(records[0]) is None


@pytest.mark.parametrize(("pattern", "message"), [
    ("(", "bad regex at position 1: missing ), unterminated subpattern"),
    ("abc", "the regex needs a group"),
    ("   ", "type a regex with a group"),
    ("(a)" * 300, "regex too long"),
])
def test_a_regex_that_cannot_group_is_a_short_error(pattern: str, message: str) -> None:
    with pytest.raises(RegexFieldError) as exc:
        regex_field(pattern)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_a_group_value_becomes_a_text_term_that_finds_it() -> None:
    odd = rec('said "hi" \\ there')
    term = text_term('"hi" \\')
    assert matches(term, odd, NOW) and not matches(term, rec("hi"), NOW)


async def test_count_by_a_regex_group_and_filter_by_a_value_at_80x24() -> None:
    app = demo_app("security-breach", initial_pane="logs", pane_options={"source": "auth"})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 600, 30)
        pane = app.current_pane
        await until(pilot, lambda: len(pane.lines) > 1000)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, LogGroupsScreen) and app.screen.grouping is not None)
        screen = app.screen
        # a bad regex first: a short error in the dialog, the counts stay
        await pilot.press("slash", *"(/token", "enter")
        await until(pilot, lambda: "bad regex at position 1" in screen_text(app))
        assert screen.field == "ip" and app.screen is screen and "Traceback" not in screen_text(app)
        # fixed: counted by the status inside the message
        await pilot.press("ctrl+u", *r"\| (?P<code>\d{3}) \|", "enter")
        await until(pilot, lambda: screen.grouping is not None and screen.grouping.field == "regex")
        values = [g.value for g in screen.grouping.groups]
        assert "400" in values and all(v.isdigit() and len(v) == 3 for v in values)
        expected = sum(1 for r in screen.records if "| 400 |" in r.message)  # what the dialog counted
        assert next(g.count for g in screen.grouping.groups if g.value == "400") == expected
        text = screen_text(app)
        assert "count" in text and "share" in text and "per min" in text and "last seen" in text and "400" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        # Enter on the 400 group: the pane filtered by it
        screen.query_one("DataTable").move_cursor(row=values.index("400"))
        await pilot.press("enter")
        await until(pilot, lambda: pane.typed_filter == '"400"')
        assert len(pane.lines) >= expected
        await pilot.press("escape")  # back to the filter before
        await until(pilot, lambda: pane.typed_filter == "")


async def test_esc_in_the_regex_box_goes_back_to_the_counts() -> None:
    app = demo_app("security-breach", initial_pane="logs", pane_options={"source": "auth"})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 30)
        pane = app.current_pane
        await until(pilot, lambda: len(pane.lines) > 10)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, LogGroupsScreen) and app.screen.grouping is not None)
        screen = app.screen
        await pilot.press("x", *"ab", "escape")
        assert app.screen is screen and screen.field == "ip"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogGroupsScreen))
