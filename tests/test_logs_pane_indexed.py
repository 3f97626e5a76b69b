"""Pilot tests of the Logs pane on a file read through its line index (the wiring every
environment has: `Environment.indexed_log_opener`): no record per line in a buffer,
and the keys behave as on a buffered source (e / E, filters, follow, save)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cs_console.domain.clock import SystemClock
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.logs import LogsPane
from cs_console.tui.screens.log_save import LogSaveScreen
from cs_console.tui.widgets.log_view import LogView
from cs_console.wiring.local_logs import open_indexed_log, open_local_log
from tests.sessions import session_args
from tests.test_logs_pane import N, record, view_rows, wait_for, write_log


@pytest.fixture(autouse=True)
def only_overview_and_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.tui import app as app_module
    from cs_console.tui.panes.registry import PANES

    monkeypatch.setattr(app_module, "PANES", tuple(spec for spec in PANES if spec.pane_id in ("overview", "logs")))


def indexed_app(path: Path, filter_text: str = "") -> ConsoleApp:
    session = session_from_args(session_args())
    session.demo = None
    env = Environment(session=session, clock=SystemClock(), local_log_opener=open_local_log, indexed_log_opener=open_indexed_log)
    return ConsoleApp(session, env, initial_pane="logs", pane_options={"source": f"file:{path}", "filter": filter_text}, poll=False)


def pane(app: ConsoleApp) -> LogsPane:
    return app.query_one(LogsPane)


async def indexed(pilot, app: ConsoleApp, lines: int) -> None:
    await wait_for(pilot, lambda: pane(app)._indexed is not None and pane(app).lines.held >= lines and not pane(app)._dirty)
    await pilot.pause(0.1)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.jsonl"
    write_log(path, [record(i) for i in range(N)])
    return path


async def test_file_is_read_through_the_index_with_next_error_and_filters(log_file: Path) -> None:
    app = indexed_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await indexed(pilot, app, N)
        p = pane(app)
        assert len(p.buffer) == 0, "the file must not be copied into the buffer"
        assert p.lines.capacity is None and f"{N} lines" in p.status_content().plain
        assert view_rows(app)[-1].endswith(f"/functions/v1/item-{N - 1:04d}")
        view = app.query_one(LogView)
        # e from the newest: no later error; E jumps back to the last one (i % 20 == 7)
        await pilot.press("E")
        last_error = max(i for i in range(N) if i % 20 == 7)
        assert view.cursor == last_error and not view.follow
        await pilot.press("E")
        assert view.cursor == last_error - 20
        await pilot.press("e")
        assert view.cursor == last_error
        # the errors-only toggle and a typed filter, decided from the level array / raw bytes
        await pilot.press("o")
        errors = [i for i in range(N) if i % 20 == 7]
        assert p.lines.match_count == len(errors)
        assert p.lines.index.fields is not None and p.lines.parsed <= len(errors) + 40  # what is on screen, not every line
        await pilot.press("o", "slash", *"reconciled", "enter")
        assert p.lines.match_count == len([i for i in range(N) if i % 10 == 3 and i % 20 != 7])
        assert all("reconciled" in r for r in view_rows(app) if r)


async def test_follows_growth_truncation_and_rotation(log_file: Path, tmp_path: Path) -> None:
    app = indexed_app(log_file, "level>=warn")
    async with app.run_test(size=(100, 30)) as pilot:
        await indexed(pilot, app, N)
        p = pane(app)
        warn_up = sum(1 for i in range(N) if i % 20 == 7 or i % 9 == 4)
        assert p.lines.match_count == warn_up
        # growth: appended lines show up while following
        write_log(log_file, [record(N, level="error", message="GROWN-ONE")], mode="a")
        await wait_for(pilot, lambda: any("GROWN-ONE" in r for r in view_rows(app)))
        assert app.query_one(LogView).follow
        # truncation: the index starts again from 0
        write_log(log_file, [record(0, level="error", message="AFTER-TRUNCATE")])
        await wait_for(pilot, lambda: p.lines.match_count == 1 and any("AFTER-TRUNCATE" in r for r in view_rows(app)))
        assert p._indexed.truncations == 1
        # rotation: the path now names a new file; its lines are shown
        os.rename(log_file, tmp_path / "app.jsonl.1")
        write_log(log_file, [record(1, level="warning", message="NEW-FILE-LINE")])
        await wait_for(pilot, lambda: any("NEW-FILE-LINE" in r for r in view_rows(app)))
        assert p._indexed.rotations == 1 and "rotated 1×" in p._indexed.status().detail


async def test_unterminated_last_line_is_shown_once_the_file_settles(tmp_path: Path) -> None:
    path = tmp_path / "partial.jsonl"
    path.write_text(json.dumps(record(0)) + "\n" + json.dumps(record(1, message="NO-NEWLINE-YET")))
    app = indexed_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await indexed(pilot, app, 1)
        await wait_for(pilot, lambda: any("NO-NEWLINE-YET" in r for r in view_rows(app)), timeout=5)
        with path.open("a") as fh:
            fh.write(' and then some"}\n')  # it grows: indexed again, still one line
        await wait_for(pilot, lambda: pane(app).lines.line_count == 2 and pane(app).lines.index.end == path.stat().st_size)


async def test_save_writes_the_filtered_lines(log_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = indexed_app(log_file, "level>=error")
    async with app.run_test(size=(120, 40)) as pilot:
        await indexed(pilot, app, N)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, LogSaveScreen))
        target = tmp_path / "out.jsonl"
        app.screen.query_one("Input").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: target.exists())
        saved = [json.loads(line) for line in target.read_text().splitlines()]
        assert [s["request_id"] for s in saved] == [f"req-{i:06d}" for i in range(N) if i % 20 == 7]


async def test_detail_opens_on_an_indexed_line(log_file: Path) -> None:
    from cs_console.tui.screens.log_detail import LogDetailScreen

    app = indexed_app(log_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await indexed(pilot, app, N)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogDetailScreen))
        assert f"req-{N - 1:06d}" in json.dumps(app.screen.record.fields())
