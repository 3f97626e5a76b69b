"""The embedded drain store: a bounded ring of segment files in the state dir.

Layout: `<state>/drain/<profile>/seg-<n>.log`, one line per event:

    <timestamp µs>\t<event id>\t<table>\t<the event as compact JSON>\n

The prefix lets readers skip by time and table, and a restart rebuild its
de-duplication set, without parsing the JSON.

Durability: a batch is written with one write() and fsync'd before its
request is answered (batches that arrive while a sync runs share the next
one: group commit). So a crash (SIGKILL, power loss) can cost only batches
that were never acknowledged, which the sender still holds; what it leaves
is at most one torn last line, cut off when the ring is opened again. A new
segment's directory entry is fsync'd too.

Bounds: a segment is closed when it reaches `segment_bytes` or is
`segment_seconds` old; whole segments are deleted when their newest event is
older than `retention_seconds` or the ring is over `max_bytes`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cs_console.backends.drain.dedupe import RecentIds

_SEGMENT = re.compile(r"^seg-(\d{12})\.log$")


@dataclass(frozen=True)
class RingLimits:
    segment_bytes: int = 8 << 20
    segment_seconds: float = 600.0
    retention_seconds: float = 24 * 3600.0
    max_bytes: int = 512 << 20


def encode_line(ts_us: int, ident: str, table: str, event_json: str) -> bytes:
    return f"{ts_us}\t{ident}\t{table}\t{event_json}\n".encode("utf-8", "surrogatepass")


def segment_paths(directory: Path) -> list[tuple[int, Path]]:
    """The ring's segments, oldest first."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), directory / name) for name in names if (m := _SEGMENT.match(name))]
    return sorted(found)


def segment_name(number: int) -> str:
    return f"seg-{number:012d}.log"


class RingStore:
    """The writer's side (one process: `drain serve`); readers use RingReader."""

    kind = "ring"

    def __init__(self, directory: Path, limits: RingLimits = RingLimits(), *, fsync: bool = True) -> None:
        self.directory = directory
        self.limits = limits
        self.fsync = fsync
        self._fd = -1
        self._number = 0
        self._size = 0
        self._opened_at = 0.0
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writing = False
        self.bytes_written = 0
        self.syncs = 0

    # -------------------------------------------------------------- opening

    def open(self, recent: RecentIds | None = None) -> int:
        """Make the directory, cut a torn last line, and remember recent ids; returns lines recovered."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        segments = segment_paths(self.directory)
        if segments:
            self._number, last = segments[-1]
            _cut_torn_tail(last)
        recovered = 0
        if recent is not None:
            # Newest segments first, until the set is full: those are the ids a retry can repeat.
            for _, path in reversed(segments):
                ids = [ident for _, ident, _ in _prefixes(path)]
                recovered += len(ids)
                recent.preload(ids)
                if recent.full:
                    break
        # Always a fresh segment after a restart: the old one is never appended to again.
        self._open_segment(new=True)
        return recovered

    def _open_segment(self, *, new: bool) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        if new:
            self._number += 1
        path = self.directory / segment_name(self._number)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._opened_at = time.time()
        if new and self.fsync:
            _fsync_dir(self.directory)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -------------------------------------------------------------- writing

    async def put(self, events: list[tuple[str, str, int, str]]) -> None:
        """The receiver's sink: (id, table, timestamp µs, JSON) rows, durable on return."""
        await self.append(b"".join(encode_line(ts, ident, table, text) for ident, table, ts, text in events))

    async def append(self, data: bytes) -> None:
        """Write one batch's lines; returns once they are on disk (fsync'd)."""
        if not data:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((data, fut))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_pending())
        await fut

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._write_group, [data for data, _ in group])
                except Exception as exc:  # noqa: BLE001 - every waiting request hears it (-> 503)
                    for _, fut in group:
                        if not fut.done():
                            fut.set_exception(exc)
                else:
                    for _, fut in group:
                        if not fut.done():
                            fut.set_result(None)
        finally:
            self._writing = False

    def _write_group(self, parts: list[bytes]) -> None:
        limits = self.limits
        if self._size >= limits.segment_bytes or (self._size and time.time() - self._opened_at >= limits.segment_seconds):
            self._open_segment(new=True)
            self.prune()
        data = b"".join(parts)
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self.fsync:
                os.fdatasync(self._fd)
                self.syncs += 1
        except OSError:
            # A full disk mid-write: take the partial batch back out, so the next batch
            # does not start in the middle of a line (those requests are answered 503).
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            raise
        self._size += len(data)
        self.bytes_written += len(data)

    # -------------------------------------------------------------- bounds

    def prune(self, now: float | None = None) -> list[Path]:
        """Delete whole segments past retention or over the size bound (never the open one)."""
        now = time.time() if now is None else now
        segments = [(n, p) for n, p in segment_paths(self.directory) if n != self._number]
        sizes = {}
        for n, p in segments:
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            sizes[p] = (st.st_size, st.st_mtime)
        total = sum(s for s, _ in sizes.values()) + self._size
        removed = []
        for _, path in segments:
            if path not in sizes:
                continue
            size, mtime = sizes[path]
            if now - mtime > self.limits.retention_seconds or total > self.limits.max_bytes:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                total -= size
                removed.append(path)
        return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cut_torn_tail(path: Path) -> None:
    """A write cut off by a crash leaves a last line without its newline: drop it."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        pos = size
        block = 65536
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            if pos == size and chunk.endswith(b"\n"):
                return
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                fh.truncate(start + nl + 1)
                return
            pos = start
        fh.truncate(0)


def _prefixes(path: Path) -> Iterator[tuple[int, str, str]]:
    """(timestamp µs, id, table) of each whole line of a segment."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return
            parts = raw.split(b"\t", 3)
            if len(parts) == 4:
                try:
                    yield int(parts[0]), parts[1].decode("ascii", "replace"), parts[2].decode("ascii", "replace")
                except ValueError:
                    continue
