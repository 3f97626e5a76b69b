"""The base class of every pane in the console.

A pane is one module under tui/panes/ plus one line in tui/panes/registry.py.
It declares its id, title and the digit that switches to it, its own
BINDINGS (each with an id, so `[keymap]` can remap it), and reacts to live
data only while it is visible (the app calls `refresh_live` on the visible pane,
and once more when a hidden pane is shown again).
"""

from __future__ import annotations

from typing import ClassVar, Protocol, cast, runtime_checkable

from textual.widget import Widget

from cs_console.tui.console_host import ConsoleHost


@runtime_checkable
class ClockTicked(Protocol):
    """A screen whose text follows the clock (ages, timers): the app ticks it once a second."""

    def clock_tick(self) -> None: ...


class Pane(Widget, can_focus=False):
    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""  # the digit that shows this pane
    HELP: ClassVar[str] = ""  # one paragraph for the help screen

    DEFAULT_CSS = """
    Pane { height: 1fr; width: 1fr; }
    """

    def __init__(self, *, options: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        # Options given on the command line for this pane (e.g. logs source and filter).
        self.options: dict = dict(options or {})

    def palette_commands(self) -> list[tuple[str, str, object]]:
        """(title, help, callback) entries this pane adds to the command palette."""
        return []

    @property
    def console(self) -> ConsoleHost:
        return cast(ConsoleHost, self.app)

    def refresh_live(self) -> None:
        """New live data is in `self.console.live`; redraw what depends on it."""

    def refresh_requested(self) -> None:
        """The operator asked for fresh data now (F5), after the live state was re-polled and
        `refresh_live` called: re-read what this pane reads by itself (none by default)."""

    def clock_tick(self) -> None:
        """A second has passed (the app's tick, only when polling): redraw what derives from time.

        Panes keep no wall-clock timer of their own, so with poll=False a pane is a
        function of the environment's clock and state.
        """

    def focus_default(self) -> None:
        """Put the focus where a keyboard user expects it when the pane is shown."""
        for child in self.query("*"):
            if child.focusable:
                child.focus()
                return
