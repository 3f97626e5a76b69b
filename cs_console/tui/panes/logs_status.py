"""The Logs pane's status line: follow or paused, source health, rate, lag, buffer, filter, modes.

`LogsStatusLine` is the lowest of the pane's classes (`LogsPane` <- `LogsSourceWorker`
<- `LogsStatusLine`): it builds the line from the pane's state and repaints it
at most twice a second. The state itself is set in `LogsPane.__init__`.
"""

from __future__ import annotations

import time
from typing import Any

from textual.content import Content
from textual.widgets import Static

from cs_console.domain.drain_events import QUIET_AFTER_S, drain_status_text
from cs_console.domain.durations import one_unit
from cs_console.domain.filtered_logs import FilteredLogs
from cs_console.domain.log_buffer import LogBuffer
from cs_console.domain.safe_text import safe_text
from cs_console.tui.pane import Pane
from cs_console.tui.widgets.log_view import LogView

STATUS_INTERVAL = 1.0

ERRORS_ONLY_TERM = "level>=error"
WARNINGS_UP_TERM = "level>=warn"


def compact(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return f"{int(n)}"


class LogsStatusLine(Pane):
    """What the status line shows, and when it repaints."""

    # Set in LogsPane.__init__ (and kept current by the source worker and the pane).
    buffer: LogBuffer
    lines: FilteredLogs
    typed_filter: str
    level_toggle: str | None
    source_error: str | None
    _source: Any
    _source_done: bool
    _paused_new: int
    _rate: float
    _shown: bool
    _status_text: str | None
    _last_status: float
    _status_pending: bool

    @property
    def view(self) -> LogView:
        return self.query_one("#log-view", LogView)

    def effective_filter_text(self) -> str:
        return " ".join(part for part in (self.typed_filter, self.level_toggle) if part)

    def _status_soon(self) -> None:
        """The counts follow the lines, but the status line repaints at most twice a second."""
        if self._status_pending:
            return
        wait = self._last_status + STATUS_INTERVAL / 2 - time.monotonic()
        if wait <= 0:
            self._update_status()
        else:
            self._status_pending = True
            self.set_timer(wait, self._update_status)

    def _source_note(self) -> tuple[str, str] | None:
        if self.source_error:
            return (f"⚠ {safe_text(self.source_error, 120)}", "bold $error")
        status = getattr(self._source, "status", None)
        if status is not None:
            try:
                st = status()
            except Exception:  # noqa: BLE001 - a broken status() must not take the pane down
                st = None
            state = str(getattr(st, "state", ""))
            if st is not None and state in ("DOWN", "DEGRADED"):
                return (f"⚠ {safe_text(st.detail, 120)}", "bold $error" if state == "DOWN" else "bold $warning")
        if self._source_done:
            return ("source ended", "$text-muted")
        return None

    def _stored_up_to(self, utc: bool) -> str | None:
        """HH:MM:SS of the newest event a drain tail read back from storage (the view's clock)."""
        try:
            newest = self._source.stored_up_to()
        except Exception:  # noqa: BLE001 - a source without it, or a broken one: no figure
            return None
        if newest is None:
            return None
        from datetime import timezone

        return f"{newest.astimezone(timezone.utc if utc else None):%H:%M:%S}"

    def status_content(self) -> Content:
        """The status line. Parts carry a rank: when the line is wider than the pane the
        least needed go first (UTC, buffer fill, rate), so the filter and the match count
        stay readable at 80 columns."""
        view = self.view
        parts: list[tuple[str, str, int]] = []  # (text, style, rank: 0 always kept, higher goes first)
        if view.follow:
            parts.append(("▶ FOLLOW", "bold $success", 0))
        else:
            parts.append((f"⏸ PAUSED +{self._paused_new:,} new" if self._paused_new else "⏸ PAUSED", "bold $warning", 0))
        note = self._source_note()
        if note is not None:
            parts.append((*note, 0))
        parts.append((f"{compact(self._rate)}/s", "", 3))
        lag = None
        if self._source is not None:
            try:
                lag = self._source.lag_seconds()
            except Exception:  # noqa: BLE001
                lag = None
        quiet_of = getattr(self._source, "quiet_seconds", None)
        if callable(quiet_of):
            # A drain tail: its lag or how long it has been quiet, and that the logs endpoint is not polled.
            try:
                quiet = quiet_of()
            except Exception:  # noqa: BLE001
                quiet = None
            late = (quiet is not None and quiet >= QUIET_AFTER_S) or (lag is not None and lag > 60)
            parts.append((drain_status_text(lag, quiet, self._stored_up_to(view.utc)), "bold $warning" if late else "", 1))
        elif lag is not None:
            parts.append((f"{getattr(self._source, 'lag_label', 'lag')} {one_unit(lag)}", "bold $warning" if lag > 60 else "", 1 if lag > 60 else 2))
        logs = self.lines
        capacity = logs.capacity
        if capacity is None:  # a file read through its index: all of it
            fill = "indexing…" if getattr(self._source, "indexing", False) else f"{compact(logs.held)} lines"
        else:
            fill = f"buf {compact(logs.held)}/{compact(capacity)}"
        if logs.dropped:
            fill += f" −{compact(logs.dropped)}"
        parts.append((fill, "", 2 if logs.dropped else 3))
        if self.effective_filter_text():
            parts.append((f"{logs.match_count:,} match", "bold", 0))
        if self.level_toggle == ERRORS_ONLY_TERM:
            parts.append(("errors only", "bold $error", 0))
        elif self.level_toggle == WARNINGS_UP_TERM:
            parts.append(("warn+", "bold $warning", 0))
        if self.typed_filter:
            parts.append((f"/{safe_text(self.typed_filter, 60)}", "$accent", 0))
        parts.append(("UTC" if view.utc else "local", "", 4))
        if view.wrap:
            parts.append(("wrap", "", 4))
        width = (self.size.width or 80) - 2
        while sum(len(t) + 3 for t, _, _ in parts) > width and any(rank for _, _, rank in parts):
            worst = max(rank for _, _, rank in parts)
            drop = max(i for i, (_, _, rank) in enumerate(parts) if rank == worst)
            del parts[drop]
        pieces: list[tuple[str, str] | str] = []
        for i, (text, style, _) in enumerate(parts):
            if i:
                pieces.append(" │ ")
            pieces.append((text, style) if style else text)
        return Content.assemble(" ", *pieces)

    def _update_status(self) -> None:
        if not self.is_mounted or (not self._shown and self._status_text is not None):
            return
        self._status_pending = False
        self._last_status = time.monotonic()
        content = self.status_content()
        if content.plain == self._status_text:
            return
        self._status_text = content.plain
        # One row, full width (logs.tcss) whatever it says: no layout pass for the screen.
        self.query_one("#log-status", Static).update(content, layout=False)
