"""Pilot tests of the Logs pane on a real local JSON-lines file (the file:PATH source).

Each test drives keys at 80x24 and/or 120x40 and asserts on what the view
renders (its rows), the status line and the buffer behind them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cs_console.domain.clock import SystemClock
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.logs import LogsPane
from cs_console.tui.screens.log_detail import LogDetailScreen
from cs_console.tui.screens.log_save import LogSaveScreen
from cs_console.tui.widgets.log_filter_bar import LogFilterBar
from cs_console.tui.widgets.log_view import LogView
from cs_console.wiring.local_logs import open_local_log
from tests.screen_text import screen_text
from tests.sessions import session_args

SIZES = [(80, 24), (120, 40)]
START = datetime(2026, 11, 27, 3, 0, 0, tzinfo=timezone.utc)
N = 200


def record(i: int, *, level: str | None = None, message: str | None = None) -> dict:
    if level is None:
        level = "error" if i % 20 == 7 else "warning" if i % 9 == 4 else "info"
    if message is None:
        if level == "error":
            message = f"ERR-{i:04d} upstream timeout after 10000ms"
        elif i % 10 == 3:
            message = f"payment {i:04d} reconciled"
        else:
            message = f"GET | 200 | /functions/v1/item-{i:04d}"
    return {
        "timestamp": (START + timedelta(milliseconds=250 * i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "level": level,
        "event_message": message,
        "function_name": "stripe-webhook" if i % 2 else "send-email",
        "status": 500 if level == "error" else 200,
        "request_id": f"req-{i:06d}",
    }


def write_log(path: Path, records: list[dict], mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def logs_app(path: Path, filter_text: str = "", **options) -> ConsoleApp:
    args = session_args()
    session = session_from_args(args)
    session.demo = None  # a local file needs no profile and no demo
    env = Environment(session=session, clock=SystemClock(), local_log_opener=open_local_log)
    return ConsoleApp(session, env, initial_pane="logs", pane_options={"source": f"file:{path}", "filter": filter_text, **options}, poll=False)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
        waited += 0.05


def pane(app: ConsoleApp) -> LogsPane:
    return app.query_one(LogsPane)


def view_rows(app: ConsoleApp) -> list[str]:
    view = app.query_one(LogView)
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def status(app: ConsoleApp) -> str:
    return pane(app).status_content().plain


@pytest.fixture(autouse=True)
def only_overview_and_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other panes are not under test here: skip composing them (start-up time)."""
    from cs_console.tui import app as app_module
    from cs_console.tui.panes.registry import PANES

    monkeypatch.setattr(app_module, "PANES", tuple(spec for spec in PANES if spec.pane_id in ("overview", "logs")))


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.jsonl"
    write_log(path, [record(i) for i in range(N)])
    return path


async def loaded(pilot, app: ConsoleApp, count: int = N) -> None:
    """The records are in the buffer, on screen, and counted in the status line."""
    from cs_console.tui.panes.logs_status import compact

    await wait_for(pilot, lambda: len(pane(app).buffer) >= count)
    shown = f"buf {compact(len(pane(app).buffer))}/"
    await wait_for(pilot, lambda: not pane(app)._dirty and shown in (pane(app)._status_text or ""))
    await pilot.pause(0.05)


