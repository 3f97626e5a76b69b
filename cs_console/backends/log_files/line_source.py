"""What the file and the stdin sources share: parsing (off the loop for big reads), since=, lag."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from cs_console.backends.log_files.lines import FileLines
from cs_console.domain.clock import Clock
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.log_record import LogRecord

READ_CHUNK = 1 << 20  # catch-up reads (bigger buys no speed and leaves more freed memory behind)
FOLLOW_CHUNK = 1 << 20
THREAD_PARSE_BYTES = 256 << 10  # parse bigger reads off the event loop


class LineSource:
    """Shared parts: parsing (in a thread for big blocks), since-filter, lag."""

    name: str

    def __init__(self, source: str, clock: Clock) -> None:
        self._parser = LineParser(source)
        self._clock = clock
        self._caught_up_at: datetime | None = None
        self._behind_since: datetime | None = None
        self.lines_read = 0
        self.bytes_read = 0
        self.error: str | None = None

    _lines: FileLines | None = None  # where LineRefs read from (files only)

    def _parse(self, lines: list[str], refs: Sequence[int | None] | None = None) -> list[LogRecord]:
        self.lines_read += len(lines)
        reader = self._lines if refs is not None else None
        return self._parser.parse_lines(lines, self._clock.now(), reader, refs)

    async def _parse_async(self, lines: list[str], size: int, refs: Sequence[int | None] | None = None) -> list[LogRecord]:
        if size >= THREAD_PARSE_BYTES:
            return await asyncio.to_thread(self._parse, lines, refs)
        return self._parse(lines, refs)

    @staticmethod
    def _since(records: list[LogRecord], since: datetime | None) -> list[LogRecord]:
        if since is None or not records:
            return records
        return [r for r in records if r.ts >= since]

    def _mark(self, caught_up: bool) -> None:
        now = self._clock.now()
        if caught_up:
            self._caught_up_at = now
            self._behind_since = None
        elif self._behind_since is None:
            self._behind_since = now

    def lag_seconds(self) -> float | None:
        if self._behind_since is not None:
            return max(0.0, (self._clock.now() - self._behind_since).total_seconds())
        if self._caught_up_at is None:
            return None
        return 0.0
