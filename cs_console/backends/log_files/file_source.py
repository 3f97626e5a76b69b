"""A local log file (`file:PATH`): the last lines first, then follow it through rotation and truncation.

Reads are big (1-4 MiB) and parsing runs in a worker thread so the event loop
stays responsive. `tail=N` starts at the last N lines (found by counting
newlines backwards); with `backfill=True` the newest chunk is parsed first and
older chunks follow as `Backfill` batches. Following polls the path: a new
inode is a rotation (the old file is drained, the new one read from 0), a
smaller size a truncation (read again from 0). Nothing is lost at either: the old file
is read on while its writer may still add to it, and after `copytruncate` the copy is
read on from where we were (see `_follow`, rotation.py).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from cs_console.backends.log_files.line_source import FOLLOW_CHUNK, READ_CHUNK, THREAD_PARSE_BYTES, LineSource
from cs_console.backends.log_files.lines import MAX_LINE_BYTES, FileLines, LineSplitter
from cs_console.backends.log_files.pipes import stream_batches
from cs_console.backends.log_files.rotation import find_copy, rewritten, tail_mark
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.log_buffer import Backfill
from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sources import SourceState, SourceStatus

FIRST_SCREEN_CHUNK = 64 << 10  # a few hundred lines: more than a screen
POLL_INTERVAL_S = 0.05
ROTATED_QUIET_S = 10.0  # a file rotated away is read on until it has been quiet this long


class _Held:
    """A file being read: its own descriptor, where we are, its partial line."""

    def __init__(self, fd: int, ident: tuple[int, int], splitter: LineSplitter, lines: FileLines | None, pos: int) -> None:
        self.fd, self.ident, self.splitter, self.lines, self.pos = fd, ident, splitter, lines, pos
        self.mark = tail_mark(fd, pos)
        self.changed_at = time.monotonic()

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


class LocalLogSourceError(ValueError):
    """A local source that cannot be opened; str() is one line for the operator."""


class FileLogSource(LineSource):
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        poll_interval: float = POLL_INTERVAL_S,
        read_chunk: int = READ_CHUNK,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        super().__init__("file", clock or SystemClock())
        self.path = Path(path)
        self.name = f"file:{path}"
        self.poll_interval = poll_interval
        self.read_chunk = read_chunk
        self.max_line = max_line
        self.rotations = 0
        self.truncations = 0
        self._reopen_waiting = False
        self._pos = 0  # next byte to read from the file we hold

    def status(self) -> SourceStatus:
        label = safe_text(self.path.name, 60)
        if self.error:
            return SourceStatus("logs", SourceState.DOWN, f"{label}: {self.error}")
        notes = []
        if self.rotations:
            notes.append(f"rotated {self.rotations}×")
        if self.truncations:
            notes.append(f"truncated {self.truncations}×")
        if self._reopen_waiting:
            return SourceStatus("logs", SourceState.DEGRADED, f"{label}: waiting for the file to reappear")
        detail = f"{label}: {self.lines_read} lines" + (f" ({', '.join(notes)})" if notes else "")
        return SourceStatus("logs", SourceState.UP, detail)

    def _open(self) -> tuple[int, os.stat_result]:
        return open_log_file(self.path)

    def check(self) -> None:
        """Raise LocalLogSourceError now if the file cannot be opened."""
        fd, _ = self._open()
        os.close(fd)

    async def records(
        self,
        since: datetime | None = None,
        follow: bool = False,
        *,
        tail: int | None = None,
        backfill: bool = False,
    ) -> AsyncIterator[list[LogRecord]]:
        fd, st = self._open()
        splitter = LineSplitter(self.max_line)
        try:
            if not stat.S_ISREG(st.st_mode):
                # A FIFO or character device given as file:PATH: read it like a pipe.
                async for batch in stream_batches(self, fd, since, splitter):
                    yield batch
                return
            self._lines = FileLines(fd)
            pos = 0
            if tail is not None and tail >= 0:
                if backfill:
                    async for batch in self._read_backwards(fd, st.st_size, tail, since):
                        yield batch
                    pos = self._pos
                else:
                    pos = await asyncio.to_thread(_offset_of_last_lines, fd, st.st_size, tail)
            async for batch in self._read_forward(fd, pos, splitter, since):
                yield batch
            self._mark(caught_up=True)
            if not follow:
                rest = self._since(self._parse(splitter.flush(), splitter.refs), since)
                if rest:
                    yield rest
                return
            async for batch in self._follow(fd, (st.st_dev, st.st_ino), splitter, since):
                yield batch
        finally:
            if fd >= 0:
                os.close(fd)

    async def _follow(
        self, fd: int, ident: tuple[int, int], splitter: LineSplitter, since: datetime | None
    ) -> AsyncIterator[list[LogRecord]]:
        """Follow the path: appends, rotation, truncation. `fd` stays the caller's to close.

        A file rotated away is read on until it has been quiet for ROTATED_QUIET_S (its
        writer may add lines, or finish a half line, before it reopens the path); a
        truncation (or a rewrite past what was read) after `copytruncate` is read on
        from the copy first (rotation.find_copy), so nothing is lost or read twice."""
        held: _Held | None = _Held(os.dup(fd), ident, splitter, self._lines, self._pos)
        rotated: list[_Held] = []
        try:
            while True:
                await asyncio.sleep(self.poll_interval)
                for old in list(rotated):
                    async for batch in self._drain(old, since):
                        yield batch
                    if time.monotonic() - old.changed_at > ROTATED_QUIET_S:
                        rest = self._flush(old, since)
                        rotated.remove(old)
                        old.close()
                        if rest:
                            yield rest
                if held is None:  # rotated away and the new file was not there yet
                    try:
                        new_fd, st = self._open()
                    except LocalLogSourceError:
                        continue
                    self._reopen_waiting = False
                    self.rotations += 1
                    held = _Held(new_fd, (st.st_dev, st.st_ino), LineSplitter(self.max_line), FileLines(new_fd), 0)
                try:
                    now_st = os.stat(self.path)
                    path_ident: tuple[int, int] | None = (now_st.st_dev, now_st.st_ino)
                except OSError:
                    path_ident = None
                if rewritten(held.fd, held.pos, held.mark):
                    async for batch in self._after_rewrite(held, since):
                        yield batch
                async for batch in self._drain(held, since):  # also what the old file gained
                    yield batch
                if path_ident is not None and path_ident != held.ident:
                    rotated.append(held)
                    held = None
                    self._reopen_waiting = True
                    continue
                self._reopen_waiting = path_ident is None
                self._mark(caught_up=True)
        finally:
            for h in [*rotated, *([held] if held else [])]:
                h.close()

    async def _drain(self, held: "_Held", since: datetime | None) -> AsyncIterator[list[LogRecord]]:
        if os.fstat(held.fd).st_size <= held.pos:
            return
        self._lines = held.lines
        async for batch in self._read_forward(held.fd, held.pos, held.splitter, since):
            held.pos = self._pos
            yield batch
        held.pos = self._pos
        held.changed_at = time.monotonic()
        held.mark = tail_mark(held.fd, held.pos)

    def _flush(self, held: "_Held", since: datetime | None) -> list[LogRecord]:
        self._lines = held.lines
        return self._since(self._parse(held.splitter.flush(), held.splitter.refs), since)

    async def _after_rewrite(self, held: "_Held", since: datetime | None) -> AsyncIterator[list[LogRecord]]:
        """Truncated, or rewritten past held.pos: read the copy on from there if there is
        one (copytruncate), then the file again from 0."""
        copy = find_copy(self.path, held.pos, held.mark, exclude=held.ident)
        if copy is not None:
            self.rotations += 1
            the_copy = _Held(copy, held.ident, held.splitter, FileLines(copy), held.pos)
            async for batch in self._drain(the_copy, since):
                yield batch
            rest = self._flush(the_copy, since)
            the_copy.close()
            if rest:
                yield rest
        else:
            self.truncations += 1
            if held.lines is not None:
                held.lines.valid = False  # old offsets now point at new text
        held.splitter.reset()
        held.lines = FileLines(held.fd)
        held.pos, held.mark = 0, b""

    async def _read_forward(self, fd: int, pos: int, splitter: LineSplitter, since: datetime | None) -> AsyncIterator[list[LogRecord]]:
        """Read from `pos` to the current end in big chunks; leaves self._pos at the end."""
        self._pos = pos
        while True:
            size = os.fstat(fd).st_size
            if self._pos >= size:
                return
            self._mark(caught_up=False)
            want = min(self.read_chunk if size - self._pos > FOLLOW_CHUNK else FOLLOW_CHUNK, size - self._pos)
            data = await asyncio.to_thread(os.pread, fd, want, self._pos) if want >= THREAD_PARSE_BYTES else os.pread(fd, want, self._pos)
            if not data:
                return
            lines = splitter.feed(data, at=self._pos)
            self._pos += len(data)
            self.bytes_read += len(data)
            if not lines:
                continue
            records = self._since(await self._parse_async(lines, len(data), splitter.refs), since)
            if self._pos >= size:
                self._mark(caught_up=True)  # before the yield: consumers ask right after
            if records:
                yield records

    async def _read_backwards(self, fd: int, end: int, tail: int, since: datetime | None) -> AsyncIterator[list[LogRecord]]:
        """The last `tail` complete lines of [0, end): the newest chunk first, then
        older chunks as Backfill batches. Sets self._pos where forward reading
        resumes (the start of an unterminated last line, else `end`)."""
        self._mark(caught_up=False)
        self._pos = end
        first = True
        remaining = tail
        hi = end
        carry = b""  # the end of a line whose start is in an older chunk
        carry_cut = False  # carry holds only the end of a giant line (not contiguous)
        chunk = FIRST_SCREEN_CHUNK  # a small first chunk puts the end of the file on screen fast
        while hi > 0 and remaining > 0:
            lo = max(0, hi - chunk)
            chunk = self.read_chunk
            at_end = hi == end
            data = await asyncio.to_thread(os.pread, fd, hi - lo, lo)
            self.bytes_read += len(data)
            hi = lo
            block = data + carry
            block_at = lo
            joined_cut, carry, carry_cut = carry_cut, b"", False
            if at_end and not data.endswith(b"\n"):
                last_nl = data.rfind(b"\n")
                if last_nl < 0 and lo > 0:
                    carry, carry_cut = data[-self.max_line :], len(data) > self.max_line
                    continue
                self._pos = lo + last_nl + 1  # the unterminated line is read forward later
                block = data[: last_nl + 1]
                remaining -= 1  # ... and counts as one of the `tail` lines
            if lo > 0:
                nl = block.find(b"\n")
                if nl < 0:
                    carry, carry_cut = block[-self.max_line :], True  # one giant line: keep its end only
                    continue
                carry, carry_cut = block[: nl + 1], joined_cut and nl + 1 >= len(block) - len(carry)
                block = block[nl + 1 :]
                block_at = lo + nl + 1
            splitter = LineSplitter(self.max_line)
            lines = splitter.feed(block, at=block_at)
            refs = splitter.refs or [None] * len(lines)
            if joined_cut and refs:
                refs[-1] = None  # the last line was glued to the end of a giant line
            if len(lines) > remaining:
                lines = lines[len(lines) - remaining :]
                refs = refs[len(refs) - remaining :]
            remaining -= len(lines)
            records = self._since(await self._parse_async(lines, len(block), refs), since)
            if records:
                yield records if first else Backfill(records)
                first = False
            elif since is not None and lines:
                break  # this chunk is all older than `since`: older chunks are older still


def open_log_file(path: "str | os.PathLike[str]") -> tuple[int, os.stat_result]:
    """A read-only descriptor and its stat; LocalLogSourceError (one line) if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise LocalLogSourceError(f"{safe_text(str(path), 200)}: no such file") from None
    except IsADirectoryError:
        raise LocalLogSourceError(f"{safe_text(str(path), 200)}: is a directory, not a log file") from None
    except PermissionError:
        raise LocalLogSourceError(f"{safe_text(str(path), 200)}: permission denied") from None
    except OSError as exc:
        raise LocalLogSourceError(f"{safe_text(str(path), 200)}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        os.close(fd)
        raise LocalLogSourceError(f"{safe_text(str(path), 200)}: is a directory, not a log file")
    return fd, st


def _offset_of_last_lines(fd: int, end: int, count: int) -> int:
    """Byte offset where the last `count` lines of [0, end) start (C-speed counting)."""
    if count == 0:
        return end
    hi = end
    seen = 0
    trailing = True
    while hi > 0:
        lo = max(0, hi - READ_CHUNK)
        data = os.pread(fd, hi - lo, lo)
        if trailing and data.endswith(b"\n"):
            data = data[:-1]  # the final newline ends the last line; it does not start one
            hi -= 1
        trailing = False
        n = data.count(b"\n")
        if seen + n >= count:
            idx = len(data)
            for _ in range(count - seen):
                idx = data.rfind(b"\n", 0, idx)
            return lo + idx + 1
        seen += n
        hi = lo
    return 0
