"""Pipes: standard input (`-`) and FIFOs, read by a daemon thread.

A blocking read never holds up exit (the thread is a daemon), and a consumer
that falls behind blocks the reader, not the event loop. `detach_stdin_for_tui()`
moves piped data off fd 0 so Textual can read the keyboard from /dev/tty, the
way `lnav` and `tl` accept pipes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator
from datetime import datetime

from cs_console.backends.log_files.line_source import FOLLOW_CHUNK, READ_CHUNK, LineSource
from cs_console.backends.log_files.lines import MAX_LINE_BYTES, LineSplitter
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.log_record import LogRecord
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sources import SourceState, SourceStatus

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


class StdinLogSource(LineSource):
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
        async for batch in stream_batches(self, self.fd, since, LineSplitter(self.max_line)):
            yield batch


def _stdin_fd() -> int:
    try:
        return sys.stdin.fileno() if sys.stdin is not None else 0
    except (ValueError, OSError, AttributeError):
        return 0


async def stream_batches(
    source: LineSource, fd: int, since: datetime | None, splitter: LineSplitter
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

