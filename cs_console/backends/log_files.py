"""Local log sources: a file (`file:PATH`) and standard input (`-`).

    open_local_log_source(spec) -> FileLogSource | StdinLogSource
        raises LocalLogSourceError (one line) for a missing/unreadable file.

    source.records(since=None, follow=False, *, tail=None, backfill=False)
        async iterator of record batches, oldest first. `tail=N` starts with
        (at most) the last N lines instead of the whole file; with
        `backfill=True` the newest lines come first and older ones follow as
        `Backfill` batches (LogBuffer.ingest puts them in front), so the end of
        a huge file is on screen after one chunk. `follow` tails appends and
        survives rotation (the path's inode changes: the old file is drained,
        the new one read from 0) and truncation (size shrinks: read from 0).
    source.lag_seconds()   0.0 when caught up with the file, else how long since
                           we last were; None before the first read.
    source.status()        SourceStatus for the header (rotations, truncations).

Reads are big (1-4 MiB) and parsing runs in a worker thread so the event loop
stays responsive. Invalid UTF-8 shows as \\xNN; a line over 1 MiB is cut at
read time with a marker (and the stored text at 64 KiB, see log_parsing).
stdin is read by a daemon thread (a blocking read never holds up exit);
`detach_stdin_for_tui()` moves piped data off fd 0 so Textual can read the
keyboard from /dev/tty, the way `lnav` and `tl` accept pipes.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from itertools import accumulate
from datetime import datetime
from pathlib import Path

from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.log_buffer import Backfill
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.log_record import LENGTH_BITS, LENGTH_MASK, LogRecord
from cs_console.domain.safe_text import decode_bytes, safe_text
from cs_console.domain.sources import SourceState, SourceStatus

READ_CHUNK = 1 << 20  # catch-up reads (bigger buys no speed and leaves more freed memory behind)
FOLLOW_CHUNK = 1 << 20
FIRST_SCREEN_CHUNK = 64 << 10  # a few hundred lines: more than a screen
MAX_LINE_BYTES = 1 << 20
THREAD_PARSE_BYTES = 256 << 10  # parse bigger reads off the event loop
POLL_INTERVAL_S = 0.05
LINE_CUT_MARKER = " …[line cut: {n} more bytes]"


class LocalLogSourceError(ValueError):
    """A local source that cannot be opened; str() is one line for the operator."""


# ----------------------------------------------------------------- splitting bytes into lines


class LineSplitter:
    """Bytes in, complete text lines out. Keeps the unterminated tail for the next feed.

    Lines longer than `max_line` bytes are cut: the first `max_line` bytes are
    kept and a marker says how many were dropped. Given the file offset of the
    data (`at`), `refs` holds, for each line returned, its offset and length
    packed for a LineRef (None for a cut line).
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._pending = bytearray()
        self._pending_start: int | None = None  # file offset of the pending line
        self._discarding = 0  # bytes dropped from the current overlong line
        self.refs: list[int | None] | None = None

    def reset(self) -> None:
        self._pending.clear()
        self._pending_start = None
        self._discarding = 0

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def feed(self, data: bytes, at: int | None = None) -> list[str]:
        self.refs = [] if at is not None else None
        if not data:
            return []
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            self._add_partial(data, at)
            return []
        out: list[str] = []
        first_nl = data.find(b"\n")
        if self._pending or self._discarding:
            # Finish the line that started in an earlier chunk.
            self._add_partial(data[:first_nl], at)
            out.append(self._take_pending(self.refs))
            start = first_nl + 1
        else:
            start = 0
        if start <= last_nl:
            lines, refs = self._split(data[start : last_nl + 1], None if at is None else at + start)
            out.extend(lines)
            if self.refs is not None and refs is not None:
                self.refs.extend(refs)
        self._add_partial(data[last_nl + 1 :], None if at is None else at + last_nl + 1)
        return out

    def flush(self) -> list[str]:
        """The unterminated last line, at the end of a stream that is not followed."""
        self.refs = [] if self._pending_start is not None else None
        if self._pending or self._discarding:
            return [self._take_pending(self.refs)]
        return []

    def _add_partial(self, data: bytes, at: int | None) -> None:
        if not data:
            return
        if not self._pending and not self._discarding:
            self._pending_start = at
        room = self.max_line - len(self._pending)
        if len(data) <= room:
            self._pending += data
        else:
            self._pending += data[: max(room, 0)]
            self._discarding += len(data) - max(room, 0)

    def _take_pending(self, refs: list[int | None] | None) -> str:
        text = decode_bytes(bytes(self._pending))
        if refs is not None:
            length = len(self._pending)
            ok = self._pending_start is not None and not self._discarding and length <= LENGTH_MASK
            refs.append((self._pending_start << LENGTH_BITS) | length if ok else None)  # type: ignore[operator]
        if text.endswith("\r"):
            text = text[:-1]
        if self._discarding:
            text += LINE_CUT_MARKER.format(n=self._discarding)
        self.reset()
        return text

    def _split(self, block: bytes, at: int | None) -> tuple[list[str], list[int | None] | None]:
        """`block` ends with a newline; one decode and one split for the whole block."""
        text = decode_bytes(block)
        lines = text.split("\n")
        lines.pop()  # after the final newline
        refs: list[int | None] | None = None
        if at is not None:
            if block.isascii():
                lengths = list(map(len, lines))
            else:  # byte lengths differ from character counts
                parts = block.split(b"\n")
                parts.pop()
                lengths = list(map(len, parts))
            starts = accumulate(map((1).__add__, lengths), initial=at)
            refs = [(s << LENGTH_BITS) | n if n <= LENGTH_MASK else None for s, n in zip(starts, lengths)]
        if "\r" in text:
            lines = [line[:-1] if line[-1:] == "\r" else line for line in lines]
        if len(block) > self.max_line and max(map(len, lines)) > self.max_line:
            if refs is not None:
                refs = [None if len(line) > self.max_line else r for line, r in zip(lines, refs)]
            lines = [_cut_line(line, self.max_line) for line in lines]
        return lines, refs


