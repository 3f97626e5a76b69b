"""The ring as a LogSource: what `drain serve` stored, read back and followed.

Readers are other processes (the console, `cs-console logs`): they read
whole lines only (a line is complete once its newline is there; the writer
never leaves a line half-written on a live system, and cuts a torn one on
restart), move to the next segment when one appears, and poll for new lines
every `poll_interval` (a stat and a read: the console sets 25 ms).

Records keep a LineRef to their JSON in the segment instead of the event's
metadata: the detail view reads it back (a segment deleted by retention
meanwhile makes it say so).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from cs_console.backends.drain.ring import segment_paths
from cs_console.domain.drain_events import DEFAULT_TAIL, TABLES_OF_SOURCE, event_record, quiet_since
from cs_console.domain.log_record import LENGTH_MASK, LENGTH_BITS, LineRef, LogRecord
from cs_console.domain.safe_text import decode_bytes
from cs_console.domain.sources import SourceState, SourceStatus

READ_CHUNK = 4 << 20
MAX_BATCH = 5000


class SegmentLines:
    """Reads a stored event's JSON back for the detail view (opened per read: segments come and go)."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def read_line(self, offset: int, length: int) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        return decode_bytes(data) if len(data) == length else None


class RingLogSource:
    name = "drain"

    def __init__(self, directory: Path, source: str = "drain", *, poll_interval: float = 0.05) -> None:
        self.directory = directory
        self.tables = TABLES_OF_SOURCE.get(source)
        self.poll_interval = poll_interval
        self._lag: float | None = None
        self._newest_us = 0
        self._caught_up = False
        self._started: float | None = None  # when the tail began (wall clock): quiet since then if nothing came

    lag_label = "drain lag"  # the Logs pane's status line: the lag is the drain's, event time to display

    # -------------------------------------------------------------- protocol

    def lag_seconds(self) -> float | None:
        """Event time to display for the newest live event read (the sender's batching included);
        None until one arrives: what the tail read back from storage is not lag (stored_up_to)."""
        return self._lag

    def stored_up_to(self) -> datetime | None:
        """Time of the newest event read so far (the backfill's end before a live one came)."""
        from datetime import timezone

        return datetime.fromtimestamp(self._newest_us / 1e6, timezone.utc) if self._newest_us else None

    def quiet_seconds(self) -> float | None:
        """How old the newest event read is (since the tail began, when none was): the drain gone quiet."""
        return quiet_since(self._newest_us, self._started, time.time())

    def caught_up(self) -> bool:
        """Everything stored so far has been read."""
        return self._caught_up

    def status(self) -> SourceStatus:
        if not self.directory.is_dir():
            return SourceStatus("drain", SourceState.DOWN, f"no drain data in {self.directory} (is `cs-console drain serve` running?)")
        return SourceStatus("drain", SourceState.UP, "drain ring")

    async def oldest_stored(self) -> datetime | None:
        """Time of the oldest event still stored (the history the drain has), if any."""
        from datetime import timezone

        for _, path in segment_paths(self.directory):
            try:
                with open(path, "rb") as fh:
                    first = fh.readline()
            except OSError:
                continue
            if first.endswith(b"\n"):
                try:
                    return datetime.fromtimestamp(int(first.split(b"\t", 1)[0]) / 1e6, timezone.utc)
                except ValueError:
                    continue
        return None

    async def records(self, since: datetime | None, follow: bool, tail: int | None = None) -> AsyncIterator[list[LogRecord]]:
        since_us = int(since.timestamp() * 1e6) if since is not None else None
        if self._started is None:
            self._started = time.time()
        number, offset = self._start(since, tail or DEFAULT_TAIL)
        while True:
            segments = segment_paths(self.directory)
            current = next((p for n, p in segments if n == number), None)
            if current is None:
                later = [(n, p) for n, p in segments if n > number]
                if later:
                    number, offset = later[0][0], 0  # ours was pruned: go on from the next
                    continue
            progressed = False
            if current is not None:
                async for batch, offset in self._read(current, offset, since_us):
                    progressed = True
                    if batch:
                        yield batch
            newer = [n for n, _ in segments if n > number]
            if newer and current is not None and not progressed:
                # Segment finished (the writer moved on): re-check once for a last write, then go on.
                size = _size(current)
                if size is None or offset >= size:
                    number, offset = newer[0], 0
                    continue
            if progressed:
                continue
            self._caught_up = True
            if not follow:
                return
            await asyncio.sleep(self.poll_interval)

    # -------------------------------------------------------------- reading

    def _start(self, since: datetime | None, tail: int) -> tuple[int, int]:
        """(segment number, offset) to start at: the first segment that can hold `since`, or `tail` lines back."""
        segments = segment_paths(self.directory)
        if not segments:
            return 0, 0
        if since is not None:
            cutoff = since.timestamp() - 5.0  # a segment last written before since holds nothing newer
            for n, p in segments:
                try:
                    if p.stat().st_mtime >= cutoff:
                        return n, 0
                except FileNotFoundError:
                    continue
            return segments[-1][0], _size(segments[-1][1]) or 0
        need = tail
        for n, p in reversed(segments):
            try:
                data = p.read_bytes()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1
            starts = self._matching_starts(data[:end])
            if len(starts) >= need:
                return n, starts[len(starts) - need]
            need -= len(starts)
        return segments[0][0], 0  # fewer stored than asked: all of it

    def _matching_starts(self, data: bytes) -> list[int]:
        starts: list[int] = []
        pos = 0
        tables = self.tables
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            if tables is None:
                starts.append(pos)
            else:
                parts = data[pos:min(nl, pos + 300)].split(b"\t", 3)
                if len(parts) >= 3 and parts[2].decode("ascii", "replace") in tables:
                    starts.append(pos)
            pos = nl + 1
        return starts

    async def _read(self, path: Path, offset: int, since_us: int | None) -> AsyncIterator[tuple[list[LogRecord], int]]:
        """Batches of records from whole lines at `offset` onwards, with the offset after each batch."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        reader = SegmentLines(path)
        tables = self.tables
        try:
            while True:
                try:
                    chunk = os.pread(fd, READ_CHUNK, offset)
                except OSError:
                    return
                end = chunk.rfind(b"\n") + 1
                if end == 0:
                    return
                batch: list[LogRecord] = []
                pos = 0
                newest = 0  # this chunk's newest event
                while pos < end:
                    nl = chunk.index(b"\n", pos)
                    line_start = offset + pos
                    parts = chunk[pos:nl].split(b"\t", 3)
                    pos = nl + 1
                    if len(parts) != 4:
                        continue
                    try:
                        ts_us = int(parts[0])
                    except ValueError:
                        continue
                    table = parts[2].decode("ascii", "replace")
                    if tables is not None and table not in tables:
                        continue
                    if since_us is not None and ts_us < since_us:
                        continue
                    text = parts[3]
                    try:
                        event = json.loads(text)
                    except ValueError:
                        continue
                    if not isinstance(event, dict):
                        continue
                    json_at = line_start + len(parts[0]) + len(parts[1]) + len(parts[2]) + 3
                    line: str | LineRef = (
                        LineRef(reader, (json_at << LENGTH_BITS) | len(text)) if len(text) <= LENGTH_MASK else decode_bytes(text)
                    )
                    batch.append(event_record(event, table, line))
                    if ts_us > newest:
                        newest = ts_us
                    if len(batch) >= MAX_BATCH:
                        break
                offset += pos
                if newest:
                    self._newest_us = max(self._newest_us, newest)
                    if self._caught_up:  # live events (read after the stored ones): their lag, even if older than the stored
                        self._lag = max(0.0, time.time() - newest / 1e6)
                yield batch, offset
                await asyncio.sleep(0)
        finally:
            os.close(fd)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
