"""Opening the full-screen console (the default command, `demo`, and `logs --tui`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cs_console.services.session import open_session_or_exit


WEB_DRIVER = "textual.drivers.web_driver:WebDriver"


def under_web_driver() -> bool:
    """True when textual-serve (or `textual serve`) runs us: the web driver talks over pipes, not a tty."""
    return os.environ.get("TEXTUAL_DRIVER", "") == WEB_DRIVER


def run_console(
    args: argparse.Namespace,
    *,
    force_demo: bool = False,
    initial_pane: str | None = None,
    pane_options: dict[str, Any] | None = None,
    local_only: bool = False,
) -> int:
    session = open_session_or_exit(args, force_demo=force_demo, local_only=local_only)
    if not sys.stdout.isatty() and not getattr(args, "_allow_no_tty", False) and not under_web_driver():
        print("cs-console: the console needs a terminal (use a subcommand such as `health` or `logs` in scripts)", file=sys.stderr)
        return 2
    from cs_console.wiring.environment import build_environment
    from cs_console.tui.app import ConsoleApp

    if initial_pane in (None, "overview"):
        # The sources are wired right after the first frame: their imports (0.1-0.15 s) need
        # not delay it. Other first panes (logs --tui) open their sources as they mount.
        app = ConsoleApp(session, env_factory=lambda: build_environment(session), pane_options=pane_options, freeze_gc=True)
    else:
        try:
            env = build_environment(session)
        except ValueError as exc:  # e.g. a malformed CS_CONSOLE_DEMO_ANCHOR: one line, no traceback
            print(f"cs-console: {exc}", file=sys.stderr)
            return 2
        app = ConsoleApp(session, env, initial_pane=initial_pane, pane_options=pane_options, freeze_gc=True)
    result = app.run()
    return app.return_code or int(result or 0)
