"""Every metric by group, one line each, drawn with the Line API.

One widget for ~50 lines instead of ~250 small ones: mounting the Metrics pane
and switching to it cost 0.3-1.0 s of CPU with a widget per cell (measured at
120x40 on the demo); a line-drawn list costs a fraction of that. A refresh
repaints only the cells whose text or state changed, so an idle pane sends
little to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain.metrics import MetricDef
from cs_console.domain.thresholds import MetricState


@dataclass(frozen=True, slots=True)
class MetricLine:
    """What one metric's line shows (plain text; the widget styles it)."""

    value: str
    state: MetricState | None = None  # None: the metric has no threshold
    spark: str = ""
    since: str = ""  # "for 3m00s"
    note: str = ""  # why the value is n/a: shown where the sparkline would be


_STATE_CLASS = {
    MetricState.OK: "metrics-list--ok",
    MetricState.WARNING: "metrics-list--warning",
    MetricState.CRITICAL: "metrics-list--critical",
    MetricState.UNKNOWN: "metrics-list--unknown",
}


@dataclass(frozen=True, slots=True)
class _Columns:
    label: int
    value: int
    state: int
    spark: int

    @property
    def starts(self) -> tuple[int, int, int, int, int]:
        """x of label, value, state, spark, since (one cell of left padding)."""
        x_label = 1
        x_value = x_label + self.label
        x_state = x_value + self.value
        x_spark = x_state + self.state
        return x_label, x_value, x_state, x_spark, x_spark + self.spark


def _columns(width: int) -> _Columns:
    if width >= 100:
        return _Columns(label=24, value=22, state=10, spark=22)
    return _Columns(label=22, value=14, state=9, spark=22)


def _fit(text: str, width: int) -> str:
    """Exactly `width` cells; too long gets an ellipsis and keeps one cell of gap."""
    if width <= 0:
        return ""
    if cell_len(text) > width - 1:
        text = set_cell_size(text, max(0, width - 2)) + "…"
    return set_cell_size(text, width)


