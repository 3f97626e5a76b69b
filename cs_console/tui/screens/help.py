"""F1 / ?: every binding of the console (after the [keymap] remaps), by pane and dialog."""

from __future__ import annotations

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

    def compose(self) -> ComposeResult:
        from cs_console.tui.app import ConsoleApp
        from cs_console.tui.binding_catalog import widget_binding_sections

        app = self.app
        assert isinstance(app, ConsoleApp)
        with VerticalScroll():
            yield Static(Content("cs-console help — Esc closes. Remap any key with [keymap] binding-id = \"key\" in the config."), classes="help-text")
            sections = app.all_binding_sources() + widget_binding_sections()
            for title, bindings in sections:
                if not bindings:
                    continue
                yield Static(Content(title), classes="help-section")
                yield Static(self._table(app, bindings))
            for cls in app._pane_classes:
                if cls.HELP:
                    yield Static(Content(f"{cls.TITLE} pane"), classes="help-section")
                    yield Static(Content(cls.HELP), classes="help-text")
            try:
                from cs_console.domain.log_filter import FILTER_HELP
            except ImportError:
                FILTER_HELP = ""
            if FILTER_HELP:
                yield Static(Content("Log filter language"), classes="help-section")
                yield Static(Content(FILTER_HELP), classes="help-text")

    @staticmethod
    def _table(app, bindings: list[Binding]) -> Content:
        lines: list[Content] = []
        for b in bindings:
            key = app.effective_key(b)
            shown = ", ".join(app.get_key_display(Binding(k.strip(), b.action)) for k in key.split(","))
            lines.append(Content.assemble((f"{shown:>14}", "bold $accent"), "  ", Content(b.description or b.action), (f"   [{b.id}]" if b.id else "", "$text-muted")))
        return Content("\n").join(lines)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
