"""Bytes into text lines, and a kept line read back from its file.

`LineSplitter` turns reads (of any size, cut anywhere) into complete lines;
given the file offset it also packs each line's offset and length, so a JSON
record can keep a LineRef instead of its text. `FileLines` is the LineReader
those refs read from. Invalid UTF-8 shows as \\xNN; a line over 1 MiB is cut
at read time with a marker (and the stored text at 64 KiB, see log_parsing).
"""

from __future__ import annotations

import os
from itertools import accumulate

from cs_console.domain.log_record import LENGTH_BITS, LENGTH_MASK
from cs_console.domain.safe_text import decode_bytes

MAX_LINE_BYTES = 1 << 20
LINE_CUT_MARKER = " …[line cut: {n} more bytes]"


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


class FileLines:
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