class MetricsList(ScrollView, can_focus=True):
    """Groups of metric lines: label, value, state, 15-minute sparkline, time in state."""

    COMPONENT_CLASSES = {
        "metrics-list--group",
        "metrics-list--label",
        "metrics-list--value",
        "metrics-list--muted",
        "metrics-list--spark",
        "metrics-list--ok",
        "metrics-list--warning",
        "metrics-list--critical",
        "metrics-list--unknown",
    }

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False, id="metrics_list.up"),
        Binding("down", "scroll_down", "Down", show=False, id="metrics_list.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="metrics_list.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="metrics_list.page_down"),
        Binding("home", "scroll_home", "Top", show=False, id="metrics_list.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="metrics_list.bottom"),
    ]

    DEFAULT_CSS = """
    MetricsList { height: 1fr; }
    """

    def __init__(self, groups: list[tuple[str, list[MetricDef]]], **kwargs) -> None:
        super().__init__(**kwargs)
        # Rows: ("blank",), ("group", title) or ("metric", MetricDef).
        self._rows: list[tuple] = []
        self._row_of: dict[str, int] = {}
        for i, (title, metrics) in enumerate(groups):
            if i:
                self._rows.append(("blank",))
            self._rows.append(("group", title))
            for metric in metrics:
                self._row_of[metric.key] = len(self._rows)
                self._rows.append(("metric", metric))
        self._lines: dict[str, MetricLine] = {}
        self._styles: dict[str, Style] | None = None
        self._cache: dict[int, tuple[tuple, Strip]] = {}
        self.virtual_size = Size(0, len(self._rows))

    # ------------------------------------------------------------ data

    def line(self, key: str) -> MetricLine | None:
        return self._lines.get(key)

    def row_text(self, key: str) -> str:
        """The plain text of one metric's line at the current width (for tests)."""
        return self._row_strip(self._row_of[key], max(self.size.width, 80)).text

    def set_lines(self, lines: dict[str, MetricLine]) -> None:
        """New values: repaint only the cells that changed."""
        changed: list[Region] = []
        width = self.scrollable_content_region.width
        starts = _columns(width).starts if width else None
        scroll_y = int(self.scroll_offset.y)
        for key, line in lines.items():
            before = self._lines.get(key)
            if before == line:
                continue
            self._lines[key] = line
            row = self._row_of.get(key)
            if row is None or starts is None:
                continue
            y = row - scroll_y
            if not 0 <= y < self.size.height:
                continue
            changed.extend(self._changed_regions(before, line, y, width, starts))
        if changed:
            self.refresh(*changed)

    @staticmethod
    def _changed_regions(before: MetricLine | None, after: MetricLine, y: int, width: int, starts: tuple[int, ...]) -> list[Region]:
        _, x_value, x_state, x_spark, x_since = starts
        if before is None or bool(before.note) != bool(after.note):
            return [Region(x_value, y, max(0, width - x_value), 1)]
        regions: list[Region] = []
        if before.value != after.value:
            regions.append(Region(x_value, y, x_state - x_value, 1))
        if before.state != after.state:
            # The state colours the value, the sparkline and the state word.
            return [Region(x_value, y, max(0, width - x_value), 1)]
        if before.note != after.note:
            regions.append(Region(x_spark, y, max(0, width - x_spark), 1))
            return regions
        if before.spark != after.spark:
            regions.append(Region(x_spark, y, x_since - x_spark, 1))
        if before.since != after.since:
            regions.append(Region(x_since, y, max(0, width - x_since), 1))
        return regions

    # ------------------------------------------------------------ drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()

    def _style(self, name: str) -> Style:
        if self._styles is None:
            base = self.rich_style
            self._styles = {"base": base}
            for component in self.COMPONENT_CLASSES:
                # Not partial=True: that skips blending, and a translucent colour such as
                # $text-muted came out white (white on white in the light theme).
                self._styles[component] = base + self.get_component_rich_style(component)
        return self._styles[name]

    def _row_strip(self, row: int, width: int) -> Strip:
        kind = self._rows[row]
        line = self._lines.get(kind[1].key) if kind[0] == "metric" else None
        key = (width, line, self.app.theme)
        cached = self._cache.get(row)
        if cached is not None and cached[0] == key:
            return cached[1]
        base = self._style("base")
        if kind[0] == "blank":
            strip = Strip.blank(width, base)
        elif kind[0] == "group":
            strip = Strip([Segment(" "), Segment(kind[1], self._style("metrics-list--group"))]).adjust_cell_length(width, base)
        else:
            strip = self._metric_strip(kind[1], line, width)
        self._cache[row] = (key, strip)
        return strip

    def _metric_strip(self, metric: MetricDef, line: MetricLine | None, width: int) -> Strip:
        cols = _columns(width)
        muted = self._style("metrics-list--muted")
        segments = [Segment(" "), Segment(_fit(metric.label, cols.label), self._style("metrics-list--label"))]
        if line is None:
            segments.append(Segment(_fit("…", cols.value), muted))
            return Strip(segments).adjust_cell_length(width, self._style("base"))
        state_style = self._style(_STATE_CLASS[line.state]) if line.state is not None else None
        value_style = state_style if line.state in (MetricState.WARNING, MetricState.CRITICAL) else self._style("metrics-list--value")
        if line.note:
            value_style = muted
        segments.append(Segment(_fit(line.value, cols.value), value_style))
        segments.append(Segment(_fit(line.state.value if line.state is not None else "", cols.state), state_style or muted))
        if line.note:
            segments.append(Segment(line.note, muted))
        else:
            spark_style = state_style if line.state in (MetricState.WARNING, MetricState.CRITICAL) else self._style("metrics-list--spark")
            segments.append(Segment(_fit(line.spark, cols.spark), spark_style))
            segments.append(Segment(line.since, muted))
        return Strip(segments).adjust_cell_length(width, self._style("base"))

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, self._style("base"))
        return self._row_strip(row, width)
