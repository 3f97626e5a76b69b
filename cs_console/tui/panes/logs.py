"""Logs: follow a log source, filter it as you type, jump between errors, inspect a record.

Data flow: the pane reads a `FilteredLogs` (domain/filtered_logs.py). A regular
file (`file:PATH`) is read in place through its line index
(`Environment.indexed_log(spec)`: no record per line, filters decided on raw
bytes and level arrays, records parsed for what is shown); any other source is
read by a worker (`Environment.log_source(spec)`) that appends each batch to a
bounded `LogBuffer`, which filters new records incrementally. The worker then posts a coalescing `_Arrived` message; the pane
repaints at most `REPAINT_INTERVAL` apart (further when lines come faster than
anyone reads: repaint_pacer), and not at all while hidden, so a
burst of thousands of lines per second costs a few frames per second on the
wire. The view reads the buffer's filtered index directly (Line API).

A source that fails (file gone, API down, rate limit) is shown in the status
line and retried with backoff; the pane keeps running and keeps what it has.

The pane is three classes, each in its own module: `LogsPane` (here: keys,
filter, navigation, detail, copy, save) <- `LogsSourceWorker` (logs_source: the
worker and the repaint throttle) <- `LogsStatusLine` (logs_status).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from datetime import timezone
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from cs_console.domain.filtered_logs import BufferedLogs, FilteredLogs
from cs_console.domain.log_buffer import DEFAULT_CAPACITY, LogBuffer
from cs_console.domain.log_filter import Filter
from cs_console.domain.log_filter_completion import value_words
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.services.environment import LOG_SOURCE_NAMES
from cs_console.tui import textual_compat
from cs_console.tui.panes.logs_source import LogsSourceWorker
from cs_console.tui.panes.logs_status import ERRORS_ONLY_TERM, WARNINGS_UP_TERM
from cs_console.tui.repaint_pacer import RepaintPacer
from cs_console.tui.widgets.log_filter_bar import LogFilterBar, parse_filter_text
from cs_console.tui.screens.log_detail import CLIPBOARD_MAX_CHARS
from cs_console.tui.widgets.log_line_text import record_plain_line
from cs_console.tui.widgets.log_view import LogView


def write_json_lines(path: Path, records: Iterable[LogRecord]) -> int:
    """One JSON object per record (every field, see LogRecord.fields); atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    count = 0
    # Log lines can hold customer data: 0600 (the CLI's umask says so too).
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.fields(), ensure_ascii=False, default=str))
            out.write("\n")
            count += 1
    os.replace(part, path)
    return count


