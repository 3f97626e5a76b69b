"""Where every line of a log file starts: a compact offset index, grown as the file grows.

A file opened in the Logs pane need not become a million record objects: this
index keeps one 8-byte offset per line (`array('q')`, 8 MB for 1M lines) and
reads a line back when it is needed. Building it is C-speed work per 4 MiB
chunk (`bytes.split` + `accumulate`), no Python code per line.

Lines are read with `os.pread`, not an mmap: a file truncated under an mmap
raises SIGBUS on the next read of a vanished page, which would kill the
console; pread just returns fewer bytes.

    index = LineIndex(fd)                  # a dup of fd: the caller may close its own
    index.update(final=False) -> Update    new lines since the last call; a
                                           truncation starts the index again from 0
    len(index), index.end                  complete lines, bytes indexed
    index.repoint(fd)                      read a copy of the same bytes from now on (copytruncate)
    index.raw(i) -> bytes                  line i without its newline (and a final \\r),
                                           at most max_line bytes
    index.text(i) -> str                   decoded (bad UTF-8 as \\xNN), a cut line marked
    index.blank(i) -> bool                 nothing but whitespace (the parser skips it)
    index.line_length(i) -> int            full byte length of line i (without newline / \\r)
    index.read(offset, length) -> bytes    a span of the file (for scans over many lines)

An unterminated last line is not indexed while the file may still grow; with
`final=True` (a file that is not followed) it is.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from bisect import bisect_left, bisect_right
from itertools import accumulate, compress, repeat

from cs_console.backends.log_files.line_fields import LineFields
from cs_console.backends.log_files.lines import LINE_CUT_MARKER, MAX_LINE_BYTES
from cs_console.domain.safe_text import decode_bytes

INDEX_CHUNK = 4 << 20
_ASCII_SPACE = b" \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.isspace() also calls space, in ASCII
# ASCII spaces and the first UTF-8 byte of every non-ASCII character str.isspace() accepts
_BLANK_FIRST_BYTES = frozenset(bytes([b]) for b in b" \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f\xc2\xe1\xe2\xe3")
_MAYBE_BLANK = re.compile(b"\n(?=[ \t\r\n\x0b\x0c\x1c-\x1f\xc2\xe1\xe2\xe3])")
LONG_LINE = 32 << 10  # lines longer than this are listed (a cut message may carry a marker)
DEEP_BRACKETS = 400  # json's C scanner recurses per level: a line this nested may exceed the limit
NUMPY_MIN_BYTES = 1 << 20  # below this stdlib is as fast, and numpy (0.15 s to import) stays out of a tail read
_NP: list[Any] = []


def _numpy() -> Any:
    """numpy if installed, imported on the first big block (0.1-0.15 s: not on the way to first paint)."""
    if not _NP:
        try:
            import numpy
        except ImportError:  # optional: the stdlib path gives the same index, slower
            numpy = None
        _NP.append(numpy)
    return _NP[0]


@dataclass(frozen=True, slots=True)
class Update:
    first: int  # first new line number
    added: int  # lines added
    truncated: bool  # the file shrank: the index was rebuilt from 0 (first == 0)
    regrown: bool = False  # the last line, taken without its newline, grew: line `first` is new text


class LineIndex:
    def __init__(
        self, fd: int, *, max_line: int = MAX_LINE_BYTES, chunk: int = INDEX_CHUNK, levels: bool = True, start: int = 0,
        inline_levels: bool = True,
    ) -> None:
        self.fd = os.dup(fd)
        # Where line 0 starts: a tail index (the end of a big file, shown while the whole
        # is indexed) starts at a line boundary near the end. A truncation starts at 0.
        self.origin = start
        os.set_inheritable(self.fd, False)
        self.max_line = max_line
        self.chunk = chunk
        self.truncations = 0
        # Levels are read in the same pass as the newlines (line_fields); timestamps on the
        # first since=/until= (times()), as that costs as much again and few filters use it.
        self.fields: LineFields | None = LineFields() if levels else None
        # inline_levels=False: levels are read on first use or by warm_levels() (a big file's
        # whole index in the background: "every line indexed" need not wait for them).
        self.inline_levels = inline_levels
        self._reset(start)

    def _reset(self, origin: int = 0) -> None:
        self._starts = array("q", [origin])  # starts[i] = offset of line i; starts[-1] = end of the last + 1
        self._blank = array("q")  # line numbers of blank lines (rare: kept sparse, increasing)
        self._long = array("q")  # line numbers of lines over LONG_LINE bytes (rare, increasing)
        self._end = origin  # bytes indexed: just past the last newline (or the file's end when final)
        self._final = False  # the last line has no newline and was taken as complete
        if getattr(self, "fields", None) is not None:
            self.fields.reset()  # type: ignore[union-attr]

    # ------------------------------------------------------------ size

    def __len__(self) -> int:
        return len(self._starts) - 1

    @property
    def end(self) -> int:
        return self._end

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def repoint(self, fd: int) -> None:
        """Read from `fd` (a dup is kept) from now on: a copy holding the same bytes so far
        (what `copytruncate` left), so every offset, level and time stays valid."""
        new = os.dup(fd)
        os.set_inheritable(new, False)
        old, self.fd = self.fd, new
        if old >= 0:
            os.close(old)

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    # ------------------------------------------------------------ growth

    def update(self, *, final: bool = False) -> Update:
        """Index what was appended since the last call (all of it after a truncation)."""
        size = os.fstat(self.fd).st_size
        truncated = size < self._end
        if truncated:
            self.truncations += 1
            self.origin = 0
            self._reset()
        regrown = not truncated and self._final and size > self._end
        if regrown:
            # The last line was taken without its newline and has grown since: index it again.
            self._drop_last()
        first = len(self)
        pos = self._end
        while pos < size and not self._final:
            data = os.pread(self.fd, min(self.chunk, size - pos), pos)
            if not data:
                break
            last_nl = data.rfind(b"\n")
            if last_nl < 0:
                # A line longer than a chunk (so over max_line: never blank); find its end.
                nl = self._find_newline(pos + len(data), size)
                if nl < 0:
                    break
                self._long.append(len(self))
                self._starts.append(nl + 1)
                if self._inline(len(self) - 1):
                    self.fields.add_levels(b"\n", 1, True, [0])  # type: ignore[union-attr]  # longer than a chunk: the parser decides
                pos = self._end = nl + 1
                continue
            self._add_lines(pos, data[: last_nl + 1])
            pos = self._end = pos + last_nl + 1
        if final and pos < size and not self._final:
            tail = os.pread(self.fd, min(size - pos, self.max_line + 1), pos)
            if size - pos <= self.max_line and self._is_blank(tail):
                self._blank.append(len(self))
            if size - pos > LONG_LINE:
                self._long.append(len(self))
            self._starts.append(size + 1)  # as if a newline followed
            self._end = size
            self._final = True
            n = len(self) - 1
            if self._inline(n):
                self._add_fields(tail + b"\n", n, n + 1, n in self._blank)
        return Update(first, len(self) - first, truncated, regrown)

    def _drop_last(self) -> None:
        last = len(self) - 1
        del self._starts[-1]
        if self._blank and self._blank[-1] == last:
            del self._blank[-1]
        if self._long and self._long[-1] == last:
            del self._long[-1]
        self._end = self._starts[-1]
        self._final = False
        if self.fields is not None:
            self.fields.drop_from(last)

    def _find_newline(self, pos: int, size: int) -> int:
        while pos < size:
            data = os.pread(self.fd, min(self.chunk, size - pos), pos)
            if not data:
                return -1
            nl = data.find(b"\n")
            if nl >= 0:
                return pos + nl
            pos += len(data)
        return -1

    def _add_lines(self, pos: int, block: bytes) -> None:
        """Index `block` (complete lines, ending with a newline) read at `pos`."""
        base = len(self)
        np = _numpy() if len(block) >= NUMPY_MIN_BYTES else None
        if np is not None:
            # One C pass finds the newlines (3x faster than split + accumulate, no
            # object per line); the offsets go into the array as raw bytes.
            data = np.frombuffer(block, np.uint8)
            ends = np.flatnonzero(data == 10)
            # lines (after the first) whose first byte may start a blank line, as the regex below
            after = ends[:-1] + 1
            maybe_np = after[_blank_first_table(np)[data[after]]].tolist()
            ends += pos + 1
            self._starts.frombytes(ends.astype(np.int64, copy=False).tobytes())
            lengths_np = np.diff(ends, prepend=pos) - 1
            if int(lengths_np.max(initial=0)) > LONG_LINE:
                self._long.frombytes((np.flatnonzero(lengths_np > LONG_LINE) + base).astype(np.int64).tobytes())
            length_of: Callable[[int], int] = lambda k: int(lengths_np[k])  # noqa: E731
            line_of: Callable[[list[int]], list[int]] = lambda offs: (np.searchsorted(ends, np.asarray(offs) + pos, side="right")).tolist()  # noqa: E731
        else:
            parts = block.split(b"\n")
            parts.pop()
            lengths = list(map(len, parts))
            starts = array("q", accumulate(map((1).__add__, lengths), initial=pos))
            del starts[0]
            self._starts.extend(starts)
            if max(lengths, default=0) > LONG_LINE:
                self._long.extend(compress(range(base, base + len(parts)), map(LONG_LINE.__lt__, lengths)))
            length_of = lengths.__getitem__
            line_of = lambda offs: _line_numbers(block, offs)  # noqa: E731
            maybe_np = None
        # Blank lines are rare: only a line that starts with a space (ASCII or
        # the first byte of a non-ASCII one) or is empty can be one.
        maybe = maybe_np if maybe_np is not None else [m.start() + 1 for m in _MAYBE_BLANK.finditer(block)]
        if block[:1] in _BLANK_FIRST_BYTES:
            maybe.insert(0, 0)
        hits: list[int] = []
        if maybe:
            for k in line_of(maybe):
                if length_of(k) <= self.max_line:
                    start = self._starts[base + k] - pos
                    if self._is_blank(block[start : start + length_of(k)]):
                        hits.append(k)
            self._blank.extend(base + k for k in hits)
        if self._inline(base):
            self._add_fields(block, base, len(self), bool(hits))

    def _inline(self, first: int) -> bool:
        """Read levels now, in the same pass, for lines from `first` (when caught up)."""
        return self.fields is not None and self.inline_levels and len(self.fields.levels) == first

    def _add_fields(self, block: bytes, lo: int, hi: int, blanks: bool) -> None:
        """Levels of lines [lo, hi), whose text (each with its newline) is `block`."""
        assert self.fields is not None
        undecided = self._not_whole(lo, hi)
        self.fields.add_levels(block, hi - lo, blanks, [k - lo for k in undecided])

    def _not_whole(self, lo: int, hi: int) -> list[int]:
        """Lines in [lo, hi) the parser may not read as the JSON they are: cut at max_line,
        or nested deep enough for its recursion limit (only a line of 2*DEEP_BRACKETS
        bytes or more can be)."""
        starts = self._starts
        np = _numpy() if hi - lo > 64 else None
        if np is not None:
            offsets = np.frombuffer(starts[lo : hi + 1].tobytes(), np.int64)
            wide = (np.flatnonzero(np.diff(offsets) > 2 * DEEP_BRACKETS) + lo).tolist()
        else:
            wide = [k for k in range(lo, hi) if starts[k + 1] - starts[k] > 2 * DEEP_BRACKETS]
        out = []
        for k in wide:
            start, stop = starts[k], starts[k + 1] - 1
            if stop - start > self.max_line or _deep(os.pread(self.fd, stop - start, start)):
                out.append(k)
        return out

    def times(self) -> array[float]:
        """Epoch seconds of every line (NaN: undecided), read on first use (see line_fields)."""
        if self.fields is None:
            return array("d", repeat(float("nan"), len(self)))
        self._fill(times=True)
        return self.fields.times

    def levels(self) -> bytearray:
        """Level code of every line (0: undecided), see line_fields."""
        if self.fields is None:
            return bytearray(len(self))
        self._fill(times=False)
        return self.fields.levels

    def warm_levels(self, pieces: int = 1) -> bool:
        """Read the levels of a few more pieces (about `chunk` bytes each); True when all are read."""
        if self.fields is None:
            return True
        return self._fill(times=False, pieces=pieces)

    def _fill(self, *, times: bool, pieces: int | None = None) -> bool:
        fields = self.fields
        assert fields is not None
        lo = len(fields.times if times else fields.levels)
        starts = self._starts
        done = 0
        while lo < len(self) and (pieces is None or done < pieces):
            hi = min(len(self), max(lo + 1, bisect_right(starts, starts[lo] + self.chunk, lo) - 1))
            if starts[hi] - starts[lo] > self.chunk:  # one giant line: the parser decides
                if times:
                    fields.times.append(float("nan"))
                else:
                    fields.levels.append(0)
            else:
                data = os.pread(self.fd, starts[hi] - starts[lo], starts[lo])
                if self._final and hi == len(self):
                    data += b"\n"
                b0, b1 = bisect_left(self._blank, lo), bisect_left(self._blank, hi)
                add = fields.add_times if times else fields.add_levels
                add(data, hi - lo, b1 > b0, [k - lo for k in self._not_whole(lo, hi)])
            lo = hi
            done += 1
        return lo >= len(self)

    @staticmethod
    def _is_blank(data: bytes) -> bool:
        stripped = data.translate(None, _ASCII_SPACE)
        return not stripped or (not stripped.isascii() and decode_bytes(data).isspace())

    # ------------------------------------------------------------ lines

    def _span(self, i: int) -> tuple[int, int]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._starts[i], self._starts[i + 1] - 1

    def raw(self, i: int) -> bytes:
        """Line i without newline or final \\r, at most max_line bytes (b"" if the file lost it)."""
        start, stop = self._span(i)
        n = stop - start
        data = os.pread(self.fd, min(n, self.max_line + 1), start)
        if len(data) == n and data.endswith(b"\r"):
            data = data[:-1]
        return data[: self.max_line]

    def read(self, offset: int, length: int) -> bytes:
        """Bytes [offset, offset+length) of the file (fewer if it shrank)."""
        return os.pread(self.fd, length, offset)

    def line_length(self, i: int) -> int:
        """Bytes in line i, without newline or final \\r."""
        start, stop = self._span(i)
        if stop > start and os.pread(self.fd, 1, stop - 1) == b"\r":
            stop -= 1
        return stop - start

    def text(self, i: int) -> str:
        """Line i as the parser sees it: decoded, a line over max_line cut with a marker."""
        length = self.line_length(i)
        text = decode_bytes(self.raw(i))
        if length > self.max_line:
            text += LINE_CUT_MARKER.format(n=length - self.max_line)
        return text

    def blank(self, i: int) -> bool:
        j = bisect_left(self._blank, i)
        return j < len(self._blank) and self._blank[j] == i

    def blank_lines(self) -> array[int]:
        """Line numbers of blank lines, increasing (read-only use)."""
        return self._blank

    def long_lines(self) -> array[int]:
        """Line numbers of lines over LONG_LINE bytes, increasing (read-only use)."""
        return self._long

    def line_at(self, offset: int) -> int:
        """The first line starting at or after `offset` (len() if none)."""
        return bisect_left(self._starts, offset, 0, len(self))

    def starts(self) -> array[int]:
        """Offset of every line, then one past the end of the last (read-only use)."""
        return self._starts


_BLANK_TABLE: list[Any] = []


def _blank_first_table(np: Any) -> Any:
    """256 booleans: may a line starting with this byte be blank (see _BLANK_FIRST_BYTES)."""
    if not _BLANK_TABLE:
        table = np.zeros(256, bool)
        table[[b[0] for b in _BLANK_FIRST_BYTES]] = True
        _BLANK_TABLE.append(table)
    return _BLANK_TABLE[0]


def _deep(line: bytes) -> bool:
    return line.count(b"[") + line.count(b"{") >= DEEP_BRACKETS


def _line_numbers(block: bytes, offsets: list[int]) -> list[int]:
    """Line number (0-based) of each increasing offset in `block`: newlines before it."""
    out = []
    line = scanned = 0
    for off in offsets:
        line += block.count(b"\n", scanned, off)
        scanned = off
        out.append(line)
    return out


__all__ = ["INDEX_CHUNK", "LONG_LINE", "LineIndex", "Update"]
