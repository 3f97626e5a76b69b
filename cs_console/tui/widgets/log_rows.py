"""How records become screen rows: styled strips, the wrap layout, and a frame diff.

`LogRows` is the drawing half of the log view (`log_view.LogView` adds the
cursor, follow mode, keys and scrolling). It reads straight from a `LogLines`
provider (the buffer's filtered index): no copy of the records is ever made,
so 1,000,000 buffered records cost nothing here. Every piece of record text
goes through `safe_text` (see log_line_text) and is turned into plain
`Segment`s with styles from the component classes (theme variables in
logs.tcss): log data is never parsed as markup.

Each repaint recomputes the visible rows and refreshes only the cells that
changed since the last frame (see changed_cells).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain.log_record import Level, LogRecord
from cs_console.tui.textual_compat import install_trimmed_updates, trimmed_updates_active
from cs_console.tui.widgets.changed_cells import Signature, cell_signature, changed_spans
from cs_console.tui.widgets.log_line_text import FUNCTION_COLUMN_MAX, LEVEL_LABELS, format_timestamp, record_line_parts

_STRIP_CACHE_SIZE = 600

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


class Row(NamedTuple):
    index: int  # position in the filtered view
    part: int  # which wrapped piece of that record (0 = first)


class LogRows(ScrollView):
    """Draws the records of a `LogLines` provider; what is on screen is `_frame`."""

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

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: LogLines = _EmptyLines()
        self._highlighter: Highlighter | None = None
        # Set by the view (log_view.LogView); read here to lay out and draw the rows.
        self.follow = True
        self.wrap = False
        self.utc = True
        self.empty_text = "no records yet"
        # Set by a pane that knows whether nothing arrived or nothing matches.
        self.describe_empty: Callable[[], str] | None = None
        self._cursor = -1
        self._hscroll = 0
        self._function_width = 0
        self._strip_cache: OrderedDict[int, tuple[LogRecord, Strip]] = OrderedDict()
        self._style_key: object = None
        self._styles: dict[str, Style] = {}
        self._wrap_rows: list[Row] | None = None
        self._wrap_rows_key: object = None
        # What the terminal shows of this widget: one strip per row, and per row
        # (text, style ids) to find the cells that change between two frames.
        self._frame: list[Strip] | None = None
        self._frame_sigs: list[Signature] = []
        self._frame_size = Size(0, 0)
        self._style_ids: dict[Style | None, str] = {}

    def on_mount(self) -> None:
        install_trimmed_updates()

    # ------------------------------------------------------------ layout

    def _top(self) -> int:
        if self.follow:
            return max(0, len(self._lines) - max(1, self.size.height))
        return int(self.scroll_offset.y)

    def _record_height(self, index: int) -> int:
        width = max(1, self.scrollable_content_region.width)
        return max(1, -(-self._full_strip(index).cell_length // width))

    def _layout_rows(self) -> list[Row]:
        """Which record (and which wrapped piece) is on each screen row (wrap mode)."""
        count = len(self._lines)
        height = self.size.height
        top = int(self.scroll_offset.y)
        key = (count, top, height, self.scrollable_content_region.width, self.follow)
        if self._wrap_rows is not None and self._wrap_rows_key == key:
            return self._wrap_rows
        rows: list[Row] = []
        if count:
            if self.follow or top >= self.max_scroll_y:
                index = count - 1
                while index >= 0 and len(rows) < height:
                    pieces = self._record_height(index)
                    rows[:0] = [Row(index, part) for part in range(pieces)]
                    index -= 1
                rows = rows[-height:]
            else:
                index = top
                while index < count and len(rows) < height:
                    pieces = self._record_height(index)
                    rows.extend(Row(index, part) for part in range(pieces))
                    index += 1
                rows = rows[:height]
        self._wrap_rows = rows
        self._wrap_rows_key = key
        return rows

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
            Segment(LEVEL_LABELS.get(record.level, "INFO ") + " ", level_style),
        ]
        if len(function) > self._function_width < FUNCTION_COLUMN_MAX:
            # The column widens to the longest name seen; older lines follow.
            self._function_width = min(len(function), FUNCTION_COLUMN_MAX)
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

    def _row_strip(self, row: Row | None, y: int, width: int) -> Strip:
        """One screen row, exactly `width` cells. Builds a single Strip: each one
        costs seven caches in Textual, and a following view builds every row
        several times a second."""
        styles = self._line_styles()
        if row is None:
            if y == 0 and not len(self._lines):
                text = self.describe_empty() if self.describe_empty is not None else self.empty_text
                return Strip([Segment(text[:width].ljust(width), styles["log-view--empty"])], width)
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
            rows: list[Row | None] = list(self._layout_rows())
        else:
            top = self._top()
            count = len(self._lines)
            rows = [Row(top + y, 0) if top + y < count else None for y in range(height)]
        rows += [None] * (height - len(rows))
        return [self._row_strip(row, y, width) for y, row in enumerate(rows[:height])]

    def _signature(self, strip: Strip) -> Signature:
        """The row as terminal cells, with a style id per cell (see changed_cells)."""
        return cell_signature(strip, self._style_ids)

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
        trimmed = trimmed_updates_active()
        for y, (before, after) in enumerate(zip(old_sigs, sigs)):
            if before == after:
                continue
            if not trimmed and not (isinstance(before[0], str) and isinstance(after[0], str)):
                # Textual's own write cuts a span's end by cells and drops the combining
                # marks there: a row that is not all ASCII is rewritten whole.
                regions.append(Region(0, y, self.scrollable_content_region.width, 1))
                continue
            spans = changed_spans(before, after)
            if not trimmed:
                # Textual's own write sends each span from the row's first cell: one span, to the last change.
                spans = [(0, spans[-1][1])] if spans else []
            for start, end in spans:
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

