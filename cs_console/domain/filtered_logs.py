"""What the Logs pane reads and filters, whichever way the records are kept.

Two back ends serve the same `FilteredLogs`:

- `BufferedLogs` (here): the bounded `LogBuffer` of records, for streaming
  sources (Supabase polls, stdin, the demo) that must be kept as they come;
- `IndexedLogLines` (backends/log_files/indexed_lines.py): a log file read
  through its line index, records parsed only for what is shown or matched.

The pane (tui/panes/logs*.py) and the view (tui/widgets/log_view.py, through
the `LogLines` part: len, record, key, index_for_key) only see this protocol.

    logs.match_count, len(logs)          rows of the filtered view (row 0 = oldest)
    logs.record(i), logs.key(i), logs.index_for_key(k)
    logs.set_filter(Filter | str)        raises FilterError (view unchanged)
    logs.refresh_filter()                since=/until= against now()
    logs.filter, logs.matcher            current Filter, compiled Matcher (spans for highlighting)
    logs.next_level(row, min_level, backward=False) -> row | None
    logs.level_counts()                  {Level: count}
    logs.records_to_save()               the filtered records (safe to consume in a thread)
    logs.held, logs.capacity, logs.dropped, logs.generation
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from cs_console.domain.log_buffer import LogBuffer
from cs_console.domain.log_filter import Filter, Matcher
from cs_console.domain.log_record import Level, LogRecord


class FilteredLogs(Protocol):
    filter: Filter
    matcher: Matcher
    generation: int

    def __len__(self) -> int: ...

    @property
    def match_count(self) -> int: ...

    @property
    def held(self) -> int:
        """Records (or lines) held, whether they match or not."""
        ...

    @property
    def capacity(self) -> int | None:
        """At most this many are held (None: all of a file)."""
        ...

    @property
    def dropped(self) -> int: ...

    def record(self, index: int) -> LogRecord: ...

    def key(self, index: int) -> int: ...

    def index_for_key(self, key: int) -> int: ...

    def set_filter(self, flt: Filter | str) -> None: ...

    def refresh_filter(self) -> None: ...

    def next_level(self, row: int | None, min_level: Level = Level.ERROR, *, backward: bool = False) -> int | None: ...

    def level_counts(self) -> dict[Level, int]: ...

    def records_to_save(self) -> Iterator[LogRecord]: ...


class BufferedLogs:
    """A LogBuffer as FilteredLogs: rows are the buffer's filtered view, keys its seqs."""

    def __init__(self, buffer: LogBuffer) -> None:
        self.buffer = buffer

    def __len__(self) -> int:
        return self.buffer.match_count

    @property
    def match_count(self) -> int:
        return self.buffer.match_count

    @property
    def held(self) -> int:
        return len(self.buffer)

    @property
    def capacity(self) -> int | None:
        return self.buffer.capacity

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    @property
    def generation(self) -> int:  # type: ignore[override]
        return self.buffer.generation

    @property
    def filter(self) -> Filter:  # type: ignore[override]
        return self.buffer.filter

    @property
    def matcher(self) -> Matcher:  # type: ignore[override]
        return self.buffer.matcher

    def record(self, index: int) -> LogRecord:
        return self.buffer.row(index)

    def key(self, index: int) -> int:
        return self.buffer.seq_of_row(index)

    def index_for_key(self, key: int) -> int:
        return self.buffer.row_of_seq(key)

    def set_filter(self, flt: Filter | str) -> None:
        self.buffer.set_filter(flt)

    def refresh_filter(self) -> None:
        self.buffer.refresh_filter()

    def next_level(self, row: int | None, min_level: Level = Level.ERROR, *, backward: bool = False) -> int | None:
        return self.buffer.next_level(row, min_level, backward=backward)

    def level_counts(self) -> dict[Level, int]:
        return self.buffer.level_counts()

    def records_to_save(self) -> Iterator[LogRecord]:
        # A list now: what is shown at the key press, whatever arrives next.
        return iter(list(self.buffer.matched_records()))


__all__ = ["BufferedLogs", "FilteredLogs"]
