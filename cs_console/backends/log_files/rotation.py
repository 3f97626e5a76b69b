"""Telling a rewritten file from a grown one, and finding the copy `copytruncate` left.

A follower that has read a file up to `end` keeps the last bytes it read (`mark`).
`rewritten(fd, end, mark)` is True when those bytes are no longer there: the file
shrank, or was truncated and then written past `end` before the next poll (a size
check alone would read on from `end` in the middle of new text).

`copytruncate` (logrotate) copies the file, then truncates it in place: the lines
written after our last read are in the copy only. `find_copy(path, end, mark)`
opens the sibling (`app.log.1`, `app.log-20261205`, `app.1.log`, ...) that holds
the same `mark` just before `end`, so they can be read from it: nothing between
our last read and the truncation is lost. What the writer adds between logrotate's
copy and its truncate is in neither file (logrotate's own window). A copy
compressed at once (`compress` without `delaycompress`) is not read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MARK_BYTES = 1024
MAX_CANDIDATES = 32
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".z", ".zip")


def tail_mark(fd: int, end: int) -> bytes:
    """The last MARK_BYTES (or fewer) bytes before `end`."""
    if end <= 0:
        return b""
    lo = max(0, end - MARK_BYTES)
    try:
        return os.pread(fd, end - lo, lo)
    except OSError:
        return b""


def rewritten(fd: int, end: int, mark: bytes) -> bool:
    """The bytes before `end` are not the ones read there (shrunk, or rewritten past `end`)."""
    size = os.fstat(fd).st_size
    if size < end:
        return True
    return bool(mark) and os.pread(fd, len(mark), end - len(mark)) != mark


def find_copy(path: Path, end: int, mark: bytes, exclude: tuple[int, int] | None = None) -> int | None:
    """A read-only fd of a sibling of `path` that holds `mark` just before `end`, newest
    first; None when there is none. `exclude` is a (dev, inode) never taken (the file itself)."""
    if not mark or end < len(mark):
        return None
    stem = path.name.split(".", 1)[0] or path.name
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return None
    found: list[tuple[float, str]] = []
    for entry in entries:
        name = entry.name
        if name == path.name or not name.startswith(stem) or name.lower().endswith(_COMPRESSED):
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size >= end and (st.st_dev, st.st_ino) != exclude:
            found.append((st.st_mtime, entry.path))
    for _, candidate in sorted(found, reverse=True)[:MAX_CANDIDATES]:
        try:
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            same = os.pread(fd, len(mark), end - len(mark)) == mark
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)
    return None


__all__ = ["MARK_BYTES", "find_copy", "rewritten", "tail_mark"]
