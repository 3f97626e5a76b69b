"""SVG snapshots of every pane at 80x24 and 120x40, on the demo with a frozen clock.

Each screen is a function of the environment's clock and state (no wall-clock
timer runs without polling); tests/snapshot_support.py pins the machine and
waits for conditions, so the same SVG comes out on any machine under any load.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.demo_app import demo_app, play
from tests.screen_text import screen_text
from tests.snapshot_support import SIZES, declare_incidents, incidents_listed, mount_done, pinned_machine, settle, tail_caught_up  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("pinned_machine")


@pytest.mark.parametrize("size", SIZES)
def test_overview(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        await play(app, 90, 15)
        await settle(pilot, lambda: mount_done(app) and "CRITICAL" in screen_text(app), what="overview")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_metrics(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="metrics")

    async def run_before(pilot: Any) -> None:
        await play(app, 120, 15)
        await settle(pilot, lambda: mount_done(app), what="metrics")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_logs(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion")

    async def run_before(pilot: Any) -> None:
        # The tail starts when the pane is first shown, with the history up to the clock's
        # now: the clock moves first, so the history is always the same.
        await play(app, 60, 15)
        await pilot.press("3")
        await settle(pilot, lambda: app.current_pane is not None and app.current_pane.id == "logs", what="logs shown")
        pane = app.query_one("#logs")
        # Caught up with the frozen clock: the history is in and painted.
        await settle(pilot, lambda: mount_done(app) and tail_caught_up(pane) and not pane._dirty and not pane._repaint_pending and not pane._status_pending, what="logs")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_incidents(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="incidents")
    declare_incidents(app)

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: mount_done(app) and incidents_listed(app, 3), what="incidents")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_runbooks(snap_compare: Any, size: tuple[int, int]) -> None:
    app = demo_app("connection-exhaustion", initial_pane="runbooks")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: mount_done(app) and app.query_one("#rb-list").option_count > 0, what="runbooks")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
