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

The rooms: lines.py (bytes into lines, and a kept line read back),
line_source.py (what both sources share: parsing, since=, lag), file_source.py
(a file: tail, backfill, follow through rotation and truncation), pipes.py
(stdin and FIFOs; detach_stdin_for_tui), line_index.py (a file as line
offsets, no record per line), line_fields.py (levels, times and messages read
from the raw lines, exactly as the parser would, or left undecided),
field_terms.py (level / time filter terms over those arrays), indexed_lines.py
(the filtered view over the index: records parsed only for what is shown or
undecided) and indexed_file.py (that view kept current: growth, truncation,
rotation; the end of a big file first). The Logs pane reads a regular file
through indexed_file (wiring/local_logs.open_indexed_log); streams use the buffer.
"""

from __future__ import annotations

import os

from cs_console.backends.log_files.file_source import FileLogSource, LocalLogSourceError
from cs_console.backends.log_files.pipes import StdinLogSource
from cs_console.domain.clock import Clock
from cs_console.domain.safe_text import safe_text


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


__all__ = ["open_local_log_source"]
