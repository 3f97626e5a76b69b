"""The shell right after start and on pane switches: panes mounted one by one, quick keys,
quitting mid-mount, a pane that cannot load, and a footer that is not rebuilt needlessly."""

from __future__ import annotations

import dataclasses

import pytest

from cs_console.domain.clock import SystemClock
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.registry import PANES, PaneSpec
from cs_console.tui.widgets.console_footer import ConsoleFooter
from tests.screen_text import screen_text, until
from tests.sessions import session_args


def bare_app(**kwargs) -> ConsoleApp:
    args = session_args()
    session = session_from_args(args)
    session.demo = None
    return ConsoleApp(session, Environment(session=session, clock=SystemClock()), **kwargs)


@pytest.mark.parametrize("after", [0.0, 0.05, 0.15, 0.3])
async def test_quitting_while_panes_mount_raises_nothing(after: float) -> None:
    app = bare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(after)
    # run_test re-raises any exception the app hit while shutting down


async def test_every_pane_gets_mounted_after_the_first_paint() -> None:
    app = bare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if len(app.panes) == len(PANES):
                break
            await pilot.pause(0.05)
        assert sorted(p.PANE_ID for p in app.panes) == sorted(s.pane_id for s in PANES)
        assert app.current_pane is not None and app.current_pane.PANE_ID == "overview"


async def test_a_digit_pressed_right_after_start_shows_its_pane() -> None:
    app = bare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: "Connection limit" in screen_text(app) and "q Quit" in screen_text(app).splitlines()[-1])
        assert app.current_pane.PANE_ID == "metrics" and "Connection limit" in screen_text(app)
        assert "a Alerts" not in screen_text(app).splitlines()[-1]  # the footer follows the focus
        # the pane mounted on demand has the focus, so its own keys work at once
        assert app.focused is not None and app.current_pane in app.focused.ancestors_with_self
        await pilot.press("f")
        await until(pilot, lambda: "Calls/min" in screen_text(app))
        assert "Calls/min" in screen_text(app)


async def test_a_pane_that_cannot_be_imported_is_reported_and_the_rest_works() -> None:
    app = bare_app()
    broken = PaneSpec("9", "broken", "Broken", "cs_console.tui.panes.no_such_module:Nothing")
    app._pane_specs = (*PANES[:2], broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("9")
        await pilot.pause(0.2)
        assert app.is_running and app.current_pane.PANE_ID == "overview"
        await pilot.press("2")
        await pilot.pause(0.3)
        assert app.current_pane.PANE_ID == "metrics"
        faults = [n.message for n in app._notifications if "could not be loaded" in n.message]
        assert len(faults) == 1 and "Broken" in faults[0]


async def test_footer_is_rebuilt_once_per_pane_switch_and_not_when_nothing_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = ConsoleFooter.recompose

    async def counting(self):  # type: ignore[no-untyped-def]
        calls.append(self.app.current_pane.PANE_ID if self.app.current_pane else "")
        return await original(self)

    monkeypatch.setattr(ConsoleFooter, "recompose", counting)
    app = bare_app(poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            if len(app.panes) == len(PANES):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        calls.clear()
        await pilot.press("2")
        await pilot.pause(0.5)
        assert 1 <= len(calls) <= 2, calls
        assert "a Alerts" not in screen_text(app).splitlines()[-1] and "q Quit" in screen_text(app).splitlines()[-1]
        calls.clear()
        await app.action_refresh_now()  # new data, same bindings
        await pilot.pause(0.3)
        assert calls == []


@pytest.mark.parametrize("after", [0.0, 0.05, 0.2])
async def test_quitting_right_after_asking_for_a_pane_raises_nothing(after: float) -> None:
    app = bare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")  # the Logs pane, mounted on demand
        await pilot.pause(after)


@pytest.mark.parametrize("theme", ["light", "high-contrast"])
async def test_the_chosen_theme_applies_without_reparsing_every_stylesheet(theme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.css.stylesheet import Stylesheet
    from textual.color import Color

    reparses: list[int] = []
    original = Stylesheet.reparse
    monkeypatch.setattr(Stylesheet, "reparse", lambda self: (reparses.append(1), original(self))[1])
    app = bare_app()
    app.session.profile = dataclasses.replace(app.session.profile, theme=theme)
    app = ConsoleApp(app.session, app.env)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.theme == theme and app.has_class(f"-theme-{theme}")
        assert app.screen.styles.background == Color.parse(app.current_theme.background)
        assert reparses == []


async def test_sources_are_wired_after_the_first_frame_without_a_false_warning() -> None:
    from tests.test_metrics_pane import DbOnlyProbe, DbOnlySource

    built: list[Environment] = []

    def factory() -> Environment:
        base = bare_app()
        env = Environment(session=base.session, clock=SystemClock(), metrics_sources=[DbOnlySource()], health_probes=[DbOnlyProbe()])
        built.append(env)
        return env

    template = bare_app()
    app = ConsoleApp(template.session, env_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        assert "no sources configured" not in screen_text(app)
        for _ in range(100):
            if "HEALTHY" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert built and app.env is built[0] and not app.environment_pending
        assert "Database        ✓ HEALTHY" in screen_text(app) and "no sources configured" not in screen_text(app)


async def test_a_wiring_error_after_the_first_frame_exits_2_with_one_line() -> None:
    def factory() -> Environment:
        raise ValueError("CS_CONSOLE_DEMO_ANCHOR: expected an ISO 8601 time")

    template = bare_app()
    app = ConsoleApp(template.session, env_factory=factory)
    messages: list[str] = []
    original_exit = app.exit
    app.exit = lambda *a, **k: (messages.append(str(k.get("message"))), original_exit(*a, **k))[1]  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
    assert app.return_code == 2
    assert messages == ["cs-console: CS_CONSOLE_DEMO_ANCHOR: expected an ISO 8601 time"]


def test_health_with_a_bad_demo_anchor_is_one_line() -> None:
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "cs_console", "health", "--demo"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CS_CONSOLE_DEMO_ANCHOR": "garbage"})
    assert out.returncode == 3 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert "CS_CONSOLE_DEMO_ANCHOR" in out.stderr


async def test_no_color_uses_the_terminals_own_colours_not_black_on_black(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = bare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Overview" in screen_text(app))
        assert app.theme == "ansi" and app.native_ansi_color
        # Monochrome made the ansi theme's "terminal default" colours black on black
        assert any(isinstance(f, NoColor) for f in app._filters) and not any(isinstance(f, Monochrome) for f in app._filters)
        styles = [seg.style for line in app.screen._compositor.render_strips() for seg in line if seg.style]
        for line in app.screen._compositor.render_strips():  # what the driver writes: filters applied
            for f in app._filters:
                line = line.apply_filter(f, app.screen.styles.background)
            for seg in line:
                if seg.style and seg.style.color is not None:
                    assert seg.style.color.is_default, seg
                if seg.style and seg.style.bgcolor is not None:
                    assert seg.style.bgcolor.is_default, seg
        assert styles
