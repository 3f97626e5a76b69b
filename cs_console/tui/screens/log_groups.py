"""g in the Logs pane: the filtered records counted by a field, and their matches per minute.

"Which IP, which account?" during a credential-stuffing attack is one key: the
counts open on `ip`; ←/→ (or the field's letter) switch to user, function, status...;
`/` (or x) asks for a regex and counts by its first named group, else its first group,
over the message text; Enter on a row adds `field=value` (for a regex, the value as
quoted text) to the filter and closes. The counting runs in a
worker over the newest records that match (at most COUNT_LIMIT, and it says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from cs_console.domain.log_grouping import GROUP_FIELDS, REGEX_FIELD, Grouping, RegexFieldError, group_by, per_minute, regex_field
from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sparkline import BARS

COUNT_LIMIT = 200_000
FIELD_ORDER = ("ip", "user", "function", "status", "level", "source", "request_id")
_KEYS = {"i": "ip", "u": "user", "f": "function", "s": "status", "l": "level", "o": "source", "r": "request_id"}
_BARS = " " + BARS  # a blank for no match at all, then the sparkline's bars
_SHOWN_GROUPS = 500


def histogram_line(bins: Sequence[int]) -> str:
    top = max(bins, default=0)
    if top == 0:
        return "·" * len(bins)
    return "".join(_BARS[0 if n == 0 else max(1, round(n / top * 8))] for n in bins)


def filter_term(field: str, value: str) -> str:
    """The filter term for one group: `field=value`, or the quoted text when it cannot be a value."""
    if value and all(c.isalnum() or c in "._-@:+/" for c in value) and "*" not in value:
        return f"{field}={value}"
    return '"' + value.replace('"', "") + '"'


def text_term(value: str) -> str:
    """The value as a quoted text term (the filter language's escapes: backslash, quote)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class LogGroupsScreen(ModalScreen[str | None]):
    """Counts of the filtered log records by field."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="log_groups.close"),
        Binding("enter", "choose", "Filter by it", id="log_groups.choose", priority=True),
        Binding("right,tab", "next_field", "Next field", id="log_groups.next"),
        Binding("left,shift+tab", "prev_field", "Previous field", id="log_groups.prev"),
        *[Binding(key, f"field('{name}')", f"By {name}", show=False, id=f"log_groups.by_{name}") for key, name in _KEYS.items()],
        Binding("slash,x", "ask_regex", "By regex group", id="log_groups.by_regex"),
    ]
    DEFAULT_CSS = """
    LogGroupsScreen { align: center middle; }
    LogGroupsScreen > Vertical {
        width: 96%; max-width: 120; height: 90%;
        background: $surface; border: round $primary; padding: 0 1;
    }
    LogGroupsScreen #lg-fields { color: $text-muted; }
    LogGroupsScreen #lg-histogram { color: $accent; }
    LogGroupsScreen DataTable { height: 1fr; }
    LogGroupsScreen #lg-regex { display: none; border: tall $primary; height: 3; }
    LogGroupsScreen #lg-regex.-open { display: block; }
    LogGroupsScreen #lg-regex-error { display: none; color: $error; height: auto; }
    LogGroupsScreen #lg-regex-error.-shown { display: block; }
    """

    def __init__(self, records: list[LogRecord], filter_text: str, now: datetime, *, more: bool = False, field: str = "ip") -> None:
        """records: the newest matching records, newest first; more: there were more than these."""
        super().__init__()
        self.records = records
        self.filter_text = filter_text
        self.now = now
        self.more = more
        self.field = field if field in GROUP_FIELDS else "ip"
        self.grouping: Grouping | None = None
        self.pattern = ""  # the regex counted by, once one was given
        self._regex_get = None

    def compose(self) -> ComposeResult:
        with Vertical():
            what = f"filter {self.filter_text!r}" if self.filter_text.strip() else "no filter"
            newest = f"the newest {len(self.records):,}" if self.more else f"{len(self.records):,}"
            yield Static(Content(safe_text(f"Counting {newest} records matching ({what})", 200)), id="lg-title")
            bins = per_minute(self.records, now=self.now)
            yield Static(Content(f"per minute, last 60 min (max {max(bins, default=0):,}/min): {histogram_line(bins)}"), id="lg-histogram")
            yield Static(id="lg-fields")
            yield Input(placeholder="regex with a group over the message, e.g. user (\\S+@\\S+)", id="lg-regex")
            yield Static(Content(""), id="lg-regex-error")
            yield DataTable(id="lg-table", cursor_type="row", zebra_stripes=True)
            yield Static(Content("Enter adds the row to the filter · ←/→ field (i u f s l o r, / regex) · Esc closes"), id="lg-keys")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("value", width=max(16, min(48, self.size.width - 46)))
        table.add_columns("count", "share", "per min", "last seen")
        table.focus()
        self._show_fields()
        self._count()

    def _show_fields(self) -> None:
        parts = [f"[{name}]" if name == self.field else name for name in FIELD_ORDER]
        parts.append(f"[/{safe_text(self.pattern, 60)}/]" if self.field == REGEX_FIELD else "/regex/")
        self.query_one("#lg-fields", Static).update(Content("by: " + "  ".join(parts)))

    @work(thread=True, exclusive=True, group="log-groups")
    def _count(self) -> None:
        grouping = group_by(self.records, self.field, get=self._regex_get if self.field == REGEX_FIELD else None)
        self.app.call_from_thread(self._show, grouping)

    def _show(self, grouping: Grouping) -> None:
        if grouping.field != self.field:
            return  # an older count, for a field no longer shown
        self.grouping = grouping
        table = self.query_one(DataTable)
        table.clear()
        for g in grouping.groups[:_SHOWN_GROUPS]:
            table.add_row(Content(safe_text(g.value, 80)), f"{g.count:,}", f"{g.share_pct:.1f} %", f"{g.per_min:,.1f}",
                          f"{g.last:%H:%M:%S}", key=g.value)
        notes = []
        what = "match of the regex" if self.field == REGEX_FIELD else self.field
        if grouping.without:
            notes.append(f"{grouping.without:,} without a {what}")
        if len(grouping.groups) > _SHOWN_GROUPS:
            notes.append(f"top {_SHOWN_GROUPS} of {len(grouping.groups):,} values shown")
        if not grouping.groups:
            notes.append(f"no record has a {what}")
        self.query_one(DataTable).border_subtitle = " · ".join(notes)

    def action_field(self, name: str) -> None:
        self._close_regex()
        if (name in GROUP_FIELDS or name == REGEX_FIELD) and name != self.field:
            self.field = name
            self._show_fields()
            self.query_one(DataTable).clear()
            self._count()

    def _step_field(self, step: int) -> None:
        at = FIELD_ORDER.index(self.field) if self.field in FIELD_ORDER else (len(FIELD_ORDER) if step > 0 else 0)
        self.action_field(FIELD_ORDER[(at + step) % len(FIELD_ORDER)])

    def action_next_field(self) -> None:
        self._step_field(1)

    def action_prev_field(self) -> None:
        self._step_field(-1)

    # ------------------------------------------------------------ regex group

    def action_ask_regex(self) -> None:
        box = self.query_one("#lg-regex", Input)
        box.add_class("-open")
        box.value = box.value or self.pattern
        box.focus()

    def _close_regex(self) -> None:
        box = self.query_one("#lg-regex", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            self.query_one("#lg-regex-error", Static).update(Content(""))
            self.query_one("#lg-regex-error", Static).remove_class("-shown")
            self.query_one(DataTable).focus()

    def _apply_regex(self, pattern: str) -> None:
        try:
            get = regex_field(pattern)
        except RegexFieldError as exc:
            error = self.query_one("#lg-regex-error", Static)
            error.update(Content(safe_text(str(exc), 200)))
            error.add_class("-shown")
            return
        self.pattern, self._regex_get = pattern, get
        self._close_regex()
        self.field = ""  # counted again even when it was already a regex
        self.action_field(REGEX_FIELD)

    def action_choose(self) -> None:
        box = self.query_one("#lg-regex", Input)
        if box.has_focus:  # Enter in the regex box (this binding has priority over the input)
            self._apply_regex(box.value)
            return
        table = self.query_one(DataTable)
        if self.grouping is None or not self.grouping.groups or table.row_count == 0:
            return
        value = self.grouping.groups[min(table.cursor_row, len(self.grouping.groups) - 1)].value
        self.dismiss(text_term(value) if self.field == REGEX_FIELD else filter_term(self.field, value))

    def action_close(self) -> None:
        if self.query_one("#lg-regex", Input).has_class("-open"):
            self._close_regex()  # Esc in the regex box: back to the counts
            return
        self.dismiss(None)
