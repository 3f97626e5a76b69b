"""The virtualised log view: one record per line, only the visible lines are rendered.

It reads straight from a `LogLines` provider (the buffer's filtered index): no
copy of the records is ever made, so 1,000,000 buffered records cost nothing
here. Every piece of record text goes through `safe_text` and is turned into
plain `Segment`s with styles from the component classes (theme variables in
logs.tcss): log data is never parsed as markup.

Scrolling is in records: `scroll_y` is the index of the top record. In wrap
mode a record may take several rows; the view then lays out only the records
that fit on screen, from the top (or from the bottom when following).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from math import ceil
from typing import Any, NamedTuple, Protocol

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.safe_text import safe_text

# What is shown of one message on its line; the detail view shows the rest.
DISPLAY_MAX_CHARS = 2000
_FUNCTION_COLUMN_MAX = 20
_STRIP_CACHE_SIZE = 600
_HSCROLL_STEP = 8

_LEVEL_LABELS: dict[Level, str] = {
    Level.DEBUG: "DEBUG",
    Level.INFO: "INFO ",
    Level.WARN: "WARN ",
    Level.ERROR: "ERROR",
    Level.FATAL: "FATAL",
}
_LEVEL_CLASSES: dict[Level, str] = {
    Level.DEBUG: "log-view--debug",
    Level.INFO: "log-view--info",
    Level.WARN: "log-view--warn",
    Level.ERROR: "log-view--error",
    Level.FATAL: "log-view--fatal",
}


class LogLines(Protocol):
    """What the view reads: the filtered records, by position (0 = oldest)."""

    def __len__(self) -> int: ...

    def record(self, index: int) -> LogRecord:
        """The record at this position of the filtered view."""
        ...

    def key(self, index: int) -> int:
        """A stable, increasing id of that record (survives drops and re-filters)."""
        ...

    def index_for_key(self, key: int) -> int:
        """Position of the first record whose key is >= `key` (len() if none)."""
        ...


class _EmptyLines:
    def __len__(self) -> int:
        return 0

    def record(self, index: int) -> LogRecord:
        raise IndexError(index)

    def key(self, index: int) -> int:
        raise IndexError(index)

    def index_for_key(self, key: int) -> int:
        return 0


Highlighter = Callable[[str], Sequence[tuple[int, int]]]


class _Row(NamedTuple):
    index: int  # position in the filtered view
    part: int  # which wrapped piece of that record (0 = first)


def format_timestamp(ts: datetime, *, utc: bool, with_date: bool) -> str:
    """`2024-11-27 05:06:58.123` (UTC) or the local time; date left out on narrow screens."""
    if not utc:
        ts = ts.astimezone()
    elif ts.tzinfo is not None and ts.utcoffset():
        ts = ts.astimezone(timezone.utc)
    clock = f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}.{ts.microsecond // 1000:03d}"
    if with_date:
        return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d} {clock}"
    return clock


# Sources whose name says nothing on every line (all records of a file are "file").
_QUIET_SOURCES = frozenset({"file", "stdin", ""})


def record_line_parts(record: LogRecord) -> tuple[str, str]:
    """(function column, message) of a record, both made safe for a terminal.

    The column holds the function, else the source (edge, auth, postgres: the
    `all` view mixes them); a failing status the message does not already
    mention goes in front of it.
    """
    column = record.function or ("" if record.source in _QUIET_SOURCES else record.source)
    function = safe_text(column, _FUNCTION_COLUMN_MAX * 2)
    message = safe_text(record.message, DISPLAY_MAX_CHARS)
    if record.status is not None and record.status >= 400 and str(record.status) not in message:
        message = f"{record.status} {message}"
    return function, message


def record_plain_line(record: LogRecord, *, utc: bool = True) -> str:
    """The line as plain text (what `copy` puts on the clipboard)."""
    function, message = record_line_parts(record)
    ts = format_timestamp(record.ts, utc=utc, with_date=True)
    parts = [ts, _LEVEL_LABELS.get(record.level, "INFO ").strip()]
    if function:
        parts.append(function)
    parts.append(message)
    return " ".join(parts)


class LogView(ScrollView, can_focus=True):
    """Log view: the records of the current filter, newest at the bottom."""

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, id="logs.cursor_up"),
        Binding("down", "cursor_down", "Down", show=False, id="logs.cursor_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="logs.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="logs.page_down"),
        Binding("home", "first", "Oldest", show=False, id="logs.first"),
        Binding("end", "last", "Newest + follow", show=False, id="logs.last"),
        Binding("left", "shift_left", "Scroll left", show=False, id="logs.left"),
        Binding("right", "shift_right", "Scroll right", show=False, id="logs.right"),
        Binding("enter", "open_detail", "Detail", id="logs.detail"),
    ]

    COMPONENT_CLASSES = {
        "log-view--timestamp",
        "log-view--function",
        "log-view--debug",
        "log-view--info",
        "log-view--warn",
        "log-view--error",
        "log-view--fatal",
        "log-view--match",
        "log-view--cursor",
        "log-view--empty",
    }

    DEFAULT_CSS = """
    LogView { overflow-x: hidden; overflow-y: auto; }
    """

    class FollowChanged(Message):
        """The user started or stopped following the newest records."""

        def __init__(self, view: "LogView", follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

    class DetailRequested(Message):
        """Enter on a record."""

        def __init__(self, view: "LogView", record: LogRecord) -> None:
            super().__init__()
            self.view = view
            self.record = record

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: LogLines = _EmptyLines()
        self._highlighter: Highlighter | None = None
        self.follow = True
        self.wrap = False
        self.utc = True
        self.empty_text = "no records yet"
        self._cursor = -1
        self._cursor_key: int | None = None
        self._top_key: int | None = None
        self._hscroll = 0
        self._function_width = 0
        self._strip_cache: OrderedDict[int, tuple[LogRecord, Strip]] = OrderedDict()
        self._style_key: object = None
        self._styles: dict[str, Style] = {}
        self._wrap_rows: list[_Row] | None = None
        self._wrap_rows_key: object = None
        # What the terminal shows of this widget: one strip per row, and per row
        # (text, style ids) to find the cells that change between two frames.
        self._frame: list[Strip] | None = None
        self._frame_sigs: list[tuple[str, str] | None] = []
        self._frame_size = Size(0, 0)
        self._style_ids: dict[Style | None, str] = {}
        self._thumb_key: object = None
        self._scrolling_internally = False

    def on_mount(self) -> None:
        install_trimmed_updates()

    # ------------------------------------------------------------ data

    def set_lines(self, lines: LogLines, highlighter: Highlighter | None = None) -> None:
        self._lines = lines
        self._highlighter = highlighter
        self._strip_cache.clear()
        self.lines_changed()

    def set_highlighter(self, highlighter: Highlighter | None) -> None:
        self._highlighter = highlighter
        self._strip_cache.clear()

    @property
    def count(self) -> int:
        return len(self._lines)

    @property
    def cursor(self) -> int:
        return self._cursor

    def cursor_record(self) -> LogRecord | None:
        if 0 <= self._cursor < len(self._lines):
            return self._lines.record(self._cursor)
        return None

    def lines_changed(self) -> None:
        """The provider changed (records appended, dropped, or re-filtered): repaint what differs."""
        count = len(self._lines)
        if self.follow or self._cursor_key is None:
            self._cursor = count - 1
            self._cursor_key = self._lines.key(count - 1) if count else None
        else:
            self._cursor = min(self._lines.index_for_key(self._cursor_key), count - 1)
            self._cursor_key = self._lines.key(self._cursor) if self._cursor >= 0 else None
        self._wrap_rows = None
        if self.follow:
            self._sync_virtual_size(count, lazy=True)
            self._set_top(self.max_scroll_y)
        else:
            self._sync_virtual_size(count, lazy=False)
            top = self._lines.index_for_key(self._top_key) if self._top_key is not None else 0
            self._set_top(min(top, self.max_scroll_y))
            self._remember_top()
        self._repaint()

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # ScrollView compares the compositor's virtual size (the viewport, for a
        # Line API widget) with ours (the record count): they never match, so any
        # layout anywhere (the header clock, every second) repainted the whole
        # scrollbar. Only a real change of size matters here.
        return super()._size_updated(size, self.virtual_size, container_size, layout)

    def _sync_virtual_size(self, count: int, *, lazy: bool) -> None:
        """The scroll range is the record count.

        While following, the view is pinned to the newest record whatever the
        range says, so the range is only updated when the scrollbar thumb would
        visibly move: a growing buffer then costs no scrollbar repaint per frame.
        """
        height = max(1, self.size.height)
        size = Size(self.size.width, count)
        if size == self.virtual_size:
            return
        if lazy and count > height and self.virtual_size.height > height and self.virtual_size.width == size.width:
            thumb = max(1.0, height * height / count)
            key = (int((height - thumb) * 8), ceil(thumb * 8))
            if key == self._thumb_key:
                return
            self._thumb_key = key
        self.virtual_size = size

    def _set_top(self, y: float) -> None:
        self._scrolling_internally = True
        try:
            self.set_scroll(None, max(0, y))
        finally:
            self._scrolling_internally = False

    def _remember_top(self) -> None:
        top = int(self.scroll_offset.y)
        self._top_key = self._lines.key(top) if 0 <= top < len(self._lines) else None

    def _top(self) -> int:
        if self.follow:
            return max(0, len(self._lines) - max(1, self.size.height))
        return int(self.scroll_offset.y)

    # ------------------------------------------------------------ modes

    def set_follow(self, follow: bool, *, notify: bool = False) -> None:
        if follow == self.follow:
            return
        self.follow = follow
        if not follow:
            self._leave_follow()
        self.lines_changed()
        if notify:
            self.post_message(self.FollowChanged(self, follow))

    def _leave_follow(self) -> None:
        """Pin the current screen: exact scroll range, top = what follow mode showed."""
        top = max(0, len(self._lines) - max(1, self.size.height))
        self._sync_virtual_size(len(self._lines), lazy=False)
        self._set_top(min(top, self.max_scroll_y))
        self._remember_top()

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._hscroll = 0
        self._strip_cache.clear()
        self._wrap_rows = None
        self._scroll_cursor_into_view()
        self._repaint()

    def set_utc(self, utc: bool) -> None:
        self.utc = utc
        self._strip_cache.clear()
        self._wrap_rows = None
        self._repaint()

    def jump_to(self, index: int) -> None:
        """Put the cursor on this record (stops following)."""
        count = len(self._lines)
        if not count:
            return
        index = max(0, min(index, count - 1))
        if self.follow:
            self.follow = False
            self._leave_follow()
            self.post_message(self.FollowChanged(self, False))
        self._cursor = index
        self._cursor_key = self._lines.key(index)
        self._scroll_cursor_into_view()
        self._repaint()

    # ------------------------------------------------------------ actions

    def _move(self, delta: int) -> None:
        if not len(self._lines):
            return
        target = max(0, self._cursor + delta)
        if delta > 0 and target >= len(self._lines) - 1 and not self.follow:
            # Moving past the newest record resumes following, as in `less +F`.
            self.set_follow(True, notify=True)
            return
        self.jump_to(target)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        if not self.follow:
            self._move(1)

    def action_page_up(self) -> None:
        self._move(-max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        if not self.follow:
            self._move(max(1, self.size.height - 1))

    def action_first(self) -> None:
        self.jump_to(0)

    def action_last(self) -> None:
        self.set_follow(True, notify=True)

    def action_shift_left(self) -> None:
        if not self.wrap and self._hscroll:
            self._hscroll = max(0, self._hscroll - _HSCROLL_STEP)
            self._repaint()

    def action_shift_right(self) -> None:
        if not self.wrap:
            self._hscroll += _HSCROLL_STEP
            self._repaint()

    def action_open_detail(self) -> None:
        record = self.cursor_record()
        if record is not None:
            self.post_message(self.DetailRequested(self, record))

    # ------------------------------------------------------------ mouse and scrolling

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.follow and len(self._lines) > self.size.height:
            self.follow = False
            self._leave_follow()
            self.post_message(self.FollowChanged(self, False))
        super()._on_mouse_scroll_up(event)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        # Not ScrollView's: that one repaints every row; the frame diff below
        # sends only the cells that changed.
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if self._scrolling_internally or self.follow or round(old_value) == round(new_value):
            # While following, the rows come from the record count, not from the
            # scroll position (which Textual re-validates after each resize of the range).
            return
        self._wrap_rows = None
        if not self.follow:
            self._remember_top()
        self._repaint()

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event.y)
        if row is not None:
            if row.index == self._cursor and event.chain >= 2:
                self.action_open_detail()
                return
            self.jump_to(row.index)

    def on_resize(self, event: events.Resize) -> None:
        self._strip_cache.clear()
        self._wrap_rows = None
        self._frame = None
        self._thumb_key = None
        self._sync_virtual_size(len(self._lines), lazy=False)
        if self.follow:
            self._set_top(self.max_scroll_y)
        else:
            self._scroll_cursor_into_view()
        self.refresh()

    # ------------------------------------------------------------ layout

    def _scroll_cursor_into_view(self) -> None:
        if self._cursor < 0 or self.follow:
            return
        height = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if self.wrap:
            rows = self._layout_rows()
            shown = [row.index for row in rows]
            complete = self._cursor in shown and (
                shown.count(self._cursor) == self._record_height(self._cursor) or rows[0].index == self._cursor
            )
            if complete:
                return
            top = self._cursor if self._cursor < top else self._top_for_bottom(self._cursor)
        elif self._cursor < top:
            top = self._cursor
        elif self._cursor >= top + height:
            top = self._cursor - height + 1
        else:
            return
        self._set_top(min(top, self.max_scroll_y))
        self._wrap_rows = None
        self._remember_top()

    def _record_height(self, index: int) -> int:
        width = max(1, self.scrollable_content_region.width)
        return max(1, -(-self._full_strip(index).cell_length // width))

    def _top_for_bottom(self, index: int) -> int:
        """The top record such that `index` ends on the last row (wrap mode)."""
        rows_left = max(1, self.size.height)
        top = index
        while top >= 0:
            rows_left -= self._record_height(top)
            if rows_left < 0:
                return min(index, top + 1)
            if rows_left == 0:
                return top
            top -= 1
        return 0

    def _layout_rows(self) -> list[_Row]:
        """Which record (and which wrapped piece) is on each screen row (wrap mode)."""
        count = len(self._lines)
        height = self.size.height
        top = int(self.scroll_offset.y)
        key = (count, top, height, self.scrollable_content_region.width, self.follow)
        if self._wrap_rows is not None and self._wrap_rows_key == key:
            return self._wrap_rows
        rows: list[_Row] = []
        if count:
            if self.follow or top >= self.max_scroll_y:
                index = count - 1
                while index >= 0 and len(rows) < height:
                    pieces = self._record_height(index)
                    rows[:0] = [_Row(index, part) for part in range(pieces)]
                    index -= 1
                rows = rows[-height:]
            else:
                index = top
                while index < count and len(rows) < height:
                    pieces = self._record_height(index)
                    rows.extend(_Row(index, part) for part in range(pieces))
                    index += 1
                rows = rows[:height]
        self._wrap_rows = rows
        self._wrap_rows_key = key
        return rows

    def _row_at(self, y: int) -> _Row | None:
        if self.wrap:
            rows = self._layout_rows()
            return rows[y] if 0 <= y < len(rows) else None
        index = self._top() + y
        return _Row(index, 0) if 0 <= index < len(self._lines) else None

    # ------------------------------------------------------------ styles and lines

    def _line_styles(self) -> dict[str, Style]:
        # rich_style walks every ancestor: worked out once, again only when the
        # styles change (notify_style_update) or the theme does.
        key = self.app.theme
        if key != self._style_key:
            base = self.rich_style
            styles = {"base": base}
            for name in self.COMPONENT_CLASSES:
                styles[name] = base + self.get_component_rich_style(name, partial=True)
            # The cursor is laid over the other styles, so it keeps only what it sets.
            styles["cursor-over"] = self.get_component_rich_style("log-view--cursor", partial=True)
            self._styles = styles
            self._style_key = key
            self._strip_cache.clear()
        return self._styles

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_key = None
        self._strip_cache.clear()
        self._frame = None

    def _full_strip(self, index: int) -> Strip:
        """The whole line of one record, without the cursor, uncut (cached)."""
        key = self._lines.key(index)
        record = self._lines.record(index)
        cached = self._strip_cache.get(key)
        if cached is not None and cached[0] is record:
            self._strip_cache.move_to_end(key)
            return cached[1]
        strip = self._build_strip(record)
        self._strip_cache[key] = (record, strip)
        if len(self._strip_cache) > _STRIP_CACHE_SIZE:
            self._strip_cache.popitem(last=False)
        return strip

    def _build_strip(self, record: LogRecord) -> Strip:
        styles = self._line_styles()
        base = styles["base"]
        with_date = self.scrollable_content_region.width >= 100
        ts = format_timestamp(record.ts, utc=self.utc, with_date=with_date)
        function, message = record_line_parts(record)
        level_style = styles[_LEVEL_CLASSES.get(record.level, "log-view--info")]
        segments: list[Segment] = [
            Segment(ts + " ", styles["log-view--timestamp"]),
            Segment(_LEVEL_LABELS.get(record.level, "INFO ") + " ", level_style),
        ]
        if len(function) > self._function_width < _FUNCTION_COLUMN_MAX:
            # The column widens to the longest name seen; older lines follow.
            self._function_width = min(len(function), _FUNCTION_COLUMN_MAX)
            self._strip_cache.clear()
        if self._function_width:  # blank when this record has none: messages stay aligned
            shown = function[: self._function_width]
            segments.append(Segment(shown.ljust(self._function_width) + " ", styles["log-view--function"]))
        spans = self._highlighter(message) if self._highlighter and message else ()
        if spans:
            match_style = styles["log-view--match"]
            at = 0
            for start, end in sorted(spans):
                start, end = max(start, at), min(end, len(message))
                if start >= end:
                    continue
                if start > at:
                    segments.append(Segment(message[at:start], base))
                segments.append(Segment(message[start:end], match_style))
                at = end
            if at < len(message):
                segments.append(Segment(message[at:], base))
        else:
            segments.append(Segment(message, base))
        return Strip(Segment.simplify(segments))

    def _row_strip(self, row: _Row | None, y: int, width: int) -> Strip:
        """One screen row, exactly `width` cells. Builds a single Strip: each one
        costs seven caches in Textual, and a following view builds every row
        several times a second."""
        styles = self._line_styles()
        if row is None:
            if y == 0 and not len(self._lines):
                return Strip([Segment(self.empty_text[:width].ljust(width), styles["log-view--empty"])], width)
            return Strip([Segment(" " * width, styles["base"])], width)
        full = self._full_strip(row.index)
        if self.wrap:
            start = row.part * width
            segments = list(full.crop(start, start + width))
        elif self._hscroll or full.cell_length > width:
            segments = list(full.crop(self._hscroll, self._hscroll + width))
        else:
            segments = list(full)
        length = sum(segment.cell_length for segment in segments)
        if row.index == self._cursor:
            segments = list(Segment.apply_style(segments, post_style=styles["cursor-over"]))
            pad_style = styles["log-view--cursor"]
        else:
            pad_style = styles["base"]
        # Pad inside the last segment when the style matches: one escape sequence
        # less per row on the wire.
        missing = width - length
        if missing > 0:
            if segments and segments[-1].style == pad_style:
                last = segments[-1]
                segments[-1] = Segment(last.text + " " * missing, last.style)
            else:
                segments.append(Segment(" " * missing, pad_style))
        return Strip(segments, width)

    # ------------------------------------------------------------ frames

    def _compute_frame(self) -> list[Strip]:
        width = self.scrollable_content_region.width
        height = self.size.height
        if self.wrap:
            rows: list[_Row | None] = list(self._layout_rows())
        else:
            top = self._top()
            count = len(self._lines)
            rows = [_Row(top + y, 0) if top + y < count else None for y in range(height)]
        rows += [None] * (height - len(rows))
        return [self._row_strip(row, y, width) for y, row in enumerate(rows[:height])]

    def _signature(self, strip: Strip) -> tuple[str, str] | None:
        """(text, one style id per cell), or None when a cell holds a wide character."""
        texts: list[str] = []
        ids: list[str] = []
        style_ids = self._style_ids
        for segment in strip:
            text = segment.text
            sid = style_ids.get(segment.style)
            if sid is None:
                if len(style_ids) > 4000:  # themes switched many times: start afresh
                    style_ids.clear()
                sid = style_ids[segment.style] = chr(0x100 + len(style_ids))
            texts.append(text)
            ids.append(sid * len(text))
        text = "".join(texts)
        if len(text) != strip.cell_length:
            return None
        return text, "".join(ids)

    def _repaint(self) -> None:
        """Recompute the visible rows and refresh only the cells that changed.

        Textual rewrites every cell of a dirty region; marking only the changed
        spans makes a scrolling log cost a fraction of the bytes (log lines share
        timestamps, levels, paths), as ncurses does for lnav.
        """
        if not self.is_mounted or not self.size:
            self._frame = None
            return
        old, old_sigs = self._frame, self._frame_sigs
        new = self._compute_frame()
        sigs = [self._signature(strip) for strip in new]
        size = self.size
        self._frame, self._frame_sigs = new, sigs
        if old is None or self._frame_size != size or len(old) != len(new):
            self._frame_size = size
            self.refresh()
            return
        regions: list[Region] = []
        width = self.scrollable_content_region.width
        for y, (before, after) in enumerate(zip(old_sigs, sigs)):
            if before == after and before is not None:
                continue
            if before is None or after is None:
                regions.append(Region(0, y, width, 1))
                continue
            for start, end in _changed_spans(before, after):
                regions.append(Region(start, y, end - start, 1))
        if regions:
            self.refresh(*regions)

    def render_line(self, y: int) -> Strip:
        if self._frame is None or self._frame_size != self.size or len(self._frame) != self.size.height:
            self._frame = self._compute_frame()
            self._frame_sigs = [self._signature(strip) for strip in self._frame]
            self._frame_size = self.size
        if 0 <= y < len(self._frame):
            return self._frame[y]
        return Strip.blank(self.scrollable_content_region.width, self._line_styles()["base"])


# Unchanged runs shorter than this are re-sent rather than skipped: a cursor
# move and a new style cost about as many bytes.
_MERGE_GAP = 20


def _changed_spans(before: tuple[str, str], after: tuple[str, str]) -> list[tuple[int, int]]:
    """[start, end) cell ranges where text or style differ (runs closer than _MERGE_GAP merged)."""
    text_a, style_a = before
    text_b, style_b = after
    n = min(len(text_a), len(text_b))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if text_a[i] == text_b[i] and style_a[i] == style_b[i]:
            i += 1
            continue
        start = i
        last = i
        i += 1
        while i < n and i - last <= _MERGE_GAP:
            if text_a[i] != text_b[i] or style_a[i] != style_b[i]:
                last = i
            i += 1
        spans.append((start, last + 1))
        i = last + 1
    if len(text_a) != len(text_b):
        spans.append((n, max(len(text_a), len(text_b))))
    return spans


# ---------------------------------------------------------------- terminal output
#
# Textual's partial update (ChopsUpdate) writes every dirty span from the START
# of the widget's chop, so marking only the changed cells of a row still
# re-sends everything to their left. The replacement below starts each write at
# the dirty span instead (when no wide character is cut), which is what makes
# the frame diff above pay off: a scrolling log sends the cells that differ, as
# curses does. The output for any other widget is the same cells as before, or
# fewer. It is installed once, for the running Textual 8 only.

_PATCHED = False


def _trimmed_render_segments(self: Any, console: Any) -> str:
    from rich.control import Control

    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items()):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = x1 - x if x1 > x else 0
            if start and len(strip.text) != strip.cell_length:
                start = 0  # a wide character could be cut in half: write from the chop start
            strip = strip.crop(start, min(end, x2) - x)
            append(move_to(x + start, y).segment.text)
            append(strip.render(console))
        # (Textual also sends a newline after each row here; every write above
        # starts with an absolute cursor move, so it is left out.)
    return "".join(sequences)


def install_trimmed_updates() -> bool:
    """Make partial screen updates start at the dirty cell (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return True
    import textual
    from textual import _compositor

    update_cls = getattr(_compositor, "ChopsUpdate", None)
    if update_cls is None or not textual.__version__.startswith("8."):
        return False
    update_cls.render_segments = _trimmed_render_segments
    _PATCHED = True
    return True
