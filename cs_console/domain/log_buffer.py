"""The bounded, filtered log buffer behind the Logs pane.

Records get an absolute sequence number (seq) when they enter; the filtered
view is an increasing array of the seqs that match the current filter, kept
up to date incrementally on append and rebuilt in one C-speed pass
(`map` + `compress`) when the filter changes. When the buffer is full the
oldest records go, and are counted.

Storage is one list and three seq arrays, each with a dead prefix before its
head: dropping advances the head, backfill writes into the prefix (grown by
half of what is held when too short), so append, drop and prepend all cost
amortised O(1) per record and nothing held is moved or rebuilt per batch.

Public API (single-threaded: call it from the event loop / one worker):

    buf = LogBuffer(capacity=100_000, now=clock.now)
    buf.append(record) -> bool          True if it matches the current filter
    buf.extend(records) -> int          number of new matches
    buf.prepend(older_records) -> int   backfill of records older than all held
    buf.ingest(batch) -> int            extend(), prepend() for a `Backfill` batch, clear() + extend() for a `Rewind`
    buf.set_filter(text | Filter)       raises FilterError (buffer unchanged); full re-filter
    buf.refresh_filter()                re-resolve since=/until= against now()
    buf.filter, buf.matcher             current Filter and compiled Matcher (matcher.spans(text))
    buf.match_count                     rows in the filtered view (row 0 = oldest match)
    buf.row(i), buf.rows(start, stop)   records of the filtered view
    buf.seq_of_row(i), buf.row_of_seq(seq)  keep a position across drops/backfill
    buf.next_level(row, min_level=Level.ERROR, backward=False) -> row | None   (e / E jumps)
    buf.level_counts()                  {Level: count} over everything held
    buf.matched_records()               iterator over the filtered view (save to file)
    buf.stats() -> BufferStats          records, matches, dropped, bytes (estimate), ...
    len(buf), buf.capacity, buf.dropped, buf.dropped_matches, buf.generation

`generation` changes on every re-filter, clear or backfill: row numbers from an
older generation must be re-derived (use seq_of_row / row_of_seq).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import compress, islice
from operator import attrgetter

from cs_console.domain.log_filter import Filter, Matcher, parse_filter
from cs_console.domain.log_record import Level, LogRecord

DEFAULT_CAPACITY = 100_000


class Backfill(list):  # type: ignore[type-arg]
    """A batch of records OLDER than everything a source yielded before (oldest first).

    Sources that show the newest lines first (a big file opened at its end)
    yield these after the first batch; `LogBuffer.ingest` prepends them.
    """


class Rewind(list):  # type: ignore[type-arg]
    """A batch that REPLACES everything a source yielded before (oldest first): the
    source's time went back (a replay sought backwards), these are the records up
    to its new time. May be empty: then nothing is held. `LogBuffer.ingest` clears first.
    """


@dataclass(frozen=True, slots=True)
class BufferStats:
    records: int
    matches: int
    capacity: int
    dropped: int  # records evicted (or backfill that did not fit)
    dropped_matches: int  # of which matched the filter at the time
    appended: int  # records ever offered
    bytes: int  # estimated memory held by the records
    level_counts: dict[Level, int]


# Per-record estimate: the slotted LogRecord (~120 B with GC header), its
# datetime (48 B), the message (49 B + length; an upper bound when repeated
# messages share one pooled copy), the line (text: 49 B + length; LineRef:
# ~85 B), request ids and ids (~85 B strings). It depends on the record only,
# so what a drop subtracts is what the append added. Checked against
# tracemalloc in the tests.
_RECORD_BYTES = 120 + 48
_STR_HEADER = 49
_LINE_REF_BYTES = 85
_ID_BYTES = 85
_RAW_FIELD_BYTES = 120

_get_level = attrgetter("level")
_get_message = attrgetter("message")
_get_line = attrgetter("line")
_get_request_id = attrgetter("request_id")
_get_id = attrgetter("id")
_get_raw = attrgetter("raw")


def estimate_bytes(records: Sequence[LogRecord]) -> int:
    """Approximate memory held by `records` (C-speed: no per-record Python code)."""
    n = len(records)
    if n == 0:
        return 0
    total = n * (_RECORD_BYTES + _STR_HEADER) + sum(map(len, map(_get_message, records)))
    lines = [x for x in map(_get_line, records) if x is not None]
    texts = [x for x in lines if x.__class__ is str]
    total += len(texts) * _STR_HEADER + sum(map(len, texts)) + (len(lines) - len(texts)) * _LINE_REF_BYTES
    total += _ID_BYTES * (n - list(map(_get_request_id, records)).count(None))
    total += _ID_BYTES * (n - list(map(_get_id, records)).count(None))
    total += _RAW_FIELD_BYTES * sum(map(len, map(_get_raw, records)))
    return total


def _front_growth(missing: int, live: int, adding: int) -> int:
    """Slots to add in front of a store that lacks `missing` free ones: at least half
    of what it will hold, so a run of prepends costs amortised O(1) per record.
    Stays below the live count, so `_compact` does not undo it at once."""
    return max(missing, (live + adding) // 2)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LogBuffer:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        now: Callable[[], datetime] | None = None,
        filter: Filter | str | None = None,  # noqa: A002 - the natural name
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._now = now or _utcnow
        self._items: list[LogRecord | None] = []  # [head:] are live; [:head] are None
        self._head = 0
        self._base = 0  # seq of _items[0]
        self._rows = array("q")  # seqs of matching records, increasing; [rows_head:] live
        self._rows_head = 0
        # seqs of records at or above WARN / ERROR, for e/E and w/W jumps
        self._warn = array("q")
        self._warn_head = 0
        self._err = array("q")
        self._err_head = 0
        self._counts: Counter[Level] = Counter()
        self.dropped = 0
        self.dropped_matches = 0
        self.appended = 0
        self.generation = 0
        self._bytes = 0
        self.filter: Filter = Filter()
        self.matcher: Matcher = self.filter.compile(self._now())
        if filter is not None:
            self.set_filter(filter)

    # ------------------------------------------------------------ size

    def __len__(self) -> int:
        return len(self._items) - self._head

    @property
    def match_count(self) -> int:
        return len(self._rows) - self._rows_head

    @property
    def first_seq(self) -> int:
        return self._base + self._head

    @property
    def next_seq(self) -> int:
        return self._base + len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def level_counts(self) -> dict[Level, int]:
        return {lv: self._counts.get(lv, 0) for lv in Level}

    def stats(self) -> BufferStats:
        return BufferStats(
            len(self), self.match_count, self.capacity, self.dropped, self.dropped_matches,
            self.appended, self._bytes, self.level_counts(),
        )

    # ------------------------------------------------------------ input

    def append(self, record: LogRecord) -> bool:
        """Add one record (dropping the oldest if full). True if it matches the filter."""
        self.appended += 1
        if len(self._items) - self._head >= self.capacity:
            self._drop_oldest(1)
        seq = self._base + len(self._items)
        self._items.append(record)
        level = record.level
        self._counts[level] += 1
        self._bytes += estimate_bytes((record,))
        if level >= Level.WARN:
            self._warn.append(seq)
            if level >= Level.ERROR:
                self._err.append(seq)
        if self.matcher.match(record):
            self._rows.append(seq)
            return True
        return False

    def extend(self, records: Iterable[LogRecord]) -> int:
        """Add records, oldest first. Returns how many of them match the current
        filter (if the batch is larger than the buffer, some are already gone)."""
        batch = records if isinstance(records, list) else list(records)
        n = len(batch)
        if n == 0:
            return 0
        self.appended += n
        skipped_matches = 0
        if n > self.capacity:
            # Only the newest `capacity` can stay: the rest count as dropped at once.
            skipped = batch[: n - self.capacity]
            self.dropped += len(skipped)
            if not self.matcher.accepts_all:
                skipped_matches = sum(map(self.matcher.match, skipped))
            else:
                skipped_matches = len(skipped)
            self.dropped_matches += skipped_matches
            batch = batch[n - self.capacity :]
            n = len(batch)
        overflow = len(self) + n - self.capacity
        if overflow > 0:
            self._drop_oldest(overflow)
        start = self._base + len(self._items)
        self._items.extend(batch)
        seqs = range(start, start + n)
        levels = list(map(_get_level, batch))
        self._counts.update(levels)
        self._bytes += estimate_bytes(batch)
        self._warn.extend(compress(seqs, map(Level.WARN.__le__, levels)))
        self._err.extend(compress(seqs, map(Level.ERROR.__le__, levels)))
        before = len(self._rows)
        if self.matcher.accepts_all:
            self._rows.extend(seqs)
        else:
            self._rows.extend(compress(seqs, map(self.matcher.match, batch)))
        return len(self._rows) - before + skipped_matches

    def prepend(self, older: Sequence[LogRecord]) -> int:
        """Backfill records older than everything held. Only what fits is kept.

        Returns the number of new matches (all before row 0: the pane shifts
        its position by that much, or re-derives it with row_of_seq).
        """
        older = list(older)
        room = self.capacity - len(self)
        if len(older) > room:
            cut = len(older) - max(room, 0)
            self.dropped += cut
            older = older[cut:]
        if not older:
            return 0
        self.appended += len(older)
        k = len(older)
        # Records go into the free slots in front of the head (made when needed,
        # geometrically): no front insert, no copy of what is held.
        if self._head < k:
            grow = _front_growth(k - self._head, len(self), k)
            self._items[0:0] = [None] * grow
            self._head += grow
            self._base -= grow
        h = self._head - k
        self._items[h : self._head] = older
        self._head = h
        first = self._base + h
        seqs = range(first, first + k)
        levels = list(map(_get_level, older))
        self._counts.update(levels)
        self._bytes += estimate_bytes(older)
        self._warn_head = self._put_front(self._warn, self._warn_head, compress(seqs, map(Level.WARN.__le__, levels)))
        self._err_head = self._put_front(self._err, self._err_head, compress(seqs, map(Level.ERROR.__le__, levels)))
        before = self.match_count
        if self.matcher.accepts_all:
            self._rows_head = self._put_front(self._rows, self._rows_head, seqs)
        else:
            self._rows_head = self._put_front(self._rows, self._rows_head, compress(seqs, map(self.matcher.match, older)))
        self.generation += 1
        return self.match_count - before

    @staticmethod
    def _put_front(arr: array[int], head: int, seqs: Iterable[int]) -> int:
        """Write increasing `seqs` (all below arr[head:]) just before `head`, in place;
        returns the new head. The dead prefix grows geometrically when too short."""
        new = array("q", seqs)
        m = len(new)
        if m == 0:
            return head
        if head < m:
            grow = _front_growth(m - head, len(arr) - head, m)
            arr[0:0] = array("q", bytes(8 * grow))
            head += grow
        arr[head - m : head] = new
        return head - m

    def ingest(self, batch: Sequence[LogRecord]) -> int:
        """What a consumer of LogSource.records() calls for each batch."""
        if isinstance(batch, Backfill):
            return self.prepend(batch)
        if isinstance(batch, Rewind):
            self.clear()
        return self.extend(batch)

    def clear(self) -> None:
        next_seq = self.next_seq
        self._items = []
        self._head = 0
        self._base = next_seq
        self._rows = array("q")
        self._warn = array("q")
        self._err = array("q")
        self._rows_head = self._warn_head = self._err_head = 0
        self._counts.clear()
        self._bytes = 0
        self.generation += 1

    # ------------------------------------------------------------ eviction

    def _drop_oldest(self, k: int) -> None:
        h = self._head
        k = min(k, len(self._items) - h)
        if k <= 0:
            return
        gone = self._items[h : h + k]
        self._items[h : h + k] = [None] * k  # release the records now
        self._head = h + k
        self.dropped += k
        self._counts.subtract(map(_get_level, gone))  # type: ignore[arg-type]
        self._bytes -= estimate_bytes(gone)  # type: ignore[arg-type]
        first = self._base + self._head
        pos = bisect_left(self._rows, first, self._rows_head)
        self.dropped_matches += pos - self._rows_head
        self._rows_head = pos
        self._warn_head = bisect_left(self._warn, first, self._warn_head)
        self._err_head = bisect_left(self._err, first, self._err_head)
        self._compact()

    def _compact(self) -> None:
        """Reclaim the dead prefixes once they are large (amortised O(1) per record)."""
        h = self._head
        if h > 4096 and h * 2 > len(self._items):
            del self._items[:h]
            self._base += h
            self._head = 0
        for name in ("_rows", "_warn", "_err"):
            head = getattr(self, name + "_head")
            arr = getattr(self, name)
            if head > 4096 and head * 2 > len(arr):
                del arr[:head]
                setattr(self, name + "_head", 0)

    # ------------------------------------------------------------ filter

    def set_filter(self, flt: Filter | str) -> None:
        """Change the filter and rebuild the view. A bad filter raises FilterError first."""
        if isinstance(flt, str):
            flt = parse_filter(flt)
        self.filter = flt
        self.matcher = flt.compile(self._now())
        self._refilter()

    def refresh_filter(self) -> None:
        """Re-resolve relative times (since=15m) against now(); no-op without them."""
        if any(getattr(t, "field", None) in ("since", "until") for t in self.filter.terms):
            self.set_filter(self.filter)

    def _refilter(self) -> None:
        first = self._base + self._head
        seqs = range(first, first + len(self))
        if self.matcher.accepts_all:
            self._rows = array("q", seqs)
        else:
            live = islice(self._items, self._head, None)
            self._rows = array("q", compress(seqs, map(self.matcher.match, live)))  # type: ignore[arg-type]
        self._rows_head = 0
        self.generation += 1

    # ------------------------------------------------------------ the filtered view

    def seq_of_row(self, row: int) -> int:
        if not 0 <= row < self.match_count:
            raise IndexError(row)
        return self._rows[self._rows_head + row]

    def row(self, row: int) -> LogRecord:
        record = self._items[self.seq_of_row(row) - self._base]
        assert record is not None
        return record

    def rows(self, start: int, stop: int) -> list[LogRecord]:
        """Records of rows [start, stop) of the filtered view (clamped)."""
        start = max(0, start)
        stop = min(stop, self.match_count)
        if start >= stop:
            return []
        items, base, h = self._items, self._base, self._rows_head
        return [items[s - base] for s in self._rows[h + start : h + stop]]  # type: ignore[misc]

    def row_of_seq(self, seq: int) -> int:
        """Row of the first match at or after `seq` (== match_count if none)."""
        return bisect_left(self._rows, seq, self._rows_head) - self._rows_head

    def matched_records(self) -> Iterator[LogRecord]:
        items, base = self._items, self._base
        for s in islice(self._rows, self._rows_head, None):
            record = items[s - base]
            if record is not None:
                yield record

    def records(self) -> Iterator[LogRecord]:
        """Everything held, oldest first (unfiltered)."""
        return islice(self._items, self._head, None)  # type: ignore[arg-type]

    def next_level(self, row: int | None, min_level: Level = Level.ERROR, *, backward: bool = False) -> int | None:
        """Row of the next (or previous) match at or above `min_level`, or None.

        `row` None means "from the end" when going backward and "from the
        start" going forward.
        """
        count = self.match_count
        if count == 0:
            return None
        rows, rh = self._rows, self._rows_head
        if row is None:
            cur = (self.next_seq if backward else self.first_seq - 1)
        elif row < 0:
            cur = self.first_seq - 1
        elif row >= count:
            cur = self.next_seq
        else:
            cur = rows[rh + row]
        if min_level >= Level.ERROR:
            index, ih = self._err, self._err_head
        elif min_level >= Level.WARN:
            index, ih = self._warn, self._warn_head
        else:
            return self._scan_level(cur, min_level, backward)
        items, base = self._items, self._base
        if not backward:
            lo = rh
            for q in range(bisect_right(index, cur, ih), len(index)):
                s = index[q]
                r = bisect_left(rows, s, lo)
                if r >= len(rows):
                    return None
                lo = r
                if rows[r] == s and items[s - base].level >= min_level:  # type: ignore[union-attr]
                    return r - rh
            return None
        hi = len(rows)
        for q in range(bisect_left(index, cur, ih) - 1, ih - 1, -1):
            s = index[q]
            r = bisect_left(rows, s, rh, hi)
            if r < hi and rows[r] == s and items[s - base].level >= min_level:  # type: ignore[union-attr]
                return r - rh
            hi = r
            if hi <= rh:
                return None
        return None

    def _scan_level(self, cur: int, min_level: Level, backward: bool) -> int | None:
        rows, rh, items, base = self._rows, self._rows_head, self._items, self._base
        if not backward:
            for r in range(bisect_right(rows, cur, rh), len(rows)):
                if items[rows[r] - base].level >= min_level:  # type: ignore[union-attr]
                    return r - rh
        else:
            for r in range(bisect_left(rows, cur, rh) - 1, rh - 1, -1):
                if items[rows[r] - base].level >= min_level:  # type: ignore[union-attr]
                    return r - rh
        return None


__all__ = ["DEFAULT_CAPACITY", "Backfill", "BufferStats", "LogBuffer", "estimate_bytes"]
