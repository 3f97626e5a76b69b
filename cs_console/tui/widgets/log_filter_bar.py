"""The filter bar of the Logs pane: the filter applies as you type.

Typing is debounced; each pause re-parses the text. A filter that does not
parse is shown on the line below with a caret under the offending character,
and is NOT applied: the previous valid filter stays in force, so what is on
screen never disappears because of a typo.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static

from cs_console.domain.log_filter_completion import complete, value_words
from cs_console.domain.safe_text import safe_text

DEBOUNCE_SECONDS = 0.15
_PROMPT = "/ "
# Shown under the input while the filter parses: the row is always there, so an
# error appearing never moves the log lines above.
HINT = "Enter keep · Esc restore · ^u clear · Tab complete · ↑↓ history │ level>=warn function=NAME status>=500 \"phrase\" since=1h"


def parse_filter_text(text: str) -> tuple[Any | None, tuple[int, str] | None]:
    """(compiled filter, None) or (None, (position, message)) for a bad filter."""
    from cs_console.domain.log_filter import FilterError, parse_filter

    try:
        return parse_filter(text), None
    except FilterError as exc:
        position = getattr(exc, "position", None)
        message = getattr(exc, "message", None) or str(exc)
        return None, (int(position) if position is not None else len(text), str(message))


class LogFilterBar(Widget):
    """Filter bar: type a filter (applies as you type), Enter keeps it, Esc restores the previous one."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel filter edit", id="logs.filter_cancel"),
        Binding("ctrl+u", "clear", "Clear filter", show=False, id="logs.filter_clear"),
        Binding("tab", "complete", "Complete the word", show=False, id="logs.filter_complete"),
        Binding("up", "history(-1)", "Earlier filter", show=False, id="logs.filter_history_prev"),
        Binding("down", "history(1)", "Later filter", show=False, id="logs.filter_history_next"),
    ]

    DEFAULT_CSS = """
    LogFilterBar { height: auto; }
    LogFilterBar > Horizontal { height: 1; }
    LogFilterBar #filter-prompt { width: 2; height: 1; }
    LogFilterBar Input, LogFilterBar Input:focus { border: none; height: 1; padding: 0; width: 1fr; }
    LogFilterBar #filter-error { height: 1; }
    """

    class Changed(Message):
        """A filter that parses: apply it (`text` may be empty: no filter)."""

        def __init__(self, bar: "LogFilterBar", text: str, compiled: Any) -> None:
            super().__init__()
            self.bar = bar
            self.text = text
            self.compiled = compiled

        def can_replace(self, message: Message) -> bool:
            # Only the newest text matters when several are queued.
            return isinstance(message, LogFilterBar.Changed) and message.bar is self.bar

    class Closed(Message):
        """The bar closed: `accepted` is False after Esc (the previous filter is back)."""

        def __init__(self, bar: "LogFilterBar", accepted: bool) -> None:
            super().__init__()
            self.bar = bar
            self.accepted = accepted

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.applied_text = ""  # the last text that parsed (what is in force)
        self._text_at_open = ""
        self._timer: Timer | None = None
        self.error: tuple[int, str] | None = None
        # Set by the pane: earlier filters (oldest first, kept across sessions) and the values
        # Tab offers per field (log_filter_completion.value_words).
        self.history: list[str] = []
        self.values: dict[str, tuple[str, ...]] = {}
        self._history_at: int | None = None

    def on_mount(self) -> None:
        with self.prevent(Input.Changed):  # set before the input existed (the pane mounts first)
            for field in self.query("#filter-input").results(Input):  # none when torn down mid-mount (exit)
                field.value = self.applied_text
        self._show_error(self.error)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(Text(_PROMPT), id="filter-prompt")
            yield Input(placeholder="level>=warn function=NAME status>=500 word \"phrase\" /regex/ -exclude since=1h", id="filter-input", select_on_focus=False)
        yield Static(id="filter-error")

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    def open(self) -> None:
        """Show the bar with the filter in force, cursor at its end."""
        self._text_at_open = self.applied_text
        self._history_at = None
        # (Shown by the pane's "-open" class: an inline display would outlive it.)
        # Focus now, not after the next refresh (Widget.focus defers it): keys
        # typed right after "/" (one SSH packet) must land in the input, not
        # trigger the log view's bindings.
        self.screen.set_focus(self.input)
        self.input.cursor_position = len(self.input.value)

    def set_applied(self, text: str) -> None:
        """The filter in force (e.g. from --filter) without emitting Changed."""
        self.applied_text = text
        inputs = self.query("#filter-input").results(Input)
        with self.prevent(Input.Changed):
            for field in inputs:  # none yet while the bar is being composed: on_mount sets it
                field.value = text
        self._show_error(None)

    @on(Input.Changed, "#filter-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._apply_typed)

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_typed()
        if self.error is None:  # a bad filter keeps the bar open, with its error shown
            self.post_message(self.Closed(self, accepted=True))

    def _apply_typed(self) -> None:
        self._timer = None
        text = self.input.value
        compiled, error = parse_filter_text(text)
        if error is not None:
            self._show_error(error)
            return
        self._show_error(None)
        if text != self.applied_text:
            self.applied_text = text
            self.post_message(self.Changed(self, text, compiled))

    def _show_error(self, error: tuple[int, str] | None) -> None:
        self.error = error
        self.set_class(error is not None, "-invalid")
        shown = self.query("#filter-error").results(Static)
        target = next(shown, None)
        if not self.is_mounted or target is None:
            return
        if error is None:
            target.update(Text(HINT))
            return
        position, message = error
        input_widget = self.input
        offset = int(input_widget.scroll_offset.x) if input_widget.is_mounted else 0
        column = len(_PROMPT) + position - offset
        width = max(10, self.size.width or 80)
        line = Text()
        note = f"^ column {position + 1}: {safe_text(message, 200)}"  # the column first: long messages get cut
        if 0 <= column < width - 1:
            line.append(" " * column)
        line.append(note, style="")
        target.update(line)

    def action_cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.applied_text != self._text_at_open:
            compiled, error = parse_filter_text(self._text_at_open)
            if error is None:
                self.applied_text = self._text_at_open
                self.post_message(self.Changed(self, self._text_at_open, compiled))
        self.set_applied(self.applied_text)
        self.post_message(self.Closed(self, accepted=False))

    def action_complete(self) -> None:
        field = self.input
        done = complete(field.value, field.cursor_position, self.values or value_words({}))
        if done.text != field.value:
            field.value = done.text
            field.cursor_position = done.cursor
        if done.options:
            target = next(self.query("#filter-error").results(Static), None)
            if target is not None:
                target.update(Text(safe_text("Tab: " + "  ".join(done.options[:12]) + ("  …" if len(done.options) > 12 else ""), 300)))

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        at = len(self.history) if self._history_at is None else self._history_at
        at = max(0, min(len(self.history), at + step))
        self._history_at = at
        self.input.value = self.history[at] if at < len(self.history) else self._text_at_open
        self.input.cursor_position = len(self.input.value)

    def action_clear(self) -> None:
        self.input.value = ""
