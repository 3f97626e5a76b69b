"""The virtualised log view: one record per line, only the visible lines are rendered.

`LogView` is what the Logs pane holds: the cursor, follow mode (pinned to the
newest record), wrap/UTC modes, keys, mouse and scrolling. Drawing the rows
(styles, strips, the wrap layout, the frame diff) is its base class,
`log_rows.LogRows`; the text of a line is in `log_line_text`.

Scrolling is in records: `scroll_y` is the index of the top record. In wrap
mode a record may take several rows; the view then lays out only the records
that fit on screen, from the top (or from the bottom when following).
"""

from __future__ import annotations

from math import ceil

from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message

from cs_console.domain.log_record import LogRecord
from cs_console.tui import textual_compat
from cs_console.tui.widgets.log_rows import Highlighter, LogLines, LogRows, Row

_HSCROLL_STEP = 8


class LogView(LogRows, can_focus=True):
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
        self._cursor_key: int | None = None
        self._top_key: int | None = None
        self._thumb_key: object = None
        self._scrolling_internally = False

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
        if textual_compat.enabled():
            virtual_size = self.virtual_size
        return super()._size_updated(size, virtual_size, container_size, layout)

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
        # Only the scrollbar is repainted (the rows are diffed by _repaint): Textual's
        # reactive repainted every row, 6 kB per thumb step while a tail filled the view.
        textual_compat.set_scroll_range(self, size)

    def _set_top(self, y: float) -> None:
        self._scrolling_internally = True
        try:
            self.set_scroll(None, max(0, y))
            # set_scroll skips watch_scroll_y: without this the thumb kept the position of
            # an earlier scroll (mid-bar while following, a different place each run).
            if self.show_vertical_scrollbar:
                self.vertical_scrollbar.position = self.scroll_y
        finally:
            self._scrolling_internally = False

    def _remember_top(self) -> None:
        top = int(self.scroll_offset.y)
        self._top_key = self._lines.key(top) if 0 <= top < len(self._lines) else None

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
        # Not ScrollView's: that one repaints every row; the frame diff
        # (LogRows._repaint) sends only the cells that changed.
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

    def _row_at(self, y: int) -> Row | None:
        if self.wrap:
            rows = self._layout_rows()
            return rows[y] if 0 <= y < len(rows) else None
        index = self._top() + y
        return Row(index, 0) if 0 <= index < len(self._lines) else None

