"""Metrics: every metric by group (value, state colour, 15-minute sparkline, time in state),
the per-function table, the database detail views and the scaling advisor.

Only the visible tab repaints, and each cell only when its text changes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from cs_console.domain.db_inspect import format_cell
from cs_console.domain.durations import compact
from cs_console.domain.metric_format import format_value
from cs_console.domain.metrics import GROUPS, METRICS, FunctionStats, MetricDef
from cs_console.domain.safe_text import safe_text
from cs_console.domain.scaling import advise
from cs_console.domain.sparkline import sparkline
from cs_console.domain.thresholds import THRESHOLD_BY_METRIC, MetricState
from cs_console.tui.pane import Pane
from cs_console.tui.widgets.metrics_list import MetricLine, MetricsList

SPARK_WIDTH = 20
# A shown database view re-reads with the metrics cadence, but never spends more
# than 1/VIEW_BUDGET of the time on the server: a view that takes 400 ms is read
# at most every 8 s, whatever the cadence.
VIEW_BUDGET = 20
_STATE_STYLE = {
    MetricState.OK: "$success",
    MetricState.WARNING: "bold $warning",
    MetricState.CRITICAL: "bold $error",
    MetricState.UNKNOWN: "$text-muted",
}


class Cell(Static):
    """A Static that ignores updates that would not change what it shows."""

    _shown: object = None

    def set(self, content: Content) -> None:
        key = (content.plain, tuple(content.spans))
        if key != self._shown:
            self._shown = key
            self.update(content)


def _short_ms(ms: float) -> str:
    """At most 8 cells: 950 ms, 1,619 ms, 12.3 s."""
    return format_value(ms, "ms") if ms < 10_000 else f"{ms / 1000:,.1f} s"


def metric_line(metric: MetricDef, value: float | None, note: str, state: MetricState | None, since: datetime | None, spark: str, now: datetime) -> MetricLine:
    """What the Metrics tab shows for one metric: value, state, sparkline, time in state or why n/a."""
    if value is None:
        reason = safe_text(note, 160) if note else "not reported"
        if reason.startswith("n/a"):
            reason = reason[3:].lstrip(" :")
        return MetricLine("n/a", state, note=reason or "not reported")
    since_text = ""
    if state is not None:
        # Minutes resolution once past a minute, so the cell does not tick every refresh.
        age = (now - since).total_seconds() if since else 0
        since_text = f"for {compact(age if age < 60 else age // 60 * 60)}"
    return MetricLine(format_value(value, metric.unit), state, spark, since_text)


NARROW_VIEW_LIST = 110  # below this pane width a chosen view hides the list of views


class MetricsPane(Pane):
    PANE_ID = "metrics"
    TITLE = "Metrics"
    KEY = "2"
    HELP = (
        "Every metric against its threshold with a 15-minute sparkline and how long it has been in "
        "its state; Edge Functions one per row; the database detail views (the `inspect db` set: "
        "long-running queries, blocking, locks, top queries, sizes, bloat, vacuum, index usage...) "
        "and the scaling advisor with the manual's triggers and actions."
    )
    BINDINGS = [
        # The tab titles show these keys, so the footer keeps room for F1 and q at 80 columns.
        Binding("m", "tab('mt-metrics')", "Metrics", show=False, id="metrics.tab_metrics"),
        Binding("f", "tab('mt-functions')", "Functions", show=False, id="metrics.tab_functions"),
        Binding("d", "tab('mt-database')", "Database", show=False, id="metrics.tab_database"),
        Binding("s", "tab('mt-scaling')", "Scaling", show=False, id="metrics.tab_scaling"),
        Binding("r", "rerun_view", "Re-run view", id="metrics.rerun_view"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._view_id: str | None = None
        self._view_read_at: datetime | None = None  # on the environment's clock
        self._view_elapsed_ms: float = 0.0
        self._view_running = False
        self._set_up = False  # columns exist only after _setup (a tab key can come first)

    def compose(self) -> ComposeResult:
        # No `initial`: the first tab is the default, and ContentTabs given an initial id
        # raises if the app shuts down while it mounts (a `q` right after start).
        with TabbedContent(id="mt-tabs"):
            with TabPane("m Metrics", id="mt-metrics"):
                yield MetricsList([(group, [m for m in METRICS if m.group == group]) for group in GROUPS], id="mt-list")
            with TabPane("f Functions", id="mt-functions"):
                yield DataTable(id="mt-fn-table", cursor_type="row", zebra_stripes=True)
            with TabPane("d Database", id="mt-database"):
                with Horizontal():
                    yield OptionList(id="mt-views")
                    with Vertical(id="mt-view-body"):
                        yield Static(Content("Choose a view (arrows, Enter)."), id="mt-view-note")
                        yield DataTable(id="mt-view-table", zebra_stripes=True)
            with TabPane("s Scaling", id="mt-scaling"):
                with VerticalScroll():
                    yield Cell(Content(""), id="mt-advisor")

    def on_mount(self) -> None:
        # TabbedContent mounts its panes after this pane's Mount event.
        self.call_after_refresh(self._setup)

    def _setup(self) -> None:
        table = self.query_one("#mt-fn-table", DataTable)
        # 78 cells with padding: every column fits at 80x24 without scrolling sideways.
        for label, key, width in (("Function", "slug", 21), ("Status", "status", 9), ("Calls/min", "inv", 9), ("Errors", "err", 6), ("Avg", "avg", 8), ("p95", "p95", 8), ("Ver", "ver", 3)):
            table.add_column(label, key=key, width=width)
        inspector = self.console.env.inspector
        views = self.query_one("#mt-views", OptionList)
        if inspector is None:
            views.add_option(Option(Content("no database configured"), disabled=True))
        else:
            for view in inspector.views():
                views.add_option(Option(Content(view.title), id=view.id))
            views.highlighted = 0  # Enter runs the first view straight away
        self._set_up = True
        self.refresh_live()

    def focus_default(self) -> None:
        # The list itself, so arrows and PgUp/PgDn scroll it; m/f/d/s switch tabs.
        targets = {"mt-metrics": "#mt-list", "mt-functions": "#mt-fn-table", "mt-database": "#mt-views"}
        tabs = self.query("#mt-tabs")
        found = self.query(targets.get(tabs.first(TabbedContent).active, "#mt-tabs Tabs")) if tabs else None
        if found:
            found.first().focus()
        else:  # TabbedContent is still composing
            self.call_after_refresh(self.focus_default)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "Re-run view" only where it means something (keeps the 80-column footer short).
        if action == "rerun_view":
            tabs = self.query("#mt-tabs")
            return bool(tabs) and tabs.first(TabbedContent).active == "mt-database" and self._view_id is not None
        return True

    def action_tab(self, tab_id: str) -> None:
        self.query_one("#mt-tabs", TabbedContent).active = tab_id
        if tab_id == "mt-database":
            self.query_one("#mt-views", OptionList).display = True
        self.refresh_live()
        if tab_id == "mt-scaling":
            self.query_one("#mt-tabs Tabs").focus()
        else:
            self.focus_default()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        self.refresh_live()

    # ------------------------------------------------------------ live data

    def refresh_live(self) -> None:
        if not self.is_mounted:
            return
        active = self.query_one("#mt-tabs", TabbedContent).active
        if active == "mt-metrics":
            self._show_metrics()
        elif active == "mt-functions" and self._set_up:
            self._show_functions()
        elif active == "mt-scaling":
            self._show_scaling()
        elif active == "mt-database" and self._view_due():
            self._run_view(self._view_id)

    def refresh_requested(self) -> None:
        if self.is_mounted and self._view_id and self.query_one("#mt-tabs", TabbedContent).active == "mt-database":
            self._run_view(self._view_id)

    def view_interval_s(self) -> float:
        """How often the shown view re-reads: the metrics cadence, within the server-time budget."""
        cadence = float(self.console.session.profile.refresh["metrics"])
        return max(cadence, self._view_elapsed_ms * VIEW_BUDGET / 1000.0)

    def _view_due(self) -> bool:
        if self._view_id is None or self._view_running or self._view_read_at is None:
            return False  # nothing chosen yet, a read in flight, or the first read not back
        age = (self.console.env.clock.now() - self._view_read_at).total_seconds()
        return age >= self.view_interval_s() - 0.05  # a poll that lands a hair early still counts

    def _show_metrics(self) -> None:
        live = self.console.live
        history = self.console.monitor.history
        now = self.console.env.clock.now()
        snap = live.snapshot
        if snap is None and not live.states:
            return  # nothing yet: the list shows "…"
        lines: dict[str, MetricLine] = {}
        for metric in METRICS:
            sample = snap.samples.get(metric.key) if snap else None
            entry = live.states.get(THRESHOLD_BY_METRIC.get(metric.key, ""))
            value = sample.value if sample else None
            note = "" if value is not None else (sample.note if sample else "not reported by this source")
            spark = sparkline(history.points(metric.key), now, 900.0, SPARK_WIDTH) if value is not None else ""
            lines[metric.key] = metric_line(metric, value, note, entry.state if entry else None, entry.since if entry else None, spark, now)
        self.query_one("#mt-list", MetricsList).set_lines(lines)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a function: its logs of the last hour (Esc comes back)."""
        if event.data_table.id != "mt-fn-table" or event.row_key.value is None:
            return
        event.stop()
        from cs_console.tui.palette import drill_to_logs

        drill_to_logs(self.app, f"function={event.row_key.value} since=1h")

    def _show_functions(self) -> None:
        snap = self.console.live.snapshot
        table = self.query_one("#mt-fn-table", DataTable)
        functions: tuple[FunctionStats, ...] = snap.functions if snap else ()
        thresholds = self.console.session.profile.thresholds
        err_t, dur_t = thresholds["function_error_rate_pct"], thresholds["function_avg_duration_ms"]
        wanted = {fn.slug for fn in functions}
        for row_key in list(table.rows):
            if row_key.value not in wanted:
                table.remove_row(row_key)
        for fn in sorted(functions, key=lambda f: (-f.error_rate_pct, f.slug)):
            cells = (
                Content(safe_text(fn.slug, 60)),
                Content.styled(fn.status, "$success" if fn.status == "ACTIVE" else "bold $warning"),
                Content(f"{fn.invocations_per_min:,.0f}"),
                Content.styled(f"{fn.error_rate_pct:.1f}%" if fn.error_rate_pct >= 10 else f"{fn.error_rate_pct:.2f}%", _STATE_STYLE[err_t.state(fn.error_rate_pct)]),
                Content.styled(_short_ms(fn.avg_duration_ms), _STATE_STYLE[dur_t.state(fn.avg_duration_ms)]),
                Content(_short_ms(fn.p95_duration_ms) if fn.p95_duration_ms is not None else "n/a"),
                Content(str(fn.version) if fn.version is not None else ""),
            )
            if fn.slug in table.rows:
                for key, cell in zip(("slug", "status", "inv", "err", "avg", "p95", "ver"), cells):
                    if table.get_cell(fn.slug, key) != cell:
                        table.update_cell(fn.slug, key, cell)
            else:
                table.add_row(*cells, key=fn.slug)

    def _show_scaling(self) -> None:
        live = self.console.live
        now = self.console.env.clock.now()
        parts: list[Content] = [Content.styled("Vertical scaling triggers (Scaling Procedures)", "bold $primary"), Content("")]
        for t in advise(live.states, self.console.monitor.history, now):
            if t.crossed:
                since = f" for {compact((now - t.since).total_seconds())}" if t.since else ""
                head = Content.assemble(("▲ CROSSED ", "bold $error"), (t.manual, "bold"), f"  now {t.value}{since}")
                parts.append(head)
                parts.extend(Content(f"    → {action}") for action in t.actions)
            else:
                parts.append(Content.assemble(("  ok      ", "$success"), t.manual, (f"  now {t.value}", "$text-muted")))
        parts.append(Content(""))
        parts.append(Content.styled("Horizontal scaling is automatic; keep an eye on connection limits, Edge Function concurrency, storage capacity and bandwidth.", "$text-muted"))
        self.query_one("#mt-advisor", Cell).set(Content("\n").join(parts))

    # ------------------------------------------------------------ database views

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "mt-views" or event.option.id is None:
            return
        event.stop()
        self._view_id = event.option.id
        self._view_read_at = None
        self._view_elapsed_ms = 0.0
        self.refresh_bindings()
        self._run_view(event.option.id)
        if self.size.width < NARROW_VIEW_LIST:
            # At 80 columns the list of views would take a third of the table (the sessions'
            # application column fell off): the table gets the width, d brings the list back.
            event.option_list.display = False
            self.query_one("#mt-view-table", DataTable).focus()

    def action_rerun_view(self) -> None:
        if self._view_id:
            self._run_view(self._view_id)

    @work(group="inspect", exclusive=True, exit_on_error=False)
    async def _run_view(self, view_id: str) -> None:
        inspector = self.console.env.inspector
        note = self.query_one("#mt-view-note", Static)
        table = self.query_one("#mt-view-table", DataTable)
        if inspector is None:
            return
        first = self._view_read_at is None or not table.columns
        if first:
            note.update(Content("running…"))
        self._view_running = True
        try:
            result = await inspector.run(view_id)
        except Exception as exc:  # the view failed; say so, keep the pane
            note.update(Content.styled(f"view failed: {safe_text(str(exc), 200)}", "$error"))
            return
        finally:
            self._view_running = False
            self._view_read_at = self.console.env.clock.now()
        if view_id != self._view_id:
            return  # the operator chose another view while this one ran
        self._view_elapsed_ms = result.elapsed_ms or 0.0
        read = f"read {self._view_read_at.astimezone(timezone.utc):%H:%M:%S}Z"
        if result.error:
            note.update(Content.styled(f"{result.view.title}: {safe_text(result.error, 200)} ({read})", "$error"))
            return
        self._fill_table(table, result)
        text = f"{result.view.title}: {len(result.rows)} rows · {read}"
        if result.elapsed_ms is not None:
            text += f" in {result.elapsed_ms:.0f} ms"
        text += f" · every {compact(self.view_interval_s())}"
        if not self.query_one("#mt-views", OptionList).display:
            text += " · d: views"
        if result.note:
            text += f" — {safe_text(result.note, 200)}"
        text += f"\n{result.view.description}"
        note.update(Content(text))

    @staticmethod
    def _fill_table(table: DataTable, result) -> None:
        keys = tuple(column.name for column in result.columns)
        same_columns = tuple(key.value for key in table.columns) == keys
        cursor, scroll_x, scroll_y = table.cursor_coordinate, table.scroll_x, table.scroll_y
        # A re-read of the same view keeps the operator's place in it.
        table.clear(columns=not same_columns)
        if not same_columns:
            # DataTable measures rich Text (not Content); Text(str) is literal, never markup.
            for column in result.columns:
                table.add_column(Text(safe_text(column.label, 40)), key=column.name)
        for row in result.rows:
            table.add_row(*(
                Text(safe_text(format_cell(value, column.kind), 200), no_wrap=True, justify="right" if column.kind.numeric else "left")
                for value, column in zip(row, result.columns)
            ))
        if same_columns and result.rows:
            table.move_cursor(row=min(cursor.row, len(result.rows) - 1), column=cursor.column, animate=False, scroll=False)
            table.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)
