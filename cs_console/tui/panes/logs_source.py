"""The Logs pane's source worker: read the source into the buffer (or poll an indexed
file), retry on faults, throttle repaints.

A worker reads the source (`Environment.log_source(spec)`) and appends each
batch to the bounded `LogBuffer`, which filters new records incrementally. It
then posts a coalescing `_Arrived` message; the pane repaints at most
`REPAINT_INTERVAL` apart (further apart for a flood, see repaint_pacer), and
not at all while hidden. A source that fails is
shown in the status line and retried with backoff; what was read is kept.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from datetime import datetime
from typing import Any

from textual import work
from textual.message import Message

from cs_console.domain.backoff import Backoff
from cs_console.domain.log_buffer import Backfill, Rewind
from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.tui.panes.logs_status import LogsStatusLine
from cs_console.tui.repaint_pacer import RepaintPacer

# At most this often the view repaints while records stream in (seconds); up to
# 0.15 s when more lines arrive than anyone reads (the pane's RepaintPacer).
REPAINT_INTERVAL = RepaintPacer.base
# A followed file is checked for new lines this often (the source's default is
# 50 ms, right for `cs-console logs --follow`; on screen, half of it is half
# the wait for a new line, and one stat + one read per check cost nothing).
FILE_POLL_SECONDS = 0.025
# A repaint that is due waits this long for the next batch (which paints it at once).
ARRIVAL_GRACE = 2 * FILE_POLL_SECONDS
GC_FREEZE_EVERY = 10_000  # records ingested between two gc.freeze()
DEFAULT_SOURCE = "all"
_RETRY_MAX_SECONDS = 30.0


class _Arrived(Message):
    """New records are in the buffer (many of these collapse into one)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, _Arrived)


