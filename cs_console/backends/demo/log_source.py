"""The demo's LogSource: function, edge, auth, postgres or all, from the simulated project.

Without follow, `records()` yields the history from `since` to now in
batches (a minute of simulated time each) and ends; with follow it then
yields each newly completed simulated second as the clock moves. History
reaches back at most 24 h (the Supabase logs endpoint's window). Only whole
seconds are ever emitted, so a record once shown never changes and is never
repeated. Generation yields to the event loop between batches.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from cs_console.backends.demo.logs.generator import SOURCES, records_for_second
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import LogRecord

DEFAULT_HISTORY_S = 15 * 60  # since=None: the last quarter of an hour
BATCH_BUDGET_S = 0.02
MAX_HISTORY_S = 24 * 3600


class DemoLogSource:
    """LogSource over a DemoProject. name: function | edge | auth | postgres | all."""

    def __init__(self, project: DemoProject, name: str, *, poll_s: float = 0.25, batch_s: int = 60) -> None:
        if name != "all" and name not in SOURCES:
            raise ValueError(f"unknown demo log source {name!r} (expected one of: {', '.join((*SOURCES, 'all'))})")
        self.project = project
        self.name = name
        self._sources: tuple[str, ...] = SOURCES if name == "all" else (name,)
        self._poll_s = poll_s
        self._batch_s = max(1, batch_s)
        self._cursor: int | None = None  # the next second to emit

    def lag_seconds(self) -> float | None:
        """Simulated seconds between the clock and the end of the last second emitted (under ~1 s when caught up)."""
        if self._cursor is None:
            return None
        return max(0.0, self.project.clock.epoch() - self._cursor)

    def window(self, start: int, end: int) -> list[LogRecord]:
        """Records of the whole seconds [start, end), oldest first (synchronous; for tests and exports)."""
        out: list[LogRecord] = []
        for s in range(start, end):
            out.extend(records_for_second(self.project, s, self._sources))
        return out

    async def records(self, since: datetime | None, follow: bool) -> AsyncIterator[list[LogRecord]]:
        now = self.project.sync()
        if since is None:
            since_epoch = math.floor(now) - DEFAULT_HISTORY_S
        else:
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
            since_epoch = since.timestamp()
        # Like the Supabase logs endpoint, one request covers at most a day.
        since_epoch = max(since_epoch, now - MAX_HISTORY_S)
        cursor = math.floor(since_epoch)
        first = True
        self._cursor = cursor
        while True:
            end = math.floor(self.project.sync())
            while cursor < end:
                # A batch is at most batch_s simulated seconds or ~BATCH_BUDGET_S of work, whichever
                # comes first, so a long history never holds the event loop for long.
                started = time.perf_counter()
                stop = cursor
                batch: list[LogRecord] = []
                while stop < min(end, cursor + self._batch_s):
                    batch.extend(records_for_second(self.project, stop, self._sources))
                    stop += 1
                    if time.perf_counter() - started > BATCH_BUDGET_S:
                        break
                if first:
                    batch = [r for r in batch if r.ts.timestamp() >= since_epoch]
                    first = False
                cursor = stop
                self._cursor = cursor
                if batch:
                    yield batch
                await asyncio.sleep(0)
            if not follow:
                return
            await asyncio.sleep(self._poll_s)