class LogsPane(LogsSourceWorker):
    PANE_ID = "logs"
    TITLE = "Logs"
    KEY = "3"
    HELP = (
        "Follows the newest records (Space pauses; new records keep arriving and are counted). "
        "/ opens the filter bar: the filter applies as you type, a bad filter is shown with a caret and "
        "the previous one stays. o shows errors only, W warnings and above. e / E jump to the next / "
        "previous error. Enter shows a record's fields (Enter on ip, user, function or request id filters by "
        "it; Esc then takes the filter back); g counts by a field or a regex group; c copies the line (OSC 52, works "
        "over SSH); s saves the filtered records as JSON lines. w wraps long lines, t switches UTC / "
        "local time. The status line shows the rate, how far behind the source is, the buffer and the matches."
    )

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", id="logs.pause"),
        # priority: handled as soon as it arrives, so the keys typed right after it
        # (often in the same SSH packet) already go to the filter input.
        Binding("slash", "open_filter", "Filter", id="logs.filter", priority=True),
        Binding("o", "toggle_errors_only", "Errors only", id="logs.errors_only"),
        Binding("W", "toggle_warnings_up", "Warn+", id="logs.warnings_up"),
        Binding("e", "next_error", "Next error", id="logs.next_error"),
        Binding("E", "prev_error", "Prev error", show=False, id="logs.prev_error"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="logs.wrap"),
        Binding("t", "toggle_utc", "UTC/local", show=False, id="logs.timestamps"),
        Binding("c", "copy_line", "Copy", show=False, id="logs.copy"),
        Binding("s", "save", "Save", show=False, id="logs.save"),
        Binding("g", "count", "Count", id="logs.count"),
        Binding("escape", "filter_back", "Back", show=False, id="logs.filter_back"),
    ]

    def __init__(self, *, options: dict | None = None, **kwargs: Any) -> None:
        super().__init__(options=options, **kwargs)
        self.source_spec: str = str(self.options.get("source") or "")
        self.typed_filter: str = str(self.options.get("filter") or "")
        self.level_toggle: str | None = None  # None, ERRORS_ONLY_TERM or WARNINGS_UP_TERM
        self.buffer = LogBuffer(DEFAULT_CAPACITY)  # replaced on mount, once the profile is known
        # What the view and the keys read: the buffer, or a file read through its index.
        self.lines: FilteredLogs = BufferedLogs(self.buffer)
        self._filter_in_force = ""  # the filter text applied, for the empty view's words
        self._indexed: Any = None  # the IndexedLogFile of a file:PATH source, if any
        self._source: Any = None
        self._started = False
        self._dirty = False
        self._repaint_pending = False
        self._last_paint = 0.0
        self._pacer = RepaintPacer()  # repaints further apart when lines come faster than anyone reads
        self._paused_new = 0
        self._since_freeze = 0
        self._rate = 0.0
        self._appended_since_tick = 0
        self._last_tick = time.monotonic()
        self._last_filter_refresh = time.monotonic()
        self.source_error: str | None = None
        self._source_done = False
        self._filters_before: list[str] = []  # a field chosen in the detail or the counts: Esc restores
        self._status_text: str | None = None
        self._last_status = 0.0
        self._status_pending = False
        self._shown = False

    # ------------------------------------------------------------ compose / lifecycle

    def compose(self) -> ComposeResult:
        yield LogView(id="log-view")
        yield LogFilterBar(id="log-filter-bar")
        yield Static(id="log-status")

    @property
    def filter_bar(self) -> LogFilterBar:
        return self.query_one("#log-filter-bar", LogFilterBar)

    def on_mount(self) -> None:
        if textual_compat.app_is_closing(self.app):
            # Mounted in the background as the console quits: its children may be gone already.
            return
        # since=15m is taken against the environment's clock (the demo's, in the demo).
        self.buffer = LogBuffer(self._buffer_capacity(), now=self.console.env.clock.now)
        self.lines = BufferedLogs(self.buffer)
        self._open_indexed()
        self.view.describe_empty = self._empty_text
        self.view.set_lines(self.lines)
        history = self.console.env.filter_history
        if history is not None:
            self.filter_bar.history = history.entries
            if not self.options.get("filter"):  # the last filter used on this source, unless one was given
                self.typed_filter = history.last_for(self._history_key)
        self._offer_values()
        if self.typed_filter:
            _, error = parse_filter_text(self.typed_filter)
            if error is not None:
                self.notify(f"filter ignored: {safe_text(error[1], 200)}", severity="error")
                self.typed_filter = ""
        self.filter_bar.set_applied(self.typed_filter)
        self._apply_effective_filter()
        if self.display:
            self._shown = True
            self._start_ingest()
            # Focus before the first frame: keys typed as soon as the lines show
            # (`/` then a filter) must find the log view, not an unfocused screen.
            self.screen.set_focus(self.view)
        self._update_status()

    def _empty_text(self) -> str:
        """What an empty view says: nothing arrived, or nothing matches the filter."""
        held = self.lines.held
        if not held:
            return "no records yet"
        unit = "buffered" if self.lines.capacity is not None else "lines"
        return f"no record matches {safe_text(self._filter_in_force, 120) or 'the filter'} ({held:,} {unit})"

    def on_show(self) -> None:
        self._shown = True
        self._start_ingest()
        if self._dirty:
            self._paint()
        self._update_status()

    def on_hide(self) -> None:
        self._shown = False

    def refresh_live(self) -> None:
        if self._dirty:
            self._schedule_paint()  # the metrics poll must not add frames beyond the cap

    def focus_default(self) -> None:
        # Focus now, not later (Widget.focus defers): a deferred focus on the view decided
        # before a `/` would run after it and steal the keys typed into the filter.
        self.screen.set_focus(self.filter_bar.input if self.filter_bar.has_class("-open") else self.view)

    def _buffer_capacity(self) -> int:
        value = self.options.get("buffer") or self.console.session.profile.log_buffer_size
        try:
            return max(100, int(value)) if value else DEFAULT_CAPACITY
        except (TypeError, ValueError):
            return DEFAULT_CAPACITY

    # ------------------------------------------------------------ filter

    def _apply_effective_filter(self) -> None:
        text = self.effective_filter_text()
        compiled, error = parse_filter_text(text)
        if error is not None or not isinstance(compiled, Filter):
            # Only reachable if a toggle and the typed text clash; the old filter stays.
            self.notify(f"filter not applied: {safe_text(error[1] if error else text, 200)}", severity="error")
            return
        self.lines.set_filter(compiled)
        self._filter_in_force = text
        self.view.set_highlighter(None if compiled.is_empty else self.lines.matcher.spans)
        self.view.lines_changed()
        self._update_status()

    def apply_filter(self, text: str) -> None:
        """Show the records matching `text` (the palette and drill-downs), as if typed."""
        self.typed_filter = text
        self.filter_bar.set_applied(text)
        self._apply_effective_filter()

    def add_filter_term(self, term: str | None) -> None:
        """Narrow the filter by `term` (a field chosen in the detail or the counts); Esc undoes it."""
        if term:
            self._filters_before.append(self.typed_filter)
            self.apply_filter(f"{self.typed_filter} {term}".strip())

    def action_filter_back(self) -> None:
        if self._filters_before:
            self.apply_filter(self._filters_before.pop())
        else:
            self.app.action_back()  # a drill-down into the Logs pane: back where it started

    @on(LogFilterBar.Changed)
    def _filter_changed(self, event: LogFilterBar.Changed) -> None:
        event.stop()
        if event.text != self.typed_filter:
            self._filters_before.clear()  # typed by hand: Esc no longer undoes a chosen field
        self.typed_filter = event.text
        self._apply_effective_filter()

    @property
    def _history_key(self) -> str:
        return self.source_spec or "default"

    def _offer_values(self) -> None:
        """What Tab completes in the filter bar: the functions and sources the console knows."""
        snap = self.console.live.snapshot
        functions = [fn.slug for fn in snap.functions] if snap is not None else []
        self.filter_bar.values = value_words({"function": functions, "source": [*LOG_SOURCE_NAMES, "file", "stdin"]})

    @on(LogFilterBar.Closed)
    def _filter_closed(self, event: LogFilterBar.Closed) -> None:
        event.stop()
        history = self.console.env.filter_history
        if event.accepted and history is not None:
            history.add(self.typed_filter, self._history_key)
            self.filter_bar.history = history.entries  # add() made a new list
        self.filter_bar.remove_class("-open")
        self.view.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_filter" and self.filter_bar.has_class("-open"):
            return False  # "/" is text while the filter is being typed (/regex/)
        return True

    def action_open_filter(self) -> None:
        self._offer_values()
        self.filter_bar.add_class("-open")
        self.filter_bar.open()

    def _toggle_level(self, term: str) -> None:
        self.level_toggle = None if self.level_toggle == term else term
        self._apply_effective_filter()

    def action_toggle_errors_only(self) -> None:
        self._toggle_level(ERRORS_ONLY_TERM)

    def action_toggle_warnings_up(self) -> None:
        self._toggle_level(WARNINGS_UP_TERM)

    # ------------------------------------------------------------ follow / navigation

    def action_toggle_pause(self) -> None:
        view = self.view
        if view.follow:
            view.set_follow(False, notify=True)
        else:
            view.set_follow(True, notify=True)

    @on(LogView.FollowChanged)
    def _follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        if event.follow:
            self._paused_new = 0
            if self._dirty:
                self._paint()
        self._update_status()

    def _jump_error(self, backward: bool) -> None:
        view = self.view
        row = self.lines.next_level(view.cursor if view.cursor >= 0 else None, Level.ERROR, backward=backward)
        if row is None:
            self.notify(f"no {'earlier' if backward else 'later'} error in the filtered records", timeout=2)
            return
        view.jump_to(row)

    def action_next_error(self) -> None:
        self._jump_error(backward=False)

    def action_prev_error(self) -> None:
        self._jump_error(backward=True)

    def action_toggle_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self._update_status()

    def action_toggle_utc(self) -> None:
        self.view.set_utc(not self.view.utc)
        self._update_status()

    # ------------------------------------------------------------ detail / copy / save

    @on(LogView.DetailRequested)
    def _open_detail(self, event: LogView.DetailRequested) -> None:
        from cs_console.tui.screens.log_detail import LogDetailScreen

        event.stop()
        fetch = getattr(self._source, "fetch_details", None)
        if fetch is not None and not event.record.raw.get("log_attributes"):
            self._detail_with_attributes(event.record)  # a source that lists without them (Supabase)
            return
        title = record_plain_line(event.record, utc=self.view.utc)
        self.app.push_screen(LogDetailScreen(event.record, title=title), self.add_filter_term)

    @work(group="logs-detail", exclusive=True, exit_on_error=False)
    async def _detail_with_attributes(self, record: LogRecord) -> None:
        from cs_console.tui.screens.log_detail import LogDetailScreen

        shown = record
        try:
            shown = (await self._source.fetch_details([record]))[0]
        except Exception as exc:  # the record as listed is still worth showing
            self.notify(f"attributes not fetched: {safe_text(str(exc), 120)}", timeout=4)
        self.app.push_screen(LogDetailScreen(shown, title=record_plain_line(shown, utc=self.view.utc)), self.add_filter_term)

    def action_copy_line(self) -> None:
        record = self.view.cursor_record()
        if record is None:
            self.notify("no line to copy", timeout=2)
            return
        text = record_plain_line(record, utc=self.view.utc)[:CLIPBOARD_MAX_CHARS]
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the line to the clipboard ({len(text):,} chars, OSC 52)", timeout=2)

    def default_save_path(self) -> Path:
        from cs_console.config import state_dir

        stamp = self.console.env.clock.now().astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        spec = Path(self.source_spec.split(":", 1)[-1]).stem if self.source_spec else "logs"
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in spec)[:40].strip("-.")
        return state_dir() / "logs" / f"logs-{slug or 'logs'}-{stamp}.jsonl"

    def action_count(self) -> None:
        """The matching records counted by ip, user, function, status... (Enter filters by a row)."""
        from cs_console.tui.screens.log_groups import COUNT_LIMIT, LogGroupsScreen

        n = len(self.lines)
        if not n:
            self.notify("nothing to count: no record matches the filter", timeout=3)
            return
        newest = [self.lines.record(i) for i in range(n - 1, max(-1, n - 1 - COUNT_LIMIT), -1)]
        self.app.push_screen(LogGroupsScreen(newest, self.typed_filter, self.console.env.clock.now(), more=n > COUNT_LIMIT),
                             self.add_filter_term)

    def action_save(self) -> None:
        from cs_console.tui.screens.log_save import LogSaveScreen

        count = self.lines.match_count
        if not count:
            self.notify("nothing to save: no record matches the filter", timeout=3)
            return
        records = self.lines.records_to_save()  # what is shown now, whatever arrives next

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._save_records(path, records)

        self.app.push_screen(LogSaveScreen(self.default_save_path(), count), chosen)

    @work(thread=True, group="logs-save", exit_on_error=False)
    def _save_records(self, path: Path, records: Iterable[LogRecord]) -> None:
        try:
            written = write_json_lines(path, records)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.app.call_from_thread(self.notify, f"not saved: {safe_text(str(path), 120)}: {safe_text(reason, 120)}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"saved {written:,} records to {safe_text(str(path), 200)}", timeout=5)

    # ------------------------------------------------------------ the one-second tick

    def clock_tick(self) -> None:
        # The app's one-second tick (only when polling): the rate and the since= window move.
        self._status_tick()

    def _status_tick(self) -> None:
        now = time.monotonic()
        elapsed = max(1e-6, now - self._last_tick)
        self._rate = self._appended_since_tick / elapsed
        self._appended_since_tick = 0
        self._last_tick = now
        if now - self._last_filter_refresh >= 10:
            # since=15m moves with the clock: re-resolve it now and then (no-op without it).
            self._last_filter_refresh = now
            generation = self.lines.generation
            self.lines.refresh_filter()
            if self.lines.generation != generation:
                self._dirty = True
                self._schedule_paint()
        self._update_status()
