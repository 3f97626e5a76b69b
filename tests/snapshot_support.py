"""What makes an SVG snapshot of the console the same on any machine under any load.

The app (demo_app: frozen clock, poll=False) draws only from the environment's
clock and state; a snapshot then needs the rest of the machine pinned and the
screen settled:
- `pinned_machine`: UTC local time (log lines show local time by default), a
  fixed operator name, and a relative state dir (paths shown in dialogs).
- `settle`: wait on conditions, never a fixed sleep: the background pane mounts
  done, every worker but the log tail finished, the caller's condition true;
  then cursors steady (a blink is a 0.5 s wall-clock timer) and no toasts
  (their timeouts are wall-clock too).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, TextArea

from cs_console.domain.incidents.severity import Severity
from tests.screen_text import screen_text

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

# Generous: on a loaded machine the pane mounts alone take seconds; a snapshot never
# needs more than a few seconds of the loop when the machine is idle.
SETTLE_TIMEOUT_S = 60.0
# Workers that run for the life of their pane (a followed log source never ends).
_LONG_LIVED_GROUPS = frozenset({"logs-ingest"})


# Where the state dir is shown to be: a dialog that offers a path shows this, never the
# test's temporary directory (its name changes with every run).
SHOWN_STATE_DIR = Path("/home/oncall/.local/state")


@pytest.fixture
def pinned_machine(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("CS_CONSOLE_ACTOR", "oncall")
    state = isolated_dirs / "xdg-state"

    def shown(path: Path) -> Path:
        return SHOWN_STATE_DIR / path.relative_to(state) if path.is_relative_to(state) else path

    from cs_console.services import incidents
    from cs_console.tui.panes.logs import LogsPane

    export_path, save_path = incidents.default_export_path, LogsPane.default_save_path
    monkeypatch.setattr(incidents, "default_export_path", lambda ref, fmt="md": shown(export_path(ref, fmt)))
    monkeypatch.setattr(LogsPane, "default_save_path", lambda pane: shown(save_path(pane)))
    yield isolated_dirs
    monkeypatch.undo()
    time.tzset()


def _busy_workers(app: Any, waiting: frozenset[str] = frozenset()) -> list[str]:
    return [f"{w.group}:{w.name}" for w in app.workers if not w.is_finished and w.group not in _LONG_LIVED_GROUPS | waiting]


def _steady_cursors(app: Any) -> None:
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                widget.cursor_blink = False


async def settle(pilot: Any, until: Callable[[], bool] = lambda: True, *, what: str = "the screen", waiting: frozenset[str] = frozenset()) -> None:
    """Wait until the app is idle and `until()` holds, then pin what still moves by itself.

    waiting: worker groups that wait on the dialog being shown (they finish when it closes).
    """
    app = pilot.app
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        await pilot.pause()
        try:
            ready = until()
        except Exception:  # noqa: BLE001 - a widget not mounted yet: not ready
            ready = False
        if ready and not _busy_workers(app, waiting):
            # Twice in a row: a finished worker may have posted one more message.
            await pilot.pause()
            await pilot._wait_for_screen()
            if until() and not _busy_workers(app, waiting):
                break
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not settle (busy: {_busy_workers(app, waiting)}); screen:\n{screen_text(app)}")
        await asyncio.sleep(0.02)
    _steady_cursors(app)
    app.clear_notifications()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def mount_done(app: Any) -> bool:
    """Every pane mounted (the app mounts the others one by one after the first paint)."""
    return len(app.panes) == len(app._pane_specs) and all(p.is_mounted for p in app.panes)


def tail_caught_up(logs_pane: Any) -> bool:
    """The Logs pane has every record up to the (frozen) clock: its history is all in."""
    source = getattr(logs_pane, "_source", None)
    lag = source.lag_seconds() if source is not None else None
    return lag is not None and lag < 1.0 and len(logs_pane.buffer) > 0


def declare_incidents(app: Any) -> None:
    """Three incidents at known times on the app's own (frozen) clock; the clock ends 40 min on."""

    async def declare() -> None:
        from cs_console.wiring.incidents import open_incident_service

        clock = app.env.clock
        service = await open_incident_service(app.session, clock=clock)
        try:
            p2 = await service.open(title="Storage uploads slow for EU users", severity=Severity.P2, summary="p95 upload time 4x normal", components=("Storage",))
            clock.advance(timedelta(minutes=12).total_seconds())  # type: ignore[attr-defined]
            p1 = await service.open(title="Database connections exhausted", severity=Severity.P1, summary="API 5xx on every write", components=("Database",))
            clock.advance(timedelta(minutes=3).total_seconds())  # type: ignore[attr-defined]
            await service.acknowledge(p1.ref)
            await service.add_note(p1.ref, "idle-in-transaction backends from the sync worker", pinned=True)
            clock.advance(timedelta(minutes=20).total_seconds())  # type: ignore[attr-defined]
            await service.record_update(p2.ref, "CDN purge running; uploads recovering")
            await service.open(title="Docs typo on the status page", severity=Severity.P3)
            clock.advance(timedelta(minutes=5).total_seconds())  # type: ignore[attr-defined]
        finally:
            await service.close()

    asyncio.run(declare())


def incidents_listed(app: Any, count: int) -> bool:
    pane = app.query_one("#incidents")
    return len(getattr(pane, "incidents", [])) == count and len(pane.query("IncidentRow")) == count
