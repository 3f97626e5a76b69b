"""The filtered view of a log file read through its LineIndex: line numbers, not records.

`IndexedLogLines` is a `LogLines` provider (see tui/widgets/log_rows.py): the
view is an `array('q')` of the line numbers that match the filter (8 bytes a
row), records are parsed when a row is asked for and a small LRU keeps those
on screen. A filter is evaluated on the raw bytes first where that is exact
(see `raw_needles`), and only the candidate lines are parsed and matched.

    lines = IndexedLogLines(LineIndex(fd), now=clock.now, filter="timeout")
    lines.update(final=False) -> int   index what the file gained; new matches
                                       (a truncation rebuilds the view: generation changes)
    len(lines), lines.record(i), lines.key(i), lines.index_for_key(k)
    lines.set_filter(text | Filter)    raises FilterError (view unchanged)
    lines.match_count, lines.line_count, lines.generation, lines.parsed
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from itertools import compress, repeat
from operator import and_, or_

from cs_console.backends.log_files.field_terms import MAYBE, YES, FieldTerms
from cs_console.backends.log_files.line_fields import messages
from cs_console.backends.log_files.lines import LINE_CUT_MARKER
from cs_console.backends.log_files.raw_needles import needle_groups, raw_needles
from cs_console.backends.log_files.line_index import INDEX_CHUNK, LONG_LINE, LineIndex, Update
from cs_console.domain.log_filter import Filter, Matcher, TextTerm, parse_filter
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.safe_text import decode_bytes

RECORD_CACHE = 4096  # parsed records kept: a few screens
# Bytes after which a line's text is not the raw text (JSON escapes, UTF-8) or
# lowering is not ASCII lowering: such lines are always candidates.
_UNSAFE = bytes(0x5C if b >= 0x80 else b for b in range(256))  # non-ASCII -> a backslash


def text_predicate(flt: Filter, terms: FieldTerms) -> Callable[[str], bool] | None:
    """The filter's text terms as a test of the message alone, when every other term is
    one the index decides (level, time); else None (a record is needed)."""
    texts = [t for t in flt.terms if isinstance(t, TextTerm)]
    if not texts or len(texts) + terms.count != len(flt.terms):
        return None
    positive = tuple(t.text.lower() for t in texts if not t.negate)
    negative = tuple(t.text.lower() for t in texts if t.negate)

    def match(message: str) -> bool:
        low = message.lower()
        return all(p in low for p in positive) and not any(q in low for q in negative)

    return match


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IndexedLogLines:
    def __init__(
        self,
        index: LineIndex,
        *,
        now: Callable[[], datetime] | None = None,
        parser: LineParser | None = None,
        filter: Filter | str | None = None,  # noqa: A002 - the natural name
        cache_size: int = RECORD_CACHE,
    ) -> None:
        self.index = index
        self._now = now or _utcnow
        self._parser = parser or LineParser("file")
        self._cache: OrderedDict[int, LogRecord] = OrderedDict()
        self._cache_size = cache_size
        # (first line, now) per update: the `now` a line without a timestamp was read at
        self._read_at: list[tuple[int, datetime]] = []
        self._rows = array("q")
        self.generation = 0
        self.filtered_at = 0.0  # monotonic time of the last set_filter
        self.parsed = 0  # lines parsed (for the benchmark and the tests)
        self.filter: Filter = Filter()
        self.matcher: Matcher = self.filter.compile(self._now())
        self._needles: tuple[tuple[bytes, ...], ...] = ()
        self._terms = FieldTerms(self.filter, self._now())
        self._text: Callable[[str], bool] | None = None
        if filter is not None:
            flt = parse_filter(filter) if isinstance(filter, str) else filter
            now = self._now()
            self.filter, self.matcher, self._needles, self._terms = flt, flt.compile(now), needle_groups(flt), FieldTerms(flt, now)
            self._text = text_predicate(flt, self._terms)

    # ------------------------------------------------------------ LogLines

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def match_count(self) -> int:
        return len(self._rows)

    @property
    def line_count(self) -> int:
        return len(self.index)

    def key(self, index: int) -> int:
        """The line's byte offset: stable when a tail index gives way to the whole file's."""
        return self.index.starts()[self._rows[index]]

    def index_for_key(self, key: int) -> int:
        return bisect_left(self._rows, self.index.line_at(key))

    def line(self, index: int) -> int:
        """Line number (in the index) of a row."""
        return self._rows[index]

    def record(self, index: int) -> LogRecord:
        line = self._rows[index]
        cached = self._cache.get(line)
        if cached is not None:
            self._cache.move_to_end(line)
            return cached
        try:
            text = self.index.text(line)
        except (IndexError, OSError):
            text = ""  # truncated under us: the next apply() rebuilds the view
        record = self._parse_one(line, text)
        self._learn([line], [record])
        self._remember(line, record)
        return record

    def records(self, start: int, stop: int) -> list[LogRecord]:
        return [self.record(i) for i in range(max(0, start), min(stop, len(self._rows)))]

    def matched_records(self) -> Iterator[LogRecord]:
        for i in range(len(self._rows)):
            yield self.record(i)

    # ------------------------------------------------------------ what the Logs pane asks (domain.filtered_logs)

    @property
    def held(self) -> int:
        return len(self.index)

    capacity: int | None = None  # the whole file, however long
    dropped = 0

    def level_of_row(self, index: int) -> int:
        """Level code of a row: from the index's array, parsed only when undecided."""
        line = self._rows[index]
        levels = self.index.levels()
        code = levels[line] if line < len(levels) else 0
        return code or int(self.record(index).level)

    def next_level(self, row: int | None, min_level: Level = Level.ERROR, *, backward: bool = False) -> int | None:
        """Row of the next (previous) match at or above `min_level`, or None (the e / E keys).
        Levels come from the index's array: a jump over 1M lines reads bytes, not records."""
        count = len(self._rows)
        if count == 0:
            return None
        if row is None:
            row = count if backward else -1
        levels = self.index.levels()
        want = int(min_level)
        step = 4096
        if not backward:
            r = max(row + 1, 0)
            while r < count:
                block = self._rows[r : r + step]
                for k, line in enumerate(block):
                    code = levels[line] if line < len(levels) else 0
                    if code >= want or (code == 0 and self.record(r + k).level >= min_level):
                        return r + k
                r += step
            return None
        r = min(row, count)
        while r > 0:
            lo = max(0, r - step)
            block = self._rows[lo:r]
            for k in range(len(block) - 1, -1, -1):
                line = block[k]
                code = levels[line] if line < len(levels) else 0
                if code >= want or (code == 0 and self.record(lo + k).level >= min_level):
                    return lo + k
            r = lo
        return None

    def level_counts(self) -> dict[Level, int]:
        """Lines per level, over the lines whose level the index decided (no parse)."""
        levels = self.index.levels()
        return {lv: levels.count(int(lv)) for lv in Level}

    def records_to_save(self) -> Iterator[LogRecord]:
        """The filtered view as it is now, parsed afresh: safe to run in a thread while the
        view goes on (its own copy of the rows, its own parser, no shared cache)."""
        rows = array("q", self._rows)
        parser = LineParser(self._parser.source)
        index = self.index
        for line in rows:
            try:
                text = index.text(line)
            except (IndexError, OSError):
                return  # the file was truncated meanwhile
            got = parser.parse_lines([text], self._now_for(line))
            if got:
                yield got[0]

    def swap_index(self, index: LineIndex) -> None:
        """The whole file's index takes over from a tail index (same lines at the end, same
        keys): rows are rebuilt with the current filter."""
        old, self.index = self.index, index
        old.close()
        self._cache.clear()
        self._read_at = [(0, self._now())]
        self._rows = self._matching(0, len(index))
        self.generation += 1

    def replace_index(self, index: LineIndex) -> None:
        """A rotated file: show the new one from its start (the old index is closed)."""
        old, self.index = self.index, index
        old.close()
        self._cache.clear()
        self._read_at.clear()
        self._rows = array("q")
        self.generation += 1

    # ------------------------------------------------------------ input

    def update(self, *, final: bool = False) -> int:
        """Index what the file gained and filter it. Returns the number of new matches."""
        return self.apply(self.index.update(final=final))

    def apply(self, got: Update) -> int:
        """Filter what `index.update()` added (that may run in a thread; this runs where the
        view is read, so rows and filter change in one place). Returns the new matches."""
        if got.truncated:
            self._cache.clear()
            self._read_at.clear()
            self._rows = array("q")
            self.generation += 1
        elif got.regrown:
            self._cache.pop(got.first, None)
            while self._rows and self._rows[-1] >= got.first:
                self._rows.pop()
            self.generation += 1
        if got.added:
            self._read_at.append((got.first, self._now()))
        before = len(self._rows)
        self._rows.extend(self._matching(got.first, got.first + got.added))
        return len(self._rows) - before

    def set_filter(self, flt: Filter | str) -> None:
        """Change the filter and rebuild the view. A bad filter raises FilterError first."""
        if isinstance(flt, str):
            flt = parse_filter(flt)
        now = self._now()
        self.filter = flt
        self.matcher = flt.compile(now)
        self._needles = needle_groups(flt)
        self._terms = FieldTerms(flt, now)
        self._text = text_predicate(flt, self._terms)
        self._rows = self._matching(0, len(self.index))
        self.generation += 1
        self.filtered_at = time.monotonic()

    def refresh_filter(self) -> None:
        """Re-resolve since=/until= against now() (a no-op without them)."""
        if self._terms.uses_times or any(getattr(t, "field", None) in ("since", "until") for t in self.filter.terms):
            self.set_filter(self.filter)

    # ------------------------------------------------------------ filtering

    def _matching(self, lo: int, hi: int) -> array[int]:
        """Line numbers in [lo, hi) whose records match, increasing."""
        out = array("q")
        starts = self.index.starts()
        blank = self.index.blank_lines()
        while lo < hi:
            # a piece of about INDEX_CHUNK bytes (at least one line)
            stop = min(hi, max(lo + 1, bisect_right(starts, starts[lo] + INDEX_CHUNK, lo, hi + 1) - 1))
            b0, b1 = bisect_left(blank, lo), bisect_left(blank, stop)
            lines: range | list[int] = range(lo, stop)
            if b1 > b0:
                gone = set(blank[b0:b1])
                lines = [i for i in lines if i not in gone]
            if self.matcher.accepts_all:
                out.extend(lines)
            else:
                out.extend(self._match_piece(lo, stop, lines))
            lo = stop
        return out

    def _match_piece(self, lo: int, hi: int, lines: range | list[int]) -> list[int]:
        starts = self.index.starts()
        base = starts[lo]
        if hi == lo + 1 and starts[hi] - base > INDEX_CHUNK:
            # one giant line: read only what the parser would see of it
            return list(compress(lines, map(self.matcher.match, self._parse_many(list(lines), [self.index.text(lo)]))))
        direct: list[int] = []
        maybe: list[int] = []
        if self._terms.active:
            # Level and time terms from the index's arrays: NO lines are out unread,
            # YES lines are in unread when nothing else is asked (see field_terms).
            times = self.index.times()[lo:hi] if self._terms.uses_times else None
            states = self._terms.states(bytes(self.index.levels()[lo:hi]), times)
            rng = range(lo, hi)
            yes = list(compress(rng, map(YES.__eq__, states)))
            maybe = list(compress(rng, map(MAYBE.__eq__, states)))
            if isinstance(lines, list):  # some blank lines are not rows
                keep = set(lines)
                yes = [i for i in yes if i in keep]
                maybe = [i for i in maybe if i in keep]
            if self._terms.only:
                direct, lines = yes, maybe
            else:
                lines = sorted(yes + maybe)
            if not lines:
                return direct
        data = self.index.read(base, starts[hi] - base)
        if self._needles:
            lines = self._candidates(data, base, lo, hi, lines)
        if not lines:
            return direct
        texts = self._texts(data, base, lo, hi, lines)
        if self._text is not None:
            # Text terms on the message alone (line_fields.messages): parse only what that
            # cannot decide, or where a level/time term is still open.
            lines = list(lines)
            open_terms = set(maybe)  # level / time still to check: parse those
            hits: list[int] = []
            undecided: list[int] = []
            undecided_texts: list[str] = []
            match_text = self._text
            for i, t, msg in zip(lines, texts, messages(texts)):
                if msg is None or i in open_terms:
                    undecided.append(i)
                    undecided_texts.append(t)
                elif match_text(msg):
                    hits.append(i)
            records = self._parse_many(undecided, undecided_texts)
            matched = sorted(hits + list(compress(undecided, map(self.matcher.match, records))))
        else:
            records = self._parse_many(list(lines), texts)
            matched = list(compress(lines, map(self.matcher.match, records)))
        return sorted(direct + matched) if direct else matched

    def _candidates(self, data: bytes, base: int, lo: int, hi: int, lines: range | list[int]) -> list[int]:
        """Lines that may match: every needle in their raw bytes, or a line the raw
        bytes cannot decide for (non-ASCII, a backslash, very long). One C-speed
        `in` per line and needle, however many lines hold the needle."""
        n = hi - lo
        low = data.lower()
        marked = data if data.isascii() else data.translate(_UNSAFE)
        want = self._rare_hits(low, marked, base, lo, hi, max(1, n // 16))
        if want is None:
            # Common needles: one C-speed `in` per line and needle.
            parts = low.split(b"\n")[:n]
            found: list[bool] | None = None
            for group in self._needles:
                hits: Iterable[bool] = map(bytes.__contains__, parts, repeat(group[0]))
                for alt in group[1:]:
                    hits = list(map(or_, hits, map(bytes.__contains__, parts, repeat(alt))))
                found = list(hits) if found is None else list(map(and_, found, hits))
            assert found is not None
            if b"\\" in marked:
                found = list(map(or_, found, map(bytes.__contains__, marked.split(b"\n")[:n], repeat(b"\\"))))
            want = list(compress(range(lo, hi), found))
        longs = self.index.long_lines()
        extra = longs[bisect_left(longs, lo) : bisect_left(longs, hi)]
        if extra:
            want = sorted(set(want).union(extra))
        if isinstance(lines, list):  # some blank lines are not rows, or a level term left these
            keep = set(lines)
            want = [i for i in want if i in keep]
        return want

    def _rare_hits(self, low: bytes, marked: bytes, base: int, lo: int, hi: int, cap: int) -> list[int] | None:
        """Lines holding every needle (or a backslash / non-ASCII byte), found with `find`
        from hit to hit: a rare needle costs one C scan of the piece. None once more than
        `cap` lines hold one (the caller then tests every line at C speed)."""
        starts = self.index.starts()
        found: set[int] | None = None
        for group in (*self._needles, (b"\\",)):
            text = marked if group == (b"\\",) else low
            hits = set()
            for needle in group:
                pos = text.find(needle)
                while pos >= 0:
                    if len(hits) >= cap:
                        return None
                    line = bisect_right(starts, base + pos, lo, hi + 1) - 1
                    hits.add(line)
                    pos = text.find(needle, starts[line + 1] - base)
            if group == (b"\\",):
                return sorted((found or set()) | hits)
            found = hits if found is None else found & hits
        return sorted(found or ())

    def _texts(self, data: bytes, base: int, lo: int, hi: int, lines: list[int] | range) -> list[str]:
        """The parser's text of each line: one decode and split for the piece when many
        lines are wanted, else line by line."""
        if len(lines) < (hi - lo) // 8 or self.index.max_line < LONG_LINE:
            return [self._text_of(data, base, i) for i in lines]
        every = decode_bytes(data).split("\n")
        longs = self.index.long_lines()
        long_set = set(longs[bisect_left(longs, lo) : bisect_left(longs, hi)])
        out = []
        for i in lines:
            if i in long_set:
                out.append(self._text_of(data, base, i))
                continue
            t = every[i - lo]
            out.append(t[:-1] if t[-1:] == "\r" else t)
        return out

    def _text_of(self, data: bytes, base: int, i: int) -> str:
        starts = self.index.starts()
        start, stop = starts[i] - base, starts[i + 1] - 1 - base
        if stop > start and data[stop - 1 : stop] == b"\r":
            stop -= 1
        length = stop - start
        limit = self.index.max_line
        text = decode_bytes(data[start : start + min(length, limit)])
        if length > limit:
            text += LINE_CUT_MARKER.format(n=length - limit)
        return text

    # ------------------------------------------------------------ parsing

    def _now_for(self, line: int) -> datetime:
        j = bisect_right(self._read_at, (line, datetime.max.replace(tzinfo=timezone.utc))) - 1
        return self._read_at[j][1] if j >= 0 else self._now()

    def _parse_one(self, line: int, text: str) -> LogRecord:
        self.parsed += 1
        got = self._parser.parse_lines([text], self._now_for(line))
        if got:
            return got[0]
        # The line changed under us (the file was rewritten): show what is there.
        return self._parser.parse_lines([text or " "], self._now_for(line))[0]

    def _parse_many(self, lines: list[int], texts: list[str]) -> list[LogRecord]:
        if not lines:
            return []
        now = self._now_for(lines[0])
        records: list[LogRecord] | None = None
        if self._now_for(lines[-1]) is now:
            self.parsed += len(lines)
            records = self._parser.parse_lines(texts, now)
            if len(records) != len(lines):
                records = None
        if records is None:
            records = [self._parse_one(i, t) for i, t in zip(lines, texts)]
        self._learn(lines, records)
        return records

    def _learn(self, lines: list[int], records: list[LogRecord]) -> None:
        """Keep what parsing said of undecided lines: the next level filter reads the array."""
        fields = self.index.fields
        if fields is None:
            return
        learn = fields.learn
        for i, r in zip(lines, records):
            learn(i, int(r.level), r.ts.timestamp())

    def _remember(self, line: int, record: LogRecord) -> None:
        self._cache[line] = record
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


__all__ = ["RECORD_CACHE", "IndexedLogLines", "needle_groups", "raw_needles"]
