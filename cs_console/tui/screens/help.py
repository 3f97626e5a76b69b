"""F1 / ?: every binding of the console (after the [keymap] remaps), by pane and dialog."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Help: every key binding."""

    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", id="help.close"),
        Binding("f1", "dismiss_help", "Close", show=False, id="help.close_f1"),
        Binding("q", "dismiss_help", "Close", show=False, id="help.close_q"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%;
        background: $surface; border: round $primary; padding: 0 1;
    }
    HelpScreen .help-section { margin-top: 1; text-style: bold; color: $accent; }
    HelpScreen .help-text { color: $text-muted; }
    """

    def __init__(self, sections: list[tuple[str, list[Binding]]], pane_help: list[tuple[str, str]], key_text: Callable[[Binding], str]) -> None:
        """What to show, given by the app: the binding sections, each pane's help paragraph,
        and how a binding's (possibly remapped) key is displayed."""
        super().__init__()
        self._sections = sections
        self._pane_help = pane_help
        self._key_text = key_text

    def compose(self) -> ComposeResult:
        from cs_console.domain.log_filter import FILTER_HELP

        with VerticalScroll():
            yield Static(Content("cs-console help — Esc closes. Remap any key with [keymap] binding-id = \"key\" in the config."), classes="help-text")
            for title, bindings in self._sections:
                if not bindings:
                    continue
                yield Static(Content(title), classes="help-section")
                yield Static(self._table(bindings))
            for title, text in self._pane_help:
                if text:
                    yield Static(Content(f"{title} pane"), classes="help-section")
                    yield Static(Content(text), classes="help-text")
            yield Static(Content("Log filter language"), classes="help-section")
            yield Static(Content(FILTER_HELP), classes="help-text")

    def _table(self, bindings: list[Binding]) -> Content:
        lines: list[Content] = []
        for b in bindings:
            lines.append(Content.assemble((f"{self._key_text(b):>14}", "bold $accent"), "  ", Content(b.description or b.action), (f"   [{b.id}]" if b.id else "", "$text-muted")))
        return Content("\n").join(lines)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