class _FileLines:
    """Reads kept lines back from one opened file (a LineReader for LineRefs).

    It holds its own descriptor, so lines of a rotated file stay readable
    while records need them; closed when the last such record is gone.
    A truncation makes the old offsets meaningless: `valid` turns False.
    """

    __slots__ = ("fd", "valid")

    def __init__(self, fd: int) -> None:
        self.fd = os.dup(fd)
        os.set_inheritable(self.fd, False)
        self.valid = True

    def read_line(self, offset: int, length: int) -> str | None:
        if not self.valid or self.fd < 0:
            return None
        try:
            data = os.pread(self.fd, length, offset)
        except OSError:
            return None
        if len(data) != length:
            return None
        text = decode_bytes(data)
        return text[:-1] if text.endswith("\r") else text

    def __del__(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _cut_line(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return line[:limit] + LINE_CUT_MARKER.format(n=len(line.encode("utf-8", "surrogateescape")) - limit)


# ----------------------------------------------------------------- common


class _LineSource:
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

    _lines: _FileLines | None = None  # where LineRefs read from (files only)

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


# ----------------------------------------------------------------- files


class FileLogSource(_LineSource):
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
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise LocalLogSourceError(f"{safe_text(str(self.path), 200)}: no such file") from None
        except IsADirectoryError:
            raise LocalLogSourceError(f"{safe_text(str(self.path), 200)}: is a directory, not a log file") from None
        except PermissionError:
            raise LocalLogSourceError(f"{safe_text(str(self.path), 200)}: permission denied") from None
        except OSError as exc:
            raise LocalLogSourceError(f"{safe_text(str(self.path), 200)}: {exc.strerror or exc}") from None
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            os.close(fd)
            raise LocalLogSourceError(f"{safe_text(str(self.path), 200)}: is a directory, not a log file")
        return fd, st

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
                async for batch in _stream_batches(self, fd, since, splitter):
                    yield batch
                return
            self._lines = _FileLines(fd)
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
            ident: tuple[int, int] | None = (st.st_dev, st.st_ino)
            while True:
                await asyncio.sleep(self.poll_interval)
                if fd < 0:  # rotated away and the new file was not there yet
                    try:
                        fd, st = self._open()
                    except LocalLogSourceError:
                        continue
                    self._reopen_waiting = False
                    ident = (st.st_dev, st.st_ino)
                    self.rotations += 1
                    self._pos = 0
                    self._lines = _FileLines(fd)  # the old file's reader lives on with its records
                try:
                    now_st = os.stat(self.path)
                    path_ident: tuple[int, int] | None = (now_st.st_dev, now_st.st_ino)
                except OSError:
                    path_ident = None
                # Drain what was appended to the file we hold (also after a rotation).
                async for batch in self._read_forward(fd, self._pos, splitter, since):
                    yield batch
                if path_ident is not None and path_ident != ident:
                    rest = self._since(self._parse(splitter.flush(), splitter.refs), since)
                    if rest:
                        yield rest
                    os.close(fd)
                    fd = -1
                    self._reopen_waiting = True
                    continue
                self._reopen_waiting = path_ident is None
                if os.fstat(fd).st_size < self._pos:
                    # Truncated in place (copytruncate, `> file`): start again at 0.
                    self.truncations += 1
                    splitter.reset()
                    if self._lines is not None:
                        self._lines.valid = False  # old offsets now point at new text
                    self._lines = _FileLines(fd)
                    async for batch in self._read_forward(fd, 0, splitter, since):
                        yield batch
                self._mark(caught_up=True)
        finally:
            if fd >= 0:
                os.close(fd)

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


# ----------------------------------------------------------------- stdin

_STDIN_FD: int | None = None  # where piped stdin lives after detach_stdin_for_tui()


def detach_stdin_for_tui() -> bool:
    """Before a TUI starts with `-` as its source: keep the pipe on a new fd and put
    the terminal on fd 0 for the keyboard. False if stdin is already a terminal
    (then there is no piped data) or no terminal can be opened."""
    global _STDIN_FD
    if _STDIN_FD is not None:
        return True
    try:
        if os.isatty(0):
            return False
        data_fd = os.dup(0)
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    os.dup2(tty, 0)
    os.close(tty)
    os.set_inheritable(data_fd, False)
    _STDIN_FD = data_fd
    return True


class StdinLogSource(_LineSource):
    """Standard input (or any pipe fd). It can be read once; `follow` changes nothing:
    a pipe ends when the writer closes it."""

    def __init__(self, fd: int | None = None, *, clock: Clock | None = None, max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__("stdin", clock or SystemClock())
        self.name = "stdin"
        self.fd = fd if fd is not None else (_STDIN_FD if _STDIN_FD is not None else _stdin_fd())
        self.max_line = max_line
        self.ended = False
        self._started = False

    def status(self) -> SourceStatus:
        if self.error:
            return SourceStatus("logs", SourceState.DOWN, f"stdin: {self.error}")
        detail = f"stdin: {self.lines_read} lines" + (" (ended)" if self.ended else "")
        return SourceStatus("logs", SourceState.UP, detail)

    async def records(
        self,
        since: datetime | None = None,
        follow: bool = False,
        *,
        tail: int | None = None,
        backfill: bool = False,
    ) -> AsyncIterator[list[LogRecord]]:
        if self._started:
            return  # a pipe is consumed once
        self._started = True
        async for batch in _stream_batches(self, self.fd, since, LineSplitter(self.max_line)):
            yield batch


def _stdin_fd() -> int:
    try:
        return sys.stdin.fileno() if sys.stdin is not None else 0
    except (ValueError, OSError, AttributeError):
        return 0


async def _stream_batches(
    source: _LineSource, fd: int, since: datetime | None, splitter: LineSplitter
) -> AsyncIterator[list[LogRecord]]:
    """Read a pipe with a daemon thread; parse whatever has arrived as one batch."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(maxsize=64)
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                data = os.read(fd, FOLLOW_CHUNK)
            except InterruptedError:
                continue
            except OSError as exc:
                _put(exc)
                return
            _put(data)
            if not data:
                return

    def _put(item: bytes | BaseException) -> None:
        # Blocks the reader (not the loop) when the consumer is behind: back-pressure.
        try:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except (RuntimeError, asyncio.CancelledError, Exception):
            stop.set()

    thread = threading.Thread(target=reader, name=f"cs-console {source.name} reader", daemon=True)
    thread.start()
    source._mark(caught_up=False)
    try:
        while True:
            item = await queue.get()
            chunks: list[bytes] = []
            done = False
            while True:
                if isinstance(item, BaseException):
                    source.error = safe_text(getattr(item, "strerror", None) or str(item), 200)
                    done = True
                    break
                if not item:
                    done = True
                    break
                chunks.append(item)
                if queue.empty() or sum(map(len, chunks)) >= READ_CHUNK:
                    break
                item = queue.get_nowait()
            data = b"".join(chunks)
            source.bytes_read += len(data)
            lines = splitter.feed(data)
            if done:
                lines += splitter.flush()
            records = source._since(await source._parse_async(lines, len(data)), since) if lines else []
            if done and isinstance(source, StdinLogSource):
                source.ended = True
            if done or queue.empty():
                source._mark(caught_up=True)  # before the yield: consumers ask right after
            if records:
                yield records
            if done:
                return
    finally:
        stop.set()


# ----------------------------------------------------------------- entry point


def open_local_log_source(spec: str, *, clock: Clock | None = None) -> FileLogSource | StdinLogSource:
    """`file:PATH` or `-`. Raises LocalLogSourceError when the file cannot be read."""
    if spec == "-":
        return StdinLogSource(clock=clock)
    if not spec.startswith("file:") or not spec[5:]:
        raise LocalLogSourceError(f"not a local log source: {safe_text(spec, 200)!r} (expected file:PATH or -)")
    path = os.path.expanduser(spec[5:])
    source = FileLogSource(path, clock=clock)
    source.check()
    return source


__all__ = [
    "FileLogSource",
    "LineSplitter",
    "LocalLogSourceError",
    "StdinLogSource",
    "detach_stdin_for_tui",
    "open_local_log_source",
]
