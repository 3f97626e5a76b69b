"""Asked before `q` quits while something is in progress (a runbook run, a dialog).

A single stray `q` quit the whole console from the runbook wizard mid-run. Stay is
focused, so Enter or a repeated key never quits; `y` (or the Quit button) does.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cs_console.domain.safe_text import safe_text


class QuitConfirmScreen(ModalScreen[bool]):
    """Quit while something is in progress?"""

    AUTO_FOCUS = "#qc-stay"
    BINDINGS = [
        Binding("y", "quit_now", "Quit", id="quit_confirm.yes"),
        Binding("n,escape,q", "stay", "Stay", id="quit_confirm.no"),
    ]
    DEFAULT_CSS = """
    QuitConfirmScreen { align: center middle; }
    QuitConfirmScreen > Vertical {
        width: 64; max-width: 95%; height: auto; padding: 1 2;
        background: $surface; border: round $warning;
    }
    QuitConfirmScreen #qc-buttons { height: auto; margin-top: 1; }
    QuitConfirmScreen Button { margin-right: 2; }
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("Quit cs-console?"), classes="qc-title")
            yield Static(Content(safe_text(self.reason, 300)))
            yield Static(Content("y quits · n, Esc or Enter on Stay stays"))
            with Horizontal(id="qc-buttons"):
                yield Button("Stay", id="qc-stay", variant="primary")
                yield Button("Quit", id="qc-quit", variant="warning")

    @on(Button.Pressed, "#qc-stay")
    def action_stay(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#qc-quit")
    def action_quit_now(self) -> None:
        self.dismiss(True)


def quit_or_ask(app: Any) -> None:
    """Exit now, or ask first when a screen says why not (`quit_warning()`) or a dialog is open."""
    reasons = [r for s in app.screen_stack if (r := getattr(s, "quit_warning", lambda: "")())]
    if isinstance(app.screen, ModalScreen) and not reasons:
        reasons = ["a dialog is open: what it holds is not saved"]
    if not reasons or isinstance(app.screen, QuitConfirmScreen):
        app.exit()
        return
    app.push_screen(QuitConfirmScreen(reasons[0]), lambda ok: app.exit() if ok else None)
