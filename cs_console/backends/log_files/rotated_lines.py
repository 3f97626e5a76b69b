"""One filtered view over a log file and the files it was rotated into (FilteredLogs).

After a rotation the old file's lines stay on screen, before the new file's, and the
old file goes on being read while its writer may still hold it (see indexed_file).
Each file is an `IndexedLogLines` (a segment); this joins their rows, oldest file
first. Keys are the segment number above bit 44 and the line's byte offset below,
so the first file's keys are its offsets (a tail index's swap keeps them) and keys
grow with rows. With one segment every call goes straight to it.

    lines = RotatedLogLines(IndexedLogLines(...))
    lines.current                 the file at the path now (apply, swap_index, index)
    lines.rotate(new)             the current segment retires; `new` takes the path
    lines.replace_current(new)    the current file was rewritten (no copy): drop its lines
    lines.segments                oldest first
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from cs_console.backends.log_files.indexed_lines import IndexedLogLines
from cs_console.backends.log_files.line_index import LineIndex, Update
from cs_console.domain.log_filter import Filter, Matcher
from cs_console.domain.log_record import Level, LogRecord

SEGMENT_SHIFT = 44  # 16 TiB of offsets per file
MAX_SEGMENTS = 8  # the current file and the last 7 it was rotated into


class RotatedLogLines:
    def __init__(self, first: IndexedLogLines, *, max_segments: int = MAX_SEGMENTS) -> None:
        self.segments: list[IndexedLogLines] = [first]
        self._ids: list[int] = [0]
        self._next_id = 1
        self._own_generation = 0
        self.max_segments = max_segments
        self.dropped = 0  # lines of rotated files no longer kept
        self.capacity: int | None = None

    # ------------------------------------------------------------ segments

    @property
    def current(self) -> IndexedLogLines:
        return self.segments[-1]

    @property
    def index(self) -> LineIndex:
        return self.current.index

    def apply(self, got: Update) -> int:
        return self.current.apply(got)

    def swap_index(self, index: LineIndex) -> None:
        self.current.swap_index(index)

    def rotate(self, new: IndexedLogLines) -> None:
        """The current file was rotated away: its lines stay, `new` follows the path."""
        new.set_filter(self.current.filter)
        self.segments.append(new)
        self._ids.append(self._next_id)
        self._next_id += 1
        while len(self.segments) > self.max_segments:
            old = self.segments.pop(0)
            self._ids.pop(0)
            self.dropped += old.line_count
            old.index.close()
        self._own_generation += 1

    def replace_current(self, new: IndexedLogLines) -> None:
        """The current file was rewritten in place and its old text is gone: show the new text."""
        new.set_filter(self.current.filter)
        self.segments[-1].index.close()
        self.segments[-1] = new
        self._ids[-1] = self._next_id
        self._next_id += 1
        self._own_generation += 1

    def moved(self) -> None:
        """Rows were inserted before the newest file's (an old file grew): views re-find keys."""
        self._own_generation += 1

    def _locate(self, row: int) -> tuple[int, int]:
        """(segment, row in it) of a row."""
        for s, seg in enumerate(self.segments):
            n = len(seg)
            if row < n:
                return s, row
            row -= n
        raise IndexError(row)

    def _base(self, s: int) -> int:
        return sum(len(seg) for seg in self.segments[:s])

    # ------------------------------------------------------------ FilteredLogs

    def __len__(self) -> int:
        if len(self.segments) == 1:
            return len(self.segments[0])
        return sum(map(len, self.segments))

    @property
    def match_count(self) -> int:
        return len(self)

    @property
    def line_count(self) -> int:
        return sum(seg.line_count for seg in self.segments)

    @property
    def held(self) -> int:
        return self.line_count

    @property
    def parsed(self) -> int:
        return sum(seg.parsed for seg in self.segments)

    @property
    def filtered_at(self) -> float:
        return max(seg.filtered_at for seg in self.segments)

    @property
    def generation(self) -> int:
        return self._own_generation + sum(seg.generation for seg in self.segments)

    @property
    def filter(self) -> Filter:
        return self.current.filter

    @property
    def matcher(self) -> Matcher:
        return self.current.matcher

    def record(self, index: int) -> LogRecord:
        if len(self.segments) == 1:
            return self.segments[0].record(index)
        s, r = self._locate(index)
        return self.segments[s].record(r)

    def records(self, start: int, stop: int) -> list[LogRecord]:
        return [self.record(i) for i in range(max(0, start), min(stop, len(self)))]

    def key(self, index: int) -> int:
        if len(self.segments) == 1:
            return (self._ids[0] << SEGMENT_SHIFT) | self.segments[0].key(index)
        s, r = self._locate(index)
        return (self._ids[s] << SEGMENT_SHIFT) | self.segments[s].key(r)

    def index_for_key(self, key: int) -> int:
        seg_id, offset = key >> SEGMENT_SHIFT, key & ((1 << SEGMENT_SHIFT) - 1)
        for s, sid in enumerate(self._ids):
            if sid == seg_id:
                return self._base(s) + self.segments[s].index_for_key(offset)
            if sid > seg_id:
                return self._base(s)  # a file no longer kept, or replaced: where it was
        return len(self)

    def level_of_row(self, index: int) -> int:
        s, r = self._locate(index)
        return self.segments[s].level_of_row(r)

    def set_filter(self, flt: Filter | str) -> None:
        for seg in reversed(self.segments):  # the current first: a bad filter raises before any change
            seg.set_filter(flt)
            flt = seg.filter

    def refresh_filter(self) -> None:
        for seg in self.segments:
            seg.refresh_filter()

    def next_level(self, row: int | None, min_level: Level = Level.ERROR, *, backward: bool = False) -> int | None:
        if len(self.segments) == 1:
            return self.segments[0].next_level(row, min_level, backward=backward)
        total = len(self)
        if row is None:
            row = total if backward else -1
        order = range(len(self.segments) - 1, -1, -1) if backward else range(len(self.segments))
        for s in order:
            seg, base = self.segments[s], self._base(s)
            local = row - base
            if backward and local <= 0 or not backward and local >= len(seg) - 1:
                continue
            got = seg.next_level(min(max(local, -1), len(seg)), min_level, backward=backward)
            if got is not None:
                return base + got
        return None

    def level_counts(self) -> dict[Level, int]:
        out: dict[Level, int] = {lv: 0 for lv in Level}
        for seg in self.segments:
            for lv, n in seg.level_counts().items():
                out[lv] += n
        return out

    def records_to_save(self) -> Iterator[LogRecord]:
        return chain.from_iterable([seg.records_to_save() for seg in self.segments])

    def close(self) -> None:
        for seg in self.segments:
            seg.index.close()


__all__ = ["MAX_SEGMENTS", "RotatedLogLines"]