class LogsSourceWorker(LogsStatusLine):
    """Ingest: the worker, the buffer appends and the repaint throttle."""

    # Set in LogsPane.__init__.
    source_spec: str
    lines: Any  # domain.filtered_logs.FilteredLogs
    _indexed: Any
    _started: bool
    _dirty: bool
    _repaint_pending: bool
    _last_paint: float
    _pacer: RepaintPacer
    _since_freeze: int
    _appended_since_tick: int

    def _start_ingest(self) -> None:
        if self._started:
            return
        self._started = True
        self._ingest()
        # The app's own objects (widgets, styles) are long-lived too: out of the scans.
        self.call_after_refresh(self._freeze_gc)

    @staticmethod
    def _freeze_gc() -> None:
        gc.collect(1)
        gc.freeze()

    def _open_indexed(self) -> None:
        """A regular file (`file:PATH`) is read in place through its line index: no record
        per line, filters on the raw bytes and the level array. Streams (stdin, a FIFO,
        the API, the demo) and --since keep the bounded buffer."""
        if not self.source_spec.startswith("file:") or self.options.get("since"):
            return
        try:
            indexed = self.console.env.indexed_log(self.source_spec)
        except Exception:  # noqa: BLE001 - unreadable now: the streaming path shows why and retries
            return
        if indexed is not None:
            self._indexed = self._source = indexed
            self.lines = indexed.lines

    def _open_source(self) -> Any:
        self.source_spec = self.source_spec or DEFAULT_SOURCE
        source = self.console.env.log_source(self.source_spec)
        if getattr(source, "poll_interval", 0) > FILE_POLL_SECONDS:
            source.poll_interval = FILE_POLL_SECONDS
        return source

    def _initial_since(self) -> datetime | None:
        text = self.options.get("since")
        if not text:
            return None
        from cs_console.domain.log_filter import parse_since

        return parse_since(str(text), self.console.env.clock.now())

    @work(group="logs-ingest", exclusive=True, exit_on_error=False)
    async def _ingest(self) -> None:
        if self._indexed is not None:
            await self._follow_indexed()
            return
        await self._stream()

    async def _follow_indexed(self) -> None:
        """Poll the indexed file: growth, a settled last line, truncation, rotation."""
        log = self._indexed
        backoff = Backoff(initial=1.0, cap=_RETRY_MAX_SECONDS)
        generation = None
        while True:
            lines_before = log.lines.line_count
            try:
                matched = await log.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a fault: show it, retry, keep the index
                self.source_error = safe_text(str(exc) or type(exc).__name__, 200)
                self._update_status()
                await asyncio.sleep(backoff.next())
                continue
            if self.source_error is not None:
                self.source_error = None
                self._status_soon()
            backoff.reset()
            grown = log.lines.line_count - lines_before
            if matched or grown or log.lines.generation != generation:
                generation = log.lines.generation
                self._appended_since_tick += max(0, grown)
                if not self.view.follow:
                    self._paused_new += matched
                self._dirty = True
                self.post_message(_Arrived())
            await asyncio.sleep(log.poll_interval)

    async def _stream(self) -> None:
        from cs_console.services.environment import UnknownLogSource

        backoff = Backoff(initial=1.0, cap=_RETRY_MAX_SECONDS)
        try:
            since = self._initial_since()
        except ValueError as exc:
            self.source_error = f"--since ignored: {exc}"
            since = None
        first_run = True
        while True:
            try:
                if self._source is None:
                    self._source = self._open_source()
                records = self._source.records
                kwargs: dict[str, Any] = {}
                if first_run and {"tail", "backfill"} <= set(inspect.signature(records).parameters):
                    # A big file: its end is on screen after one chunk, older lines fill in behind.
                    kwargs = {"tail": self.buffer.capacity, "backfill": True}
                first_run = False
                async for batch in records(since, True, **kwargs):
                    if batch or isinstance(batch, Rewind):
                        self._append(batch)
                        if isinstance(batch, Rewind) and not batch:
                            since = None
                        elif not isinstance(batch, Backfill):
                            since = batch[-1].ts
                    if self.source_error is not None:
                        self.source_error = None
                        self._update_status()
                    backoff.reset()
                    await asyncio.sleep(0)  # keys and repaints get their turn between batches
                self._source_done = True
                self._update_status()
                return
            except asyncio.CancelledError:
                raise
            except UnknownLogSource as exc:
                self.source_error = str(exc)  # retrying will not help
                self._update_status()
                return
            except Exception as exc:  # noqa: BLE001 - any source fault: show it, retry, keep what we have
                self.source_error = safe_text(str(exc) or type(exc).__name__, 200)
                self._update_status()
                await asyncio.sleep(backoff.next())

    def _append(self, batch: list[LogRecord]) -> None:
        matched = self.buffer.ingest(batch)
        self._since_freeze += len(batch)
        if self._since_freeze >= GC_FREEZE_EVERY:
            self._since_freeze = 0
            # Buffered records live long and hold no cycles (refcounting frees them
            # when dropped), but the cyclic GC re-scans them all in every full
            # collection: 0.1-1.3 s pauses with 20k-1M records, visible as a frozen
            # tail. Young garbage is collected, then everything alive is frozen out
            # of future scans.
            self._freeze_gc()
        if isinstance(batch, Rewind):
            self._paused_new = 0  # what was new is gone with what was shown
        if not isinstance(batch, Backfill):
            self._appended_since_tick += len(batch)
            self._pacer.arrived(time.monotonic(), matched)
            if not self.view.follow:
                self._paused_new += matched
        self._dirty = True
        self.post_message(_Arrived())

    def on__arrived(self, message: _Arrived) -> None:
        self._schedule_paint()

    def _schedule_paint(self) -> None:
        if not self._shown:
            return
        wait = self._pacer.wait(time.monotonic())
        if wait <= 0:
            # Right after a batch is in: its lines wait for no timer. (A timer due at a
            # poll's moment could fire just before the batch, holding it a whole interval.)
            self._paint()
        elif not self._repaint_pending:
            # The first batch once the interval is over paints (above); the timer only
            # paints what came last, when no more batches come.
            self._repaint_pending = True
            self.set_timer(wait + ARRIVAL_GRACE, self._paint_pending)

    def _paint_pending(self) -> None:
        self._repaint_pending = False
        if self._dirty:
            self._schedule_paint()

    def _paint(self) -> None:
        if not self._shown or not self.is_mounted:
            return
        self._dirty = False
        self._last_paint = time.monotonic()
        self._pacer.painted(self._last_paint)
        self.view.lines_changed()
        self._status_soon()
