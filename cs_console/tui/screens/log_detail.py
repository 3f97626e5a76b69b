"""Enter on a log line: every field of the record as pretty JSON, shown literally."""

from __future__ import annotations

import json
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text

# A 1 MB message is cut for the screen (the copy and the saved file keep more).
_SHOWN_LINE_MAX = 20_000
# OSC 52 payloads above ~100 kB are dropped by many terminals.
CLIPBOARD_MAX_CHARS = 74_000


def record_json(record: LogRecord, *, indent: int | None = 2, ascii_only: bool = False) -> str:
    """ascii_only: every non-ASCII character escaped, so the text is safe to paste anywhere."""
    return json.dumps(record.fields(), indent=indent, ensure_ascii=ascii_only, default=str)


def literal_json_text(record: LogRecord) -> Text:
    """Pretty JSON made safe line by line: JSON escapes C0 controls, not C1 or bidi ones."""
    lines = [safe_text(line, _SHOWN_LINE_MAX) for line in record_json(record).splitlines()]
    return Text("\n".join(lines), no_wrap=False)


class LogDetailScreen(ModalScreen[None]):
    """Log record detail: every field as JSON."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="logs.detail_close"),
        Binding("enter", "close", "Close", show=False, id="logs.detail_close_enter"),
        Binding("c", "copy", "Copy JSON", id="logs.detail_copy"),
    ]

    DEFAULT_CSS = """
    LogDetailScreen { align: center middle; }
    """

    def __init__(self, record: LogRecord, *, title: str = "") -> None:
        super().__init__()
        self.record = record
        self._title = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log-detail"):
            yield Static(Text(safe_text(self._title, 200)), id="log-detail-title")
            yield Static(literal_json_text(self.record), id="log-detail-json")

    def on_mount(self) -> None:
        self.query_one("#log-detail", VerticalScroll).border_subtitle = "Esc close · c copy JSON"
        self.query_one("#log-detail", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        text = record_json(self.record, ascii_only=True)
        cut = len(text) > CLIPBOARD_MAX_CHARS
        self.app.copy_to_clipboard(text[:CLIPBOARD_MAX_CHARS])
        note = f"copied the record as JSON ({min(len(text), CLIPBOARD_MAX_CHARS):,} chars{', cut' if cut else ''})"
        self.app.notify(note, timeout=3)