@pytest.mark.parametrize("size", SIZES)
async def test_opens_following_the_newest_record(log_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        rows = [r for r in view_rows(app) if r]
        assert rows[-1].endswith(f"/functions/v1/item-{N - 1:04d}")
        view = app.query_one(LogView)
        assert view.follow and view.cursor == N - 1
        text = screen_text(app)
        assert "FOLLOW" in text and "buf 200/100k" in text
        # 120 columns show the date; 80 columns keep the time only
        assert ("2026-11-27 03:00:49.750" in rows[-1]) == (size[0] >= 100)


@pytest.mark.parametrize("size", SIZES)
async def test_filter_typed_applies_live(log_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        assert app.query_one(LogFilterBar).has_class("-open")
        await pilot.press(*"payment")
        await wait_for(pilot, lambda: pane(app).buffer.match_count == N // 10)
        await pilot.pause(0.3)
        rows = [r for r in view_rows(app) if r]
        assert rows and all("payment" in r for r in rows)
        assert f"{N // 10} match" in status(app)
        # the match is highlighted: its cells carry the match style, the rest do not
        view = app.query_one(LogView)
        strip = view.render_line(0)  # the oldest match: not the cursor row
        match_style = view._line_styles()["log-view--match"]
        highlighted = "".join(seg.text for seg in strip if seg.style is not None and seg.style.bgcolor == match_style.bgcolor)
        assert highlighted.lower() == "payment"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert not app.query_one(LogFilterBar).has_class("-open")
        assert app.focused is view
        assert "Enter keep" not in screen_text(app) and "/ payment" not in screen_text(app)  # the bar is gone


@pytest.mark.parametrize("size", SIZES)
async def test_bad_filter_shown_inline_and_old_results_stay(log_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash", *"payment")
        await wait_for(pilot, lambda: pane(app).buffer.match_count == N // 10)
        await pilot.pause(0.3)
        before = view_rows(app)
        await pilot.press("space", *'status>=abc')
        await pilot.pause(0.4)
        bar = app.query_one(LogFilterBar)
        assert bar.error is not None
        position, message = bar.error
        assert position == len("payment status>=")  # the caret points at the bad value
        assert '/ payment status>=abc' in screen_text(app)  # what was typed is on screen
        error_line = app.query_one("#filter-error").render().plain  # type: ignore[union-attr]
        assert "^" in error_line and "column" in error_line
        if size[0] >= 100:  # wide enough: the caret sits under the culprit
            assert error_line.index("^") == len("/ ") + position
        # nothing cleared: same matches, same rows, the previous filter still in force
        assert pane(app).buffer.match_count == N // 10
        assert view_rows(app) == before
        assert pane(app).typed_filter == "payment"
        # Enter on a bad filter keeps the bar open
        await pilot.press("enter")
        assert bar.has_class("-open")
        # fixing it applies it
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press(*"500")
        await wait_for(pilot, lambda: pane(app).typed_filter == "payment status>=500")
        assert bar.error is None and pane(app).buffer.match_count == 0
        # Esc restores the filter that was in force when the bar opened (none)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not bar.has_class("-open")
        assert pane(app).typed_filter == ""
        assert pane(app).buffer.match_count == N


@pytest.mark.parametrize("size", SIZES)
async def test_errors_only_and_warnings_toggles(log_file: Path, size: tuple[int, int]) -> None:
    errors = sum(1 for i in range(N) if record(i)["level"] == "error")
    warnings = sum(1 for i in range(N) if record(i)["level"] == "warning")
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("o")
        await pilot.pause(0.3)
        assert pane(app).buffer.match_count == errors
        rows = [r for r in view_rows(app) if r]
        assert rows and all(" ERROR " in r for r in rows)
        assert "errors only" in status(app)
        await pilot.press("W")  # warnings and above replaces errors only
        await pilot.pause(0.2)
        assert pane(app).buffer.match_count == errors + warnings
        assert "warn+" in status(app)
        await pilot.press("W")
        await pilot.pause(0.2)
        assert pane(app).buffer.match_count == N
        # a typed filter and the toggle combine (AND)
        await pilot.press("slash")
        app.query_one(LogFilterBar).input.value = "function=send-email"
        await pilot.press("enter", "o")
        await pilot.pause(0.3)
        expected = sum(1 for i in range(N) if record(i)["level"] == "error" and i % 2 == 0)
        assert pane(app).buffer.match_count == expected


@pytest.mark.parametrize("size", SIZES)
async def test_pause_counts_new_records_and_resume_follows(log_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("space")
        await pilot.pause(0.1)
        view = app.query_one(LogView)
        assert not view.follow
        assert "PAUSED" in status(app)
        before = view_rows(app)
        write_log(log_file, [record(i) for i in range(N, N + 30)], mode="a")
        await wait_for(pilot, lambda: len(pane(app).buffer) == N + 30)
        await pilot.pause(0.4)
        assert "PAUSED +30 new" in status(app)
        assert view_rows(app) == before  # the screen did not move
        assert view.cursor == N - 1
        await pilot.press("space")
        await pilot.pause(0.3)
        assert view.follow and "FOLLOW" in status(app) and "new" not in status(app)
        assert [r for r in view_rows(app) if r][-1].endswith(f"item-{N + 29:04d}")
        # moving the cursor up also pauses; End resumes
        await pilot.press("up")
        assert not view.follow
        await pilot.press("end")
        assert view.follow


@pytest.mark.parametrize("size", SIZES)
async def test_e_and_E_jump_between_errors(log_file: Path, size: tuple[int, int]) -> None:
    error_rows = [i for i in range(N) if record(i)["level"] == "error"]
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        view = app.query_one(LogView)
        await pilot.press("home")
        assert view.cursor == 0 and not view.follow
        await pilot.press("e")
        assert view.cursor == error_rows[0]
        await pilot.press("e")
        assert view.cursor == error_rows[1]
        await pilot.press("E")
        assert view.cursor == error_rows[0]
        # the cursor row is on screen and is the error line
        rows = view_rows(app)
        assert any(f"ERR-{error_rows[0]:04d}" in r for r in rows)
        await pilot.press("E")  # no earlier error: stays, says so
        assert view.cursor == error_rows[0]
        await pilot.press("end", "E")
        assert view.cursor == error_rows[-1]
        rows = view_rows(app)
        assert any(f"ERR-{error_rows[-1]:04d}" in r for r in rows)


@pytest.mark.parametrize("size", SIZES)
async def test_detail_view_opens_and_closes(log_file: Path, size: tuple[int, int]) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("home", "e", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, LogDetailScreen)
        text = screen_text(app)
        first_error = next(i for i in range(N) if record(i)["level"] == "error")
        # the known fields labelled, then the record's own fields as a key: value tree
        lines = text.splitlines()
        assert any(line.split("│")[1].split() == ["request", "id", f"req-{first_error:06d}", "⏎"] for line in lines if line.count("│") >= 2)
        assert any(line.split("│")[1].split() == ["level", "error", "⏎"] for line in lines if line.count("│") >= 2)
        assert any(line.split("│")[1].split() == ["status", "500", "⏎"] for line in lines if line.count("│") >= 2)
        assert f"message: ERR-{first_error:04d} upstream timeout" in text
        await pilot.press("c")
        copied = json.loads(app.clipboard)
        assert copied["raw"]["event_message"].startswith(f"ERR-{first_error:04d}")
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, LogDetailScreen)
        assert app.query_one(LogView).cursor == first_error


async def test_copy_line_uses_the_clipboard(log_file: Path) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await pilot.pause(0.1)
        assert app.clipboard.startswith("2026-11-27 03:00:49.750 INFO")
        assert app.clipboard.endswith(f"/functions/v1/item-{N - 1:04d}")


async def test_save_filtered_records_as_json_lines(log_file: Path) -> None:
    app = logs_app(log_file, filter_text="payment")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, LogSaveScreen)
        field = app.screen.query_one("#log-save-path")
        target = Path(field.value)  # type: ignore[attr-defined]
        assert "xdg-state" in str(target) and target.suffix == ".jsonl"
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        lines = [json.loads(line) for line in target.read_text().splitlines()]
        assert len(lines) == N // 10
        assert all("payment" in obj["message"] for obj in lines)
        assert lines[0]["raw"]["request_id"] == "req-000003"


async def test_wrap_and_local_time_toggles(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    write_log(path, [record(i, message="x" * 150 + f" END-{i}") for i in range(5)])
    app = logs_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 5)
        rows = [r for r in view_rows(app) if r]
        assert len(rows) == 5 and not any("END-" in r for r in rows)
        await pilot.press("w")
        await pilot.pause(0.1)
        rows = [r for r in view_rows(app) if r]
        assert len(rows) > 5 and sum("END-" in r for r in rows) == 5
        assert "wrap" in status(app)
        await pilot.press("t")
        assert "local" in status(app)


async def test_vanished_file_shows_in_status_and_pane_keeps_running(log_file: Path) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        log_file.unlink()
        await wait_for(pilot, lambda: "reappear" in status(app), timeout=5)
        assert app.is_running and len(pane(app).buffer) == N  # what we had stays
        write_log(log_file, [record(i) for i in range(N, N + 3)])
        await wait_for(pilot, lambda: len(pane(app).buffer) == N + 3)
        await wait_for(pilot, lambda: "reappear" not in status(app))


async def test_unknown_source_is_reported_not_fatal(tmp_path: Path) -> None:
    args = session_args()
    session = session_from_args(args)
    session.demo = None
    app = ConsoleApp(session, Environment(session=session, clock=SystemClock()), initial_pane="logs", pane_options={"source": "nope"}, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "unknown log source" in status(app))
        await pilot.press("slash", *"level>=warn", "enter", "space")
        assert app.is_running


async def test_hidden_pane_ingests_without_repainting(log_file: Path) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        view = app.query_one(LogView)
        repaints: list[int] = []
        original = view.lines_changed

        def counting() -> None:
            repaints.append(view.count)
            original()

        view.lines_changed = counting  # type: ignore[method-assign]
        await pilot.press("1")  # Overview
        write_log(log_file, [record(i) for i in range(N, N + 10)], mode="a")
        await wait_for(pilot, lambda: len(pane(app).buffer) == N + 10)
        await pilot.pause(0.4)
        assert all(count == N for count in repaints) and pane(app)._dirty  # ingested, not repainted
        await pilot.press("3")
        await pilot.pause(0.3)
        assert not pane(app)._dirty
        assert [r for r in view_rows(app) if r][-1].endswith(f"item-{N + 9:04d}")


async def test_keys_typed_right_after_slash_go_to_the_filter(log_file: Path) -> None:
    """Over SSH "/" and the filter often arrive in one packet: no key may be lost to a binding."""
    from textual import events

    app = logs_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        for key, char in [("slash", "/"), *[(c, c) for c in "payment"], ("enter", "\r")]:
            app.post_message(events.Key(key, char))  # queued at once, no pause in between
        await wait_for(pilot, lambda: pane(app).typed_filter == "payment" and not app.query_one(LogFilterBar).has_class("-open"))
        assert pane(app).buffer.match_count == N // 10
        assert app.query_one(LogView).follow  # "e" went to the input, not to next-error
        # inside the filter, "/" is text: a regex can be typed
        await pilot.press("slash", "ctrl+u", *"/pay.ent/", "enter")
        await wait_for(pilot, lambda: pane(app).typed_filter == "/pay.ent/")
        assert pane(app).buffer.match_count == N // 10


def supabase_log_store(fake_supabase):
    """Rows the loopback fake answers from, on both logs endpoints."""
    from tests.fake_supabase import LOGS_ALL, LOGS_CLICKHOUSE
    from tests.test_log_supabase import LogStore

    store = LogStore()
    fake_supabase.route(LOGS_ALL, store.bigquery)
    fake_supabase.route(LOGS_CLICKHOUSE, store.clickhouse)
    return store


def edge_logs_app(fake_supabase, dialect: str) -> ConsoleApp:
    """The Logs pane on the `edge` source of the fake, in the given log dialect."""
    from cs_console.backends.supabase.log_source import SupabaseLogHub

    hub = SupabaseLogHub(fake_supabase.client(log_dialect=dialect), SystemClock(), interval_s=0.1)
    session = session_from_args(session_args())
    session.demo = None
    env = Environment(session=session, clock=SystemClock())
    env.log_factories["edge"] = lambda **_: hub.source("edge")
    return ConsoleApp(session, env, initial_pane="logs", pane_options={"source": "edge"}, poll=False)


async def test_supabase_source_outage_shows_in_status_and_the_pane_recovers(fake_supabase) -> None:
    """The `edge` source over the loopback fake of the logs endpoint: a 503 run, then recovery."""
    from tests.fake_supabase import LOGS_ALL

    store = supabase_log_store(fake_supabase)
    store.add("edge_logs", datetime.now(timezone.utc) - timedelta(seconds=30), "GET | 200 | /rest/v1/conversations", status_code=200)
    app = edge_logs_app(fake_supabase, "bigquery")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(pane(app).buffer) == 1, timeout=10)
        fake_supabase.server_error(LOGS_ALL, 503, times=None)
        await wait_for(pilot, lambda: "⚠" in status(app) and "503" in status(app), timeout=10)
        assert app.is_running and len(pane(app).buffer) == 1  # what it had stays on screen
        assert any("/rest/v1/conversations" in row for row in view_rows(app))
        fake_supabase.clear_faults()
        store.add("edge_logs", datetime.now(timezone.utc) - timedelta(seconds=1), "GET | 500 | /rest/v1/after-the-outage", status_code=500)
        await wait_for(pilot, lambda: len(pane(app).buffer) == 2, timeout=15)
        await wait_for(pilot, lambda: "⚠" not in status(app), timeout=10)
        await pilot.pause(0.3)
        assert any("after-the-outage" in row for row in view_rows(app))


async def test_a_burst_is_coalesced_into_capped_repaints(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 lines in 20 bursts: repaints at least REPAINT_INTERVAL apart on the pane's clock.
    The clock and the deferred-repaint timer are the test's, so it holds on any machine."""
    from types import SimpleNamespace

    from cs_console.tui.panes import logs as logs_mod
    from cs_console.tui.panes import logs_source, logs_status
    from cs_console.tui.panes.logs_source import ARRIVAL_GRACE, REPAINT_INTERVAL
    from cs_console.tui.repaint_pacer import RepaintPacer

    app = logs_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        p = pane(app)
        view = app.query_one(LogView)
        now = [p._last_paint + 10.0]  # the pane's clock from here on, long after its last repaint
        for module in (logs_mod, logs_source, logs_status):  # the pane's three rooms read one clock
            monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=lambda: now[0]))
        repaints: list[float] = []  # the pane's clock at each repaint
        original = view.lines_changed

        def counting() -> None:
            repaints.append(now[0])
            original()

        view.lines_changed = counting  # type: ignore[method-assign]
        deferred: list[tuple[float, Callable[[], None]]] = []  # repaints the pane put off: (due, callback)
        real_set_timer = p.set_timer

        def set_timer(delay: float, callback: Callable[[], None] | None = None, *args: object, **kwargs: object) -> object:
            if callback == p._paint_pending:
                deferred.append((now[0] + delay, callback))
                return None
            return real_set_timer(delay, callback, *args, **kwargs)

        p.set_timer = set_timer  # type: ignore[method-assign]

        def advance(seconds: float) -> None:
            now[0] += seconds
            for due, callback in [d for d in deferred if d[0] <= now[0]]:
                deferred.remove((due, callback))
                callback()

        started = now[0]
        total = N
        for burst in range(20):  # 10,000 lines, a burst every 0.05 s of the pane's clock
            write_log(log_file, [record(i) for i in range(total, total + 500)], mode="a")
            total += 500
            await wait_for(pilot, lambda: len(p.buffer) == total, timeout=20)
            await pilot.pause()  # the arrival notices are handled
            advance(0.05)
        advance(RepaintPacer.longest + ARRIVAL_GRACE)  # the last put-off repaint (a flood: the longest interval)
        await pilot.pause()
        assert repaints, "the burst was shown"
        assert len(repaints) <= (now[0] - started) / REPAINT_INTERVAL + 1, repaints
        gaps = [b - a for a, b in zip(repaints, repaints[1:])]
        assert all(gap >= REPAINT_INTERVAL - 1e-9 for gap in gaps), gaps
        assert not deferred and not p._dirty
        assert [r for r in view_rows(app) if r][-1].endswith(f"item-{total - 1:04d}")


async def test_supabase_detail_fetches_the_attributes_of_that_record_only(fake_supabase) -> None:
    """ClickHouse lists without the attribute map: Enter on a line fetches it for that id."""
    from cs_console.tui.screens.log_detail import LogDetailScreen

    store = supabase_log_store(fake_supabase)
    row = store.add("edge_logs", datetime.now(timezone.utc) - timedelta(seconds=30), "GET | 503 | /rest/v1/conversations",
                    status_code=503, path="/rest/v1/conversations")
    app = edge_logs_app(fake_supabase, "clickhouse")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(pane(app).buffer) == 1, timeout=10)
        assert "log_attributes" not in pane(app).buffer.row(0).raw
        app.query_one(LogView).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogDetailScreen), timeout=10)
        shown = app.screen.record
        assert shown.status == 503 and "/rest/v1/conversations" in str(shown.raw["log_attributes"])
        detail_sql = [s for s in store.sqls if " id in (" in s]
        assert len(detail_sql) == 1 and f"'{row.id}'" in detail_sql[0]


async def test_a_filter_matching_nothing_says_so_not_no_records_yet(log_file: Path, tmp_path: Path) -> None:
    app = logs_app(log_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        pane(app).apply_filter("nosuchword")
        await wait_for(pilot, lambda: pane(app).buffer.match_count == 0)
        await pilot.pause(0.1)
        first = view_rows(app)[0]
        assert "no records yet" not in first
        assert first.startswith(f"no record matches nosuchword ({N} buffered)")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    app = logs_app(empty)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert view_rows(app)[0] == "no records yet"
