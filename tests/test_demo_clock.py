"""The demo's clock drives the demo at any --speed: staleness, incidents (issue 13, point 8)."""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.domain.clock import FixedClock, SystemClock, clock_rate, poll_interval
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.wiring.demo import build_demo_environment
from tests.demo_app import ANCHOR, play
from tests.screen_text import screen_text
from tests.sessions import session_args


def fast_demo_app(speed: float) -> ConsoleApp:
    session = session_from_args(session_args(demo=True, scenario="calm", seed=7, speed=speed))
    env = build_demo_environment(session, one_shot=False, anchor=ANCHOR, real_time=False)
    return ConsoleApp(session, env, poll=False)


def test_clock_rate() -> None:
    assert clock_rate(SystemClock()) == 1.0 and clock_rate(FixedClock(ANCHOR)) == 1.0
    session = session_from_args(session_args(demo=True, speed=25))
    assert clock_rate(build_demo_environment(session, one_shot=True, anchor=ANCHOR, real_time=False).clock) == 25.0


async def test_health_is_stale_only_when_it_is_stale_at_speed_10() -> None:
    app = fast_demo_app(10)
    async with app.run_test(size=(120, 40)) as pilot:
        await play(app, 30, 15)
        # The profile's 10 s are simulated time: at x10 the console polls health every wall second.
        assert poll_interval(app.session.profile.refresh["health"], app.env.clock) == app.session.profile.refresh["health"] / 10
        assert poll_interval(2.0, app.env.clock) == 0.5 and poll_interval(2.0, SystemClock()) == 2.0  # floor; live unchanged
        # 100 simulated seconds (10 wall seconds, ten health polls' worth) without health: not yet stale.
        app.env.clock.advance(100)  # type: ignore[attr-defined]
        await app.monitor.refresh_metrics()
        app._live_changed()
        await pilot.pause(0.2)
        assert "health stale" not in screen_text(app)
        # Past 15 wall seconds (150 simulated) with no health answer: stale, and said so.
        app.env.clock.advance(60)  # type: ignore[attr-defined]
        await app.monitor.refresh_metrics()
        app._live_changed()
        await pilot.pause(0.2)
        assert "health stale" in screen_text(app)


async def test_runbook_incident_timeline_uses_the_demo_clock() -> None:
    from cs_console.services.runbooks.catalog import load_catalog
    from cs_console.wiring.runbooks import open_engine

    session = session_from_args(session_args(demo=True, speed=50))
    env = build_demo_environment(session, one_shot=True, anchor=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), real_time=False)
    engine = open_engine(session, load_catalog().get("morning-health-check"), environment=env)
    try:
        service = await engine._open_incidents()  # type: ignore[misc]
        assert service.clock.now() == env.clock.now() == datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
        await service.close()
    finally:
        await engine.close()
        await env.aclose()
