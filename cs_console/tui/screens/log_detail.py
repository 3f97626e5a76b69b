"""Enter on a log line: the record's known fields labelled, and its nested JSON as a tree.

The fields (time, level, source, ip, user, function, status, method, path, request id)
come first; Enter (or f) on one closes the dialog with the filter term for it, and the
Logs pane adds it to its filter (Esc there comes back to the filter before). Below, the
message and the source's own fields as `key: value` lines, indented, a JSON message kept
as text expanded in place. Every value is untrusted: made safe and shown literally.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.log_record import LogRecord
from cs_console.domain.log_record_fields import ShownField, known_fields, record_tree
from cs_console.domain.safe_text import safe_text
from cs_console.tui.screens.log_groups import filter_term

# A 1 MB message is cut for the screen (the copy and the saved file keep more).
_SHOWN_LINE_MAX = 20_000
_FIELD_VALUE_MAX = 300
# OSC 52 payloads above ~100 kB are dropped by many terminals.
CLIPBOARD_MAX_CHARS = 74_000
_LABEL_WIDTH = 11


def record_json(record: LogRecord, *, indent: int | None = 2, ascii_only: bool = False) -> str:
    """ascii_only: every non-ASCII character escaped, so the text is safe to paste anywhere."""
    return json.dumps(record.fields(), indent=indent, ensure_ascii=ascii_only, default=str)


def literal_tree_text(record: LogRecord) -> Text:
    """The record's tree, one safe line per key (values cut for the screen, never markup)."""
    lines = []
    for depth, key, value in record_tree(record):
        indent = "  " * depth
        key_text = safe_text(key, 200)
        if value == "":
            lines.append(f"{indent}{key_text}:")
        else:
            lines.append(f"{indent}{key_text}: {safe_text(value, _SHOWN_LINE_MAX)}" if key_text else f"{indent}{safe_text(value, _SHOWN_LINE_MAX)}")
    return Text("\n".join(lines), no_wrap=False)


def _field_option(shown: ShownField) -> Option:
    mark = "⏎" if shown.filter_field else " "
    return Option(Content.assemble(
        (f"{shown.label:<{_LABEL_WIDTH}}", "$text-muted"), Content(safe_text(shown.value, _FIELD_VALUE_MAX)),
        (f"  {mark}", "$text-muted"),
    ))


class LogDetailScreen(ModalScreen[str | None]):
    """Log record detail: the known fields, then the record as a key: value tree.

    Dismissed with a filter term (`ip=…`) when a field is chosen, else None."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="logs.detail_close"),
        Binding("enter", "close", "Close", show=False, id="logs.detail_close_enter"),
        Binding("f", "filter_field", "Filter by field", id="logs.detail_filter"),
        Binding("c", "copy", "Copy JSON", id="logs.detail_copy"),
    ]

    DEFAULT_CSS = """
    LogDetailScreen { align: center middle; }
    LogDetailScreen #log-detail-fields { height: auto; max-height: 12; border: none; padding: 0; background: $surface; }
    LogDetailScreen #log-detail-tree-box { height: 1fr; }
    LogDetailScreen .log-detail-head { color: $text-muted; text-style: bold; }
    """

    def __init__(self, record: LogRecord, *, title: str = "") -> None:
        super().__init__()
        self.record = record
        self._title = title
        self.fields = known_fields(record)

    def compose(self) -> ComposeResult:
        with Vertical(id="log-detail"):
            yield Static(Text(safe_text(self._title, 200)), id="log-detail-title")
            yield OptionList(*[_field_option(f) for f in self.fields], id="log-detail-fields")
            yield Static(Content("Message and fields"), classes="log-detail-head")
            with VerticalScroll(id="log-detail-tree-box"):
                yield Static(literal_tree_text(self.record), id="log-detail-tree")

    def on_mount(self) -> None:
        self.query_one("#log-detail", Vertical).border_subtitle = "⏎/f filter by field · Tab tree · c copy JSON · Esc close"
        fields = self.query_one("#log-detail-fields", OptionList)
        # The first field an on-call reader filters by: who (ip, user), then what.
        order = {name: rank for rank, name in enumerate(("ip", "user", "function", "request_id", "status", "level", "source"))}
        chosen = sorted((order.get(f.filter_field, 99), i) for i, f in enumerate(self.fields) if f.filter_field)
        first = chosen[0][1] if chosen else None
        if first is not None:
            fields.highlighted = first
            fields.focus()
        else:
            self.query_one("#log-detail-tree-box", VerticalScroll).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)

    def action_filter_field(self) -> None:
        index = self.query_one("#log-detail-fields", OptionList).highlighted
        if index is None:
            self.notify("select a field first (↑/↓)", severity="warning", timeout=3)
            return
        self._choose(index)

    def _choose(self, index: int) -> None:
        if not 0 <= index < len(self.fields):
            return
        shown = self.fields[index]
        if shown.filter_field is None:
            self.notify(f"{shown.label} is not a filter field (filter by ip, user, function, request id, status, level, source)",
                        severity="warning", timeout=4)
            return
        self.dismiss(filter_term(shown.filter_field, shown.value))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        text = record_json(self.record, ascii_only=True)
        cut = len(text) > CLIPBOARD_MAX_CHARS
        self.app.copy_to_clipboard(text[:CLIPBOARD_MAX_CHARS])
        note = f"copied the record as JSON ({min(len(text), CLIPBOARD_MAX_CHARS):,} chars{', cut' if cut else ''})"
        self.app.notify(note, timeout=3)
