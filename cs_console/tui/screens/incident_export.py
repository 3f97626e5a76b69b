"""Export the post-mortem: Markdown or JSON, to a file (default under the state dir)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static


class IncidentExportScreen(ModalScreen[tuple[str, Path] | None]):
    """Export the post-mortem: pick the format, Enter on the path writes it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="incident_export.cancel")]

    def __init__(self, ref: str, default_md: Path, default_json: Path) -> None:
        super().__init__()
        self._ref = ref
        self._defaults = {"md": default_md, "json": default_json}
        self._fmt = "md"

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog") as box:
            box.border_title = f"{self._ref}: export post-mortem"
            with RadioSet(id="inc-export-format"):
                yield RadioButton("Markdown (blameless post-mortem)", value=True, id="fmt-md")
                yield RadioButton("JSON (incident, timers and every event)", id="fmt-json")
            yield Input(value=str(self._defaults["md"]), id="inc-export-path")
            yield Static(Content("Times are UTC. Enter writes the file. Esc cancels."), classes="inc-hint")
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        path = self.query_one("#inc-export-path", Input)
        path.focus()
        path.cursor_position = len(path.value)

    @on(RadioSet.Changed, "#inc-export-format")
    def _format(self, event: RadioSet.Changed) -> None:
        new = "json" if event.pressed.id == "fmt-json" else "md"
        path = self.query_one("#inc-export-path", Input)
        if path.value == str(self._defaults[self._fmt]):
            path.value = str(self._defaults[new])
        self._fmt = new

    @on(Input.Submitted, "#inc-export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.query_one(".inc-error", Static).update(Content("give a file name"))
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self.query_one(".inc-error", Static).update(Content(f"{path} is a directory"))
            return
        self.dismiss((self._fmt, path))

    def action_cancel(self) -> None:
        self.dismiss(None)
