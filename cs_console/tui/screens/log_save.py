"""Where to save the filtered log records: a path prompt with a default in the state dir."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cs_console.domain.safe_text import safe_text


def check_save_path(text: str) -> tuple[Path | None, str | None]:
    """(path, None) when the path can be written, else (None, why not)."""
    text = text.strip()
    if not text:
        return None, "give a file name"
    path = Path(text).expanduser()
    if path.is_dir():
        return None, f"{safe_text(str(path), 120)} is a directory"
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        return None, f"{safe_text(str(parent), 120)} is not a directory"
    return path, None


class LogSaveScreen(ModalScreen[Path | None]):
    """Save filtered log records: Enter saves, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="logs.save_cancel")]

    DEFAULT_CSS = """
    LogSaveScreen { align: center middle; }
    """

    def __init__(self, default_path: Path, count: int) -> None:
        super().__init__()
        self._default = default_path
        self._count = count
        self._confirm_overwrite: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="log-save"):
            yield Static(Text(f"Save {self._count:,} filtered records as JSON lines to:"))
            yield Input(value=str(self._default), id="log-save-path")
            yield Static(id="log-save-error")

    def on_mount(self) -> None:
        field = self.query_one("#log-save-path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#log-save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path, error = check_save_path(event.value)
        if path is not None and path.exists() and self._confirm_overwrite != path:
            self._confirm_overwrite = path
            error = "the file exists: Enter again to overwrite it"
        if error is not None or path is None:
            self.query_one("#log-save-error", Static).update(Text(error or ""))
            return
        self.dismiss(path)

    @on(Input.Changed, "#log-save-path")
    def _changed(self, event: Input.Changed) -> None:
        self._confirm_overwrite = None
        self.query_one("#log-save-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)
