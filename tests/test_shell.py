"""The console shell without live sources: themes, keymap, help, palette, honesty, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cs_console.domain.clock import SystemClock
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.themes import choose_theme, load_themes
from tests.screen_text import screen_text, until
from tests.sessions import session_args


def bare_app(tmp_path: Path, config_text: str = "", **flags) -> ConsoleApp:
    args = session_args(**flags)
    if config_text:
        path = tmp_path / "config.toml"
        path.write_text(config_text)
        path.chmod(0o600)
        args.config = str(path)
    session = session_from_args(args)
    session.demo = None  # a live profile with nothing configured
    return ConsoleApp(session, Environment(session=session, clock=SystemClock()))


async def test_no_sources_is_honest(tmp_path: Path) -> None:
    app = bare_app(tmp_path, '[profiles.production]\nenvironment = "production"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "PRODUCTION" in text and "UNKNOWN" in text
        assert "no sources configured" in text


async def test_read_only_badge_and_production(tmp_path: Path) -> None:
    app = bare_app(tmp_path, '[profiles.production]\nenvironment = "production"\n', read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert "READ-ONLY" in screen_text(app)
        env_label = app.query_one("#hdr-env")
        assert env_label.has_class("env-production")


async def test_keymap_remaps_footer_and_help(tmp_path: Path) -> None:
    app = bare_app(tmp_path, '[keymap]\n"app.refresh" = "f6"\n')  # an unknown id: a config error (test_config.py)
    async with app.run_test(size=(120, 40)) as pilot:
        # A startup notice may sit over the footer's line for a moment: wait for the footer itself.
        await until(pilot, lambda: "f6 Refresh" in screen_text(app))
        assert "f5 Refresh" not in screen_text(app)
        await pilot.press("f1")
        await pilot.pause(0.2)
        help_text = screen_text(app)
        assert "[app.refresh]" in help_text and "f6" in help_text
        await pilot.press("escape")
        refreshed = []
        app.notify = lambda msg, **kw: refreshed.append(msg)  # type: ignore[method-assign]
        await pilot.press("f6")
        await pilot.pause(0.2)
        assert "refreshed" in refreshed


async def test_palette_lists_console_commands(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to Overview" in titles and "Go to Metrics" in titles and "Refresh now" in titles


async def test_digits_switch_panes(tmp_path: Path) -> None:
    app = bare_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.2)
        assert app.current_pane is not None and app.current_pane.PANE_ID == "metrics"
        await pilot.press("1")
        await pilot.pause(0.1)
        assert app.current_pane.PANE_ID == "overview"
        await pilot.press("9")  # no pane 9: nothing happens, nothing breaks
        assert app.current_pane.PANE_ID == "overview"


def test_themes_ship_and_no_color_picks_ansi(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_themes()
    assert {"dark", "light", "high-contrast", "ansi"} <= set(loaded.themes) and not loaded.warnings
    assert loaded.themes["ansi"].ansi is True
    assert choose_theme("", loaded.themes) == ("dark", None)
    assert choose_theme("light", loaded.themes) == ("light", None)
    name, warning = choose_theme("nope", loaded.themes)
    assert name == "dark" and "not available" in (warning or "")
    monkeypatch.setenv("NO_COLOR", "1")
    assert choose_theme("light", loaded.themes) == ("ansi", None)


def test_broken_theme_file_falls_back_with_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.tui import themes as themes_mod

    (tmp_path / "broken.toml").write_text('name = "broken"\n[colors]\nprimary = "not-a-colour"\n')
    (tmp_path / "syntax.toml").write_text("name = [\n")
    monkeypatch.setattr(themes_mod, "themes_dirs", lambda: [tmp_path])
    loaded = themes_mod.load_themes()
    assert "broken" not in loaded.themes and len(loaded.warnings) == 2
    assert choose_theme("broken", loaded.themes)[1]


async def test_broken_theme_warning_is_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = bare_app(tmp_path, theme="no-such-theme")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.theme == "dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "serve", "--demo", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 20
        body = b""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        assert b"cs-console" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_warns_when_not_loopback() -> None:
    from cs_console.commands.serve import LOOPBACK

    assert "127.0.0.1" in LOOPBACK and "0.0.0.0" not in LOOPBACK
    out = subprocess.run([sys.executable, "-m", "cs_console", "serve", "--host", "0.0.0.0", "--port", "1", "--config", "/nonexistent.toml"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "config error" in out.stderr


async def test_a_faulty_pane_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.tui.panes.overview import OverviewPane

    def boom(self) -> None:
        raise RuntimeError("pane bug")

    app = bare_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        monkeypatch.setattr(OverviewPane, "refresh_live", boom)
        await app.action_refresh_now()
        await app.action_refresh_now()
        await pilot.pause(0.1)
        assert app.is_running
        faults = [n.message for n in app._notifications if "pane fault" in n.message]
        assert len(faults) == 1 and "pane bug" in faults[0]
