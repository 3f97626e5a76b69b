"""A console on the demo with a fixed start and a frozen clock: deterministic screens.

Used by the pilot tests, the SVG snapshot tests and `python -m tests.make_screenshots`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.wiring.demo import build_demo_environment
from tests.sessions import session_args

ANCHOR = datetime(2026, 11, 27, 2, 58, 0, tzinfo=timezone.utc)


def demo_app(scenario: str = "connection-exhaustion", *, seed: int = 7, read_only: bool = False, initial_pane: str | None = None, pane_options: dict[str, Any] | None = None) -> ConsoleApp:
    session = session_from_args(session_args(read_only=read_only, demo=True, scenario=scenario, seed=seed))
    env = build_demo_environment(session, one_shot=False, anchor=ANCHOR, real_time=False)
    return ConsoleApp(session, env, initial_pane=initial_pane, pane_options=pane_options, poll=False)


async def play(app: ConsoleApp, seconds: float, step: float = 15.0) -> None:
    """Advance simulated time, refreshing metrics and health as the console would."""
    clock = app.env.clock
    elapsed = 0.0
    while elapsed < seconds:
        clock.advance(step)  # type: ignore[attr-defined]
        elapsed += step
        await app.monitor.refresh_metrics()
        await app.monitor.refresh_health()
    app._live_changed()
