"""A log file followed through its line index: what the Logs pane shows for `file:PATH`.

`IndexedLogFile.lines` is the `FilteredLogs` the pane reads (a `RotatedLogLines`
over one `IndexedLogLines` per file); `poll()` keeps it current:

- growth: new complete lines are indexed and filtered (a big backlog, such as
  the whole file on the first poll, is indexed in a thread);
- an unterminated last line is taken as a line once the file has not changed
  for `SETTLE_SECONDS` (a writer that never ends its last line), and indexed
  again if it grows;
- rotation (the path names another inode): the old file's lines stay on screen
  and the old file is read on (its writer may add lines, or finish a half line,
  before it reopens the path); the new file's lines follow; a missing path is
  waited for;
- truncation, or a rewrite past what was read (rotation.rewritten): after
  `copytruncate` the copy is found and read from where we were (nothing written
  since the last poll is lost), and the file is shown again from its start after
  it; without a copy the old lines are gone and the file starts again from 0.

    log = IndexedLogFile(path, now=clock.now)      raises LocalLogSourceError
    await log.poll() -> int                        new matches
    log.indexing        True until the first poll has indexed the whole file
    log.status(), log.lag_seconds(), log.rotations, log.truncations
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cs_console.backends.log_files.file_source import LocalLogSourceError, open_log_file
from cs_console.backends.log_files.indexed_lines import IndexedLogLines
from cs_console.backends.log_files.line_index import LineIndex
from cs_console.backends.log_files.rotated_lines import RotatedLogLines
from cs_console.backends.log_files.rotation import find_copy, rewritten, tail_mark
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sources import SourceState, SourceStatus

TAIL_FIRST_BYTES = 16 << 20  # files bigger than this show their end before the whole is indexed
TAIL_BYTES = 256 << 10  # ... about a thousand lines of it
THREAD_BYTES = 1 << 20  # a backlog this big is indexed in a thread (keys and frames go on)
SETTLE_SECONDS = 0.5
WARM_AFTER_SECONDS = 2.0  # levels are read in the background once filters have been quiet this long
POLL_SECONDS = 0.025


class IndexedLogFile:
    poll_interval = POLL_SECONDS

    def __init__(self, path: str | os.PathLike[str], *, now: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self.name = f"file:{path}"
        fd, st = open_log_file(self.path)
        # A big file shows its end first: a tail index over its last lines is on screen
        # after one small read, while the whole file is indexed in a thread.
        self._full: LineIndex | None = None
        self._full_task: asyncio.Future[object] | None = None
        try:
            tail_start = _tail_start(fd, st.st_size) if st.st_size > TAIL_FIRST_BYTES else 0
            self.lines = RotatedLogLines(IndexedLogLines(LineIndex(fd, start=tail_start), now=now, parser=LineParser("file")))
            if tail_start:
                # Levels after the newlines (warm_levels, between polls): "every line indexed"
                # does not wait for them, and a level filter reads whatever is left at once.
                self._full = LineIndex(fd, inline_levels=False)
        finally:
            os.close(fd)
        self._ident: tuple[int, int] = (st.st_dev, st.st_ino)
        self.indexing = True
        self._indexed_at = 0.0
        self._now = now
        self.rotations = 0
        self._truncations = 0  # rewrites with no copy to read the old text from
        self.waiting = False
        self.error: str | None = None
        self._settling: dict[int, list[float]] = {}  # per file: when an unterminated last line was first seen
        self._mark = b""  # the last bytes indexed (rotation.rewritten)
        self._mark_end = 0

    @property
    def truncations(self) -> int:
        return self._truncations + self.lines.index.truncations

    async def poll(self) -> int:
        """Index and filter what the file gained; follow a truncation or a rotation."""
        if self._full is not None:
            return await self._poll_tail_first()
        return await self._poll()

    async def _poll_tail_first(self) -> int:
        assert self._full is not None
        full = self._full
        if self._full_task is None:
            self._full_task = asyncio.ensure_future(asyncio.to_thread(full.update))
        elif self._full_task.done():
            self._full, task, self._full_task = None, self._full_task, None
            try:
                task.result()
            except OSError as exc:
                self.error = safe_text(exc.strerror or str(exc), 120)
                full.close()
                return await self._poll()  # keep showing the tail
            self.lines.swap_index(full)
            return await self._poll()
        # Meanwhile the tail index follows the end of the file.
        index = self.lines.index
        try:
            got = index.update()
        except OSError as exc:
            self.error = safe_text(exc.strerror or str(exc), 120)
            return 0
        return self.lines.apply(got)

    async def _poll(self) -> int:
        added = 0
        try:
            if not self.indexing and rewritten(self.lines.index.fd, self.lines.index.end, self._mark):
                added += await self._follow_rewrite()
            index = self.lines.index
            size = os.fstat(index.fd).st_size
            if abs(size - index.end) > THREAD_BYTES:
                got = await asyncio.to_thread(index.update)
            else:
                got = index.update()
            added += self.lines.apply(got)
            added += self._settle(self.lines.current, size)
            added += self._follow_rotated()
        except OSError as exc:
            self.error = safe_text(exc.strerror or str(exc), 120)
            return added
        self.error = None
        if index.end != self._mark_end:
            self._mark, self._mark_end = tail_mark(index.fd, index.end), index.end
        if self.indexing:
            self.indexing = False
            self._indexed_at = time.monotonic()
        if time.monotonic() - max(self.lines.filtered_at, self._indexed_at) > WARM_AFTER_SECONDS:
            index.warm_levels()  # while nobody is filtering: the CPU is theirs first
        return added + await self._follow_rotation()

    def _settle(self, seg: IndexedLogLines, size: int) -> int:
        """An unterminated last line is taken once the file has not changed for SETTLE_SECONDS."""
        index = seg.index
        state = self._settling.setdefault(id(seg), [-1, 0.0])  # [size first seen, when]
        if size <= index.end:
            state[0] = -1
            return 0
        now = time.monotonic()
        if size != state[0]:
            state[0], state[1] = size, now
            return 0
        if now - state[1] < SETTLE_SECONDS:
            return 0
        return seg.apply(index.update(final=True))

    def _follow_rotated(self) -> int:
        """Files rotated away are read on: a writer may still hold one (until it reopens the
        path), and a half-written last line is finished there."""
        added = 0
        for seg in self.lines.segments[:-1]:
            index = seg.index
            size = os.fstat(index.fd).st_size
            if size == index.end:
                continue
            got = seg.apply(index.update()) + self._settle(seg, size)
            if got:
                self.lines.moved()  # rows before the newest file's
            added += got
        return added

    async def _follow_rewrite(self) -> int:
        """The file was truncated (or rewritten past what was read). After `copytruncate`
        the copy holds what was written since the last poll: the lines so far stay, read
        from the copy, and the file is shown again from its start after them."""
        index = self.lines.index
        try:
            fd, st = open_log_file(self.path)
        except LocalLogSourceError:
            return 0  # the path is gone too: the rotation check waits for it
        copy = find_copy(self.path, index.end, self._mark, exclude=(st.st_dev, st.st_ino))
        try:
            new = IndexedLogLines(LineIndex(fd), now=self._now, parser=LineParser("file"))
        finally:
            os.close(fd)
        self._ident = (st.st_dev, st.st_ino)
        self._mark, self._mark_end = b"", 0
        old = self.lines.current
        if copy is None:
            self._truncations += 1
            self._settling.pop(id(old), None)
            self.lines.replace_current(new)  # the old text is gone: nothing left to read it from
            return 0
        try:
            index.repoint(copy)
        finally:
            os.close(copy)
        self.rotations += 1
        added = old.apply(index.update())  # what was written after our last read
        self.lines.rotate(new)
        return added

    async def _follow_rotation(self) -> int:
        try:
            st = os.stat(self.path)
        except OSError:
            self.waiting = True  # rotated away, the new file not there yet
            return 0
        if (st.st_dev, st.st_ino) == self._ident:
            self.waiting = False
            return 0
        try:
            fd, st = open_log_file(self.path)
        except LocalLogSourceError:
            self.waiting = True
            return 0
        try:
            new = IndexedLogLines(LineIndex(fd), now=self._now, parser=LineParser("file"))
        finally:
            os.close(fd)
        # The old file stays on screen and is read on (_follow_rotated): nothing its
        # writer adds before reopening the path is lost, a half line is finished there.
        self.lines.rotate(new)
        self._ident = (st.st_dev, st.st_ino)
        self._mark, self._mark_end = b"", 0
        self.rotations += 1
        self.waiting = False
        got = await asyncio.to_thread(new.index.update) if st.st_size > THREAD_BYTES else new.index.update()
        return self.lines.apply(got)

    def lag_seconds(self) -> float | None:
        return None if self.indexing else 0.0

    def status(self) -> SourceStatus:
        label = safe_text(self.path.name, 60)
        if self.error:
            return SourceStatus("logs", SourceState.DOWN, f"{label}: {self.error}")
        if self.waiting:
            return SourceStatus("logs", SourceState.DEGRADED, f"{label}: waiting for the file to reappear")
        notes = [f"rotated {self.rotations}×"] if self.rotations else []
        if self.truncations:
            notes.append(f"truncated {self.truncations}×")
        detail = f"{label}: {self.lines.line_count} lines" + (f" ({', '.join(notes)})" if notes else "")
        return SourceStatus("logs", SourceState.UP, detail)

    def close(self) -> None:
        self.lines.close()
        if self._full is not None:
            self._full.close()


def _tail_start(fd: int, size: int) -> int:
    """Offset of the first line that starts in the last TAIL_BYTES of the file (0: none)."""
    at = size - TAIL_BYTES
    data = os.pread(fd, TAIL_BYTES, at)
    nl = data.find(b"\n")
    return at + nl + 1 if 0 <= nl < len(data) - 1 else 0


def open_indexed_log(spec: str, now: Callable[[], datetime] | None = None) -> IndexedLogFile | None:
    """`file:PATH` of a regular file as an IndexedLogFile; None for anything else (stdin,
    a FIFO: those stream into the buffer). Raises LocalLogSourceError when unreadable."""
    if not spec.startswith("file:") or not spec[5:]:
        return None
    path = os.path.expanduser(spec[5:])
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # let the open say why, in one line
    if mode is not None and not stat.S_ISREG(mode):
        return None  # never opened here: opening a FIFO waits for a writer
    return IndexedLogFile(path, now=now)


__all__ = ["IndexedLogFile", "open_indexed_log"]
