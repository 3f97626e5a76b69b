"""The embedded incident store: one append-only JSON-lines log per incident.

Layout under <state_dir>/incidents/<namespace>/:
  INC-2025-0001.jsonl   the events, one JSON object per line, fsynced on every append
  index.json            one summary row per incident (a cache; rebuilt from the logs
                        when stale), replaced by atomic rename
  .lock                 serialises reference allocation and index writes

Crash safety: an append is one write() of whole lines followed by fsync. A crash
can leave a torn last line; it is skipped with a warning when read, and set
aside (INC-…jsonl.torn-<offset>) before the next append, so nothing complete
before it is ever lost. Two consoles on the same machine are serialised by
flock on the log and detect each other through ConcurrentAppend.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cs_console.domain.incidents.errors import ConcurrentAppend, EventFormatError, UnknownIncident
from cs_console.domain.incidents.events import IncidentEvent
from cs_console.domain.incidents.model import fold
from cs_console.domain.incidents.reference import format_ref, normalize_ref
from cs_console.domain.incidents.store import ChangeCallback

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
_LOG_RE = re.compile(r"^(INC-(\d{4})-(\d{4,}))\.jsonl$")
POLL_SECONDS = 1.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def encode_event(ev: IncidentEvent) -> bytes:
    return json.dumps(ev.to_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class _Parsed:
    """A log read up to its last complete line."""

    __slots__ = ("events", "good_end", "tail", "tail_complete")

    def __init__(self) -> None:
        self.events: list[IncidentEvent] = []
        self.good_end = 0  # offset just after the last complete line
        self.tail = b""  # bytes after good_end
        self.tail_complete = False  # the tail is a whole event missing only its newline


class LocalIncidentStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._warnings: list[str] = []
        self._warned: set[tuple[str, int, str]] = set()
        # ref -> (good_end, events) of the last read, to read only what was added.
        self._cache: dict[str, tuple[int, list[IncidentEvent]]] = {}

    # ------------------------------------------------------------ helpers

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def health(self) -> str:
        return ""

    def _warn(self, ref: str, offset: int, message: str) -> None:
        key = (ref, offset, message)
        if key in self._warned:
            return
        self._warned.add(key)
        self._warnings.append(message)
        log.warning("%s", message)

    def _path(self, ref: str) -> Path:
        return self.root / f"{normalize_ref(ref)}.jsonl"

    def _ensure_root(self) -> None:
        if not self.root.is_dir():
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def _dir_lock(self) -> Iterator[None]:
        self._ensure_root()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _parse(self, ref: str, fd: int) -> _Parsed:
        """Read the log behind fd, reusing what an earlier read already parsed."""
        size = os.fstat(fd).st_size
        cached_end, cached = self._cache.get(ref, (0, []))
        if cached_end > size:  # shrank (set-aside torn tail by another console): start over
            cached_end, cached = 0, []
        out = _Parsed()
        out.events = list(cached)
        start = cached_end
        data = os.pread(fd, size - start, start) if size > start else b""
        pos = 0
        line_no = len(out.events)
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            line = data[pos:nl]
            offset = start + pos
            pos = nl + 1
            line_no += 1
            if not line.strip():
                continue
            ev = self._decode(ref, line, offset, out.events)
            if ev is not None:
                out.events.append(ev)
        out.good_end = start + pos
        out.tail = data[pos:]
        if out.tail:
            ev = self._decode(ref, out.tail, out.good_end, out.events, quiet=True)
            if ev is not None:
                # Complete JSON cut just before its newline: the event is whole.
                out.events.append(ev)
                out.tail_complete = True
            else:
                self._warn(ref, out.good_end, (
                    f"{ref}: torn last line skipped ({len(out.tail)} bytes at offset {out.good_end}): "
                    f"the writer stopped mid-write; the {len(out.events)} events before it are intact"
                ))
        self._cache[ref] = (out.good_end, out.events[: len(out.events) - (1 if out.tail_complete else 0)])
        return out

    def _decode(self, ref: str, line: bytes, offset: int, before: list[IncidentEvent], *, quiet: bool = False) -> IncidentEvent | None:
        try:
            ev = IncidentEvent.from_json(json.loads(line.decode("utf-8")))
        except (ValueError, UnicodeDecodeError, EventFormatError) as exc:
            if not quiet:
                self._warn(ref, offset, f"{ref}: unreadable line at offset {offset} skipped ({str(exc)[:80]})")
            return None
        expected = (before[-1].seq + 1) if before else 1
        if ev.seq != expected:
            if not quiet:
                self._warn(ref, offset, f"{ref}: event at offset {offset} has seq {ev.seq}, expected {expected}: skipped")
            return None
        return ev

    # ------------------------------------------------------------ sync core

    def _load_sync(self, ref: str, after_seq: int = 0) -> list[IncidentEvent]:
        path = self._path(ref)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise UnknownIncident(f"no incident {normalize_ref(ref)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            events = self._parse(path.stem, fd).events
        finally:
            os.close(fd)
        if not events:
            raise UnknownIncident(f"{normalize_ref(ref)}: its log holds no complete event")
        return events[after_seq:]  # seqs are dense from 1 (checked when read)

    def _append_sync(self, ref: str, events: Sequence[IncidentEvent], expected_seq: int, row: dict[str, Any]) -> list[IncidentEvent]:
        path = self._path(ref)
        ref = path.stem
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            raise UnknownIncident(f"no incident {ref}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            parsed = self._parse(ref, fd)
            last = parsed.events[-1].seq if parsed.events else 0
            if last != expected_seq:
                raise ConcurrentAppend(f"{ref}: at seq {last}, expected {expected_seq}")
            if parsed.tail and not parsed.tail_complete:
                self._set_aside_tail(path, fd, parsed)
            prefix = b"\n" if parsed.tail_complete else b""
            placed = [ev.placed(expected_seq + i) for i, ev in enumerate(events, start=1)]
            _write_all(fd, prefix + b"".join(encode_event(ev) for ev in placed))
            os.fsync(fd)
            size = os.fstat(fd).st_size
            self._cache[ref] = (size, parsed.events + placed)
        finally:
            os.close(fd)
        self._update_index({ref: dict(row, log_bytes=size)})
        return placed

    def _set_aside_tail(self, path: Path, fd: int, parsed: _Parsed) -> None:
        """Keep the torn bytes for forensics, then cut them off the log."""
        aside = path.with_name(f"{path.name}.torn-{parsed.good_end}")
        afd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(afd, parsed.tail)
            os.fsync(afd)
        finally:
            os.close(afd)
        os.ftruncate(fd, parsed.good_end)
        os.fsync(fd)
        _fsync_dir(path.parent)
        self._warn(path.stem, parsed.good_end, f"{path.stem}: torn tail set aside as {aside.name} before appending")
        parsed.tail = b""

    def _create_sync(self, year: int, first: IncidentEvent) -> tuple[str, IncidentEvent]:
        placed = first.placed(1)
        line = encode_event(placed)
        with self._dir_lock():
            taken = [int(m.group(3)) for p in self.root.iterdir()
                     if (m := _LOG_RE.match(p.name)) and int(m.group(2)) == year]
            number = max(taken, default=0) + 1
            while True:
                ref = format_ref(year, number)
                try:
                    fd = os.open(self.root / f"{ref}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    break
                except FileExistsError:  # created outside our lock (another tool): take the next
                    number += 1
            try:
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(self.root)
            self._cache[ref] = (len(line), [placed])
            self._update_index_locked({ref: dict(fold(ref, [placed]).summary_row(), log_bytes=len(line))})
        return ref, placed

    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.root / INDEX_NAME).read_text(encoding="utf-8"))
            rows = data.get("incidents", {})
            return rows if isinstance(rows, dict) else {}
        except FileNotFoundError:
            return {}
        except (ValueError, OSError, AttributeError):
            self._warn("index", 0, f"{self.root / INDEX_NAME}: unreadable, rebuilt from the logs")
            return {}

    def _write_index(self, rows: dict[str, dict[str, Any]]) -> None:
        tmp = self.root / f".{INDEX_NAME}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, json.dumps({"version": 1, "incidents": rows}, ensure_ascii=False, sort_keys=True).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        # No directory fsync: the index is a cache, and a lost rename is caught by the
        # log-size check in _index_sync and rebuilt from the logs.
        os.replace(tmp, self.root / INDEX_NAME)

    def _update_index_locked(self, changes: dict[str, dict[str, Any]]) -> None:
        rows = self._read_index()
        for ref, row in changes.items():
            # Never let a slower writer put an older row over a newer one.
            if rows.get(ref, {}).get("log_bytes", -1) <= row.get("log_bytes", 0):
                rows[ref] = row
        self._write_index(rows)

    def _update_index(self, changes: dict[str, dict[str, Any]]) -> None:
        with self._dir_lock():
            self._update_index_locked(changes)

    def _index_sync(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        rows = self._read_index()
        stale: dict[str, dict[str, Any]] = {}
        present: set[str] = set()
        for entry in os.scandir(self.root):
            m = _LOG_RE.match(entry.name)
            if not m:
                continue
            ref = m.group(1)
            present.add(ref)
            size = entry.stat().st_size
            if rows.get(ref, {}).get("log_bytes") == size:
                continue
            # Written by another console, or a crash between log and index: refold.
            try:
                events = self._load_sync(ref)
                stale[ref] = dict(fold(ref, events).summary_row(), log_bytes=size)
            except (UnknownIncident, EventFormatError) as exc:
                self._warn(ref, size, f"{ref}: cannot be listed: {exc}")
        if stale:
            self._update_index(stale)
            rows.update(stale)
        return sorted((dict(r, ref=ref) for ref, r in rows.items() if ref in present), key=lambda r: r["ref"])

    def _signature(self) -> dict[str, tuple[int, int]]:
        sig: dict[str, tuple[int, int]] = {}
        if self.root.is_dir():
            for entry in os.scandir(self.root):
                if _LOG_RE.match(entry.name):
                    st = entry.stat()
                    sig[entry.name[:-6]] = (st.st_size, st.st_mtime_ns)
        return sig

    # ------------------------------------------------------------ async API

    async def create(self, year: int, first: IncidentEvent) -> tuple[str, IncidentEvent]:
        return await asyncio.to_thread(self._create_sync, year, first)

    async def load(self, ref: str, after_seq: int = 0) -> list[IncidentEvent]:
        return await asyncio.to_thread(self._load_sync, ref, after_seq)

    async def append(self, ref: str, events: Sequence[IncidentEvent], expected_seq: int, row: dict[str, Any]) -> list[IncidentEvent]:
        return await asyncio.to_thread(self._append_sync, ref, list(events), expected_seq, row)

    async def index(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._index_sync)

    async def subscribe(self, callback: ChangeCallback) -> Callable[[], Awaitable[None]]:
        """Poll the directory: other consoles on this machine write the same logs."""
        seen = await asyncio.to_thread(self._signature)

        async def poll() -> None:
            nonlocal seen
            while True:
                await asyncio.sleep(POLL_SECONDS)
                try:
                    now = await asyncio.to_thread(self._signature)
                except OSError:
                    continue
                changed = [ref for ref, sig in now.items() if seen.get(ref) != sig]
                seen = now
                for ref in changed:
                    result = callback(ref)
                    if asyncio.iscoroutine(result):
                        await result

        task = asyncio.get_running_loop().create_task(poll(), name="incident-store-poll")

        async def unsubscribe() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return unsubscribe

    async def close(self) -> None:
        return None
