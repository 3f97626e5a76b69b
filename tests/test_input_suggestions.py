"""`[inputs.suggest]`: a runbook input filled from what the console sees now.

The connection runbook's fixed five-minute threshold previewed nothing a minute into a
leak; its suggestion (half the oldest idle-in-transaction age) must list the stuck sessions,
on the demo and with the runbook's own SQL on a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from cs_console.backends.executors.sql import SqlExecutor
from cs_console.domain.runbooks.calls import SqlCall
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.loader_errors import RunbookError
from cs_console.services.runbooks.catalog import load_catalog
from cs_console.services.runbooks.input_suggestions import Suggested, suggest_inputs
from cs_console.tui.screens.runbook_start import RunbookStartScreen
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until

RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "suggest-test"
title = "Suggest test"
group = "Incident"
summary = "x"

[[inputs]]
name = "minutes"
type = "float"
default = 5
min = 0.1
[inputs.suggest]
console = "metrics"
value = "None if not value.db_idle_in_tx_max_age_s else round(value.db_idle_in_tx_max_age_s / 120, 1)"
why = "half the oldest"

[[steps]]
id = "look"
title = "Look"
kind = "check"
[steps.console]
call = "metrics"
"""


def _err(text: str) -> str:
    with pytest.raises(RunbookError) as info:
        parse_runbook(text, "rb.toml")
    return str(info.value)


@pytest.mark.parametrize("old, new, expected", [
    ('console = "metrics"', 'console = "shell"', r"rb\.toml:\d+: inputs\.minutes\.suggest\.console: one of metrics, health"),
    ('value = "None if', 'value = "bogus or None if', r"suggest\.value: an expression over `value` only \(unknown: bogus\)"),
    ('value = "None if', 'value = "__import__(1) or None if', r"suggest\.value: "),
    ('why = "half the oldest"', 'why = "half"\ncolour = "red"', r"suggest\.colour: a known key"),
    ('type = "float"\ndefault = 5\nmin = 0.1', 'type = "secret"\ndefault = "env:X"', r"suggest: no suggestion here"),
])
def test_a_broken_suggestion_is_a_one_line_load_error(old: str, new: str, expected: str) -> None:
    assert old in RUNBOOK
    msg = _err(RUNBOOK.replace(old, new, 1))
    assert "\n" not in msg
    assert re.search(expected, msg), msg


def test_a_suggestion_that_is_not_a_table_says_what_is_expected() -> None:
    block = RUNBOOK[RUNBOOK.index("[inputs.suggest]"):RUNBOOK.index("[[steps]]")]
    msg = _err(RUNBOOK.replace(block, 'suggest = "metrics"\n\n'))
    assert "inputs.minutes.suggest: a table: console" in msg, msg


async def test_the_connection_runbook_suggests_half_the_oldest_idle_age_on_the_demo() -> None:
    rb = load_catalog().get("db-connection-issues")
    app = demo_app("connection-exhaustion")
    async with app.run_test(size=(80, 24)):
        await play(app, 120, 15)
        oldest = app.live.snapshot.samples["db.idle_in_tx.max_age_s"].value
        got = await suggest_inputs(rb, app.env)
        assert oldest and 12 < oldest < 600  # early in the leak: the fixed 5 minutes would catch nobody
        assert got["idle_minutes"] == Suggested(str(round(oldest / 120, 1)), rb.input("idle_minutes").suggest.why)
        assert float(got["idle_minutes"].value) * 60 < oldest < 5 * 60
        assert got["long_running_minutes"].value is None  # no query runs long: the default stands, and it says so
        assert "default stands" in got["long_running_minutes"].why


async def test_the_start_form_fills_the_suggestion_and_says_why_at_80x24() -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 120, 15)
        app.current_pane.start_runbook("db-connection-issues", {})
        await until(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
        screen = app.screen
        value = screen.query_one("#rbs-in-idle_minutes").value
        assert value != "5" and 0.1 <= float(value) < 5
        await until(pilot, lambda: f"suggested {value} (default 5): half the age" in screen_text(app))
        assert screen.query_one("#rbs-in-long_running_minutes").value == "5"
        assert screen.collect().inputs["idle_minutes"] == value


async def test_a_drill_down_value_wins_over_the_suggestion() -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 120, 15)
        app.current_pane.start_runbook("db-connection-issues", {"idle_minutes": "2"})
        await until(pilot, lambda: isinstance(app.screen, RunbookStartScreen))
        assert app.screen.query_one("#rbs-in-idle_minutes").value == "2"
        assert not app.screen.query("#rbs-suggest-idle_minutes")


@pytest.mark.postgres
async def test_fractional_minutes_reach_the_runbooks_sql_on_a_real_server(pg) -> None:
    """Every interval SQL of the connection runbook takes a float threshold (0.5 = 30 s)."""
    rb = load_catalog().get("db-connection-issues")
    app_name = "suggest-victim"
    victim = await asyncpg.connect(pg.dsn, server_settings={"application_name": app_name})
    await victim.execute("begin; select 1")  # idle in transaction from now on
    await asyncio.sleep(0.6)
    values = {"{{idle_minutes}}": 0.005, "{{long_running_minutes}}": 0.005, "{{application_name}}": app_name, "{{only_pids}}": ""}
    executor = SqlExecutor(pg.dsn)

    async def run(sql, threshold: float) -> object:
        params = tuple(threshold if p.endswith("minutes}}") else values[p] for p in sql.params)
        result = await executor.execute(SqlCall(sql.query, params, transaction=sql.transaction), timeout_s=10)
        assert result.ok, result.error
        return result.value

    try:
        preview = rb.step("terminate_idle").preview.action.sql
        assert [r["application_name"] for r in await run(preview, 0.005)] == [app_name]  # 0.3 s: listed
        assert await run(preview, 5) == []  # five minutes: nobody yet
        listed = await run(rb.step("idle_in_tx").action.sql, 0.005)
        assert app_name in [r["application_name"] for r in listed]
        assert await run(rb.step("cancel_long").preview.action.sql, 0.005) == []  # nothing active runs long
        done = await run(rb.step("terminate_idle").action.sql, 0.005)
        assert [(r["application_name"], r["terminated"]) for r in done] == [(app_name, True)]
        assert await run(rb.step("terminate_idle").verify.action.sql, 0.005) in (0, [{"count": 0}])
    finally:
        victim.terminate()
