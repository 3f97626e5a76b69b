"""The flight recorder's file: one SQLite database per profile (the demo apart).

Why SQLite: it is in the standard library, one file, readable by any SQLite tool,
and in WAL mode a process killed mid-write leaves every committed batch readable
(the half-written one is rolled back on the next open). ``synchronous=NORMAL``
in WAL mode is safe against a killed process (the OS still has the WAL pages);
only a power cut can lose the last batches, never corrupt the file.

Why zlib on JSON: a metrics snapshot is ~3 KB of JSON whose keys repeat in every
frame; deflate takes it to a quarter or less for ~50 us. Small frames (an alert,
a source change) do not gain and are stored plain (``z = 0``).

Writes never happen on the caller's thread: :meth:`RecordingWriter.put` appends to
a queue and returns; a writer thread serialises, redacts, compresses and commits
everything queued in one transaction per batch (every ``flush_s`` seconds).

Bounded per hour: each hour of recorded time has a byte budget; past 80 % of it
log frames are dropped, past all of it every frame but incidents (the drops are
counted in the ``hours`` table and the replay says so).

A write that fails (disk full, a file made unwritable, a lock held too long) never stops
the console nor the writer thread: the batch is counted as lost, ``error`` says why (the
console shows it), the connection is opened again and the next batch tried; the first
commit that succeeds clears ``error``. The queue is bounded, so a writer that cannot keep
up drops (and counts) frames instead of growing without limit.
"""

from __future__ import annotations

import atexit
import json
import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
MAX_BATCH = 5000  # frames in one transaction at most
MAX_QUEUED = 50_000  # frames waiting for the writer at most (minutes of the busiest scenario)
REOPEN_S = 2.0  # seconds between attempts to open the file again after a failure
COMPRESS_OVER = 200  # bytes of JSON above which deflate pays for its header
HOUR_BUDGET_BYTES = 40 * 1024 * 1024  # the goal is <= 50 MB an hour
RECORDING_SUFFIX = ".recording.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    z INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS frames_kind_t ON frames (kind, t);
CREATE INDEX IF NOT EXISTS frames_t ON frames (t);
CREATE TABLE IF NOT EXISTS incidents (
    ref TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT '',
    opened REAL NOT NULL,
    closed REAL
);
CREATE TABLE IF NOT EXISTS hours (
    hour INTEGER PRIMARY KEY,
    bytes INTEGER NOT NULL DEFAULT 0,
    frames INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0
);
"""


class RecordingError(Exception):
    """The recording cannot be opened or read (one line for the operator)."""


def recording_path(state_dir: Path, namespace: str) -> Path:
    return state_dir / "recordings" / f"{namespace}{RECORDING_SUFFIX}"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=5.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def encode(payload: dict[str, Any], redact: Callable[[str], str] | None) -> tuple[int, bytes]:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    if redact is not None:
        text = redact(text)
    raw = text.encode("utf-8")
    if len(raw) > COMPRESS_OVER:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw):
            return 1, packed
    return 0, raw


def decode(z: int, body: bytes) -> dict[str, Any]:
    raw = zlib.decompress(body) if z else bytes(body)
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class IncidentSpan:
    ref: str
    title: str
    severity: str
    opened: float
    closed: float | None


class RecordingWriter:
    """Queue in, one transaction per batch out, on its own thread."""

    def __init__(
        self, path: Path, *, redact: Callable[[str], str] | None = None, flush_s: float = 0.5,
        hour_budget: int = HOUR_BUDGET_BYTES, ring_hours: float = 0.0, meta: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self._redact = redact
        self.flush_s = flush_s
        self.hour_budget = hour_budget
        self.ring_hours = ring_hours
        self._queue: queue.SimpleQueue[tuple[str, float, Any] | None] = queue.SimpleQueue()
        self.error = ""  # the current write problem ('' once a commit succeeds): the console shows it
        self.written = 0
        self.dropped = 0  # frames over an hour's budget
        self.lost = 0  # frames a failed write (or a full queue) could not keep
        self.cpu_s = 0.0  # CPU time of the writer thread (the benchmark reports it)
        self._hours: dict[int, int] = {}
        self._spans: list[IncidentSpan] = []  # incident windows a failed batch could not write
        self._why = "recording file not open"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        conn = _connect(path)
        try:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            for key, value in (meta or {}).items():
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            for hour, size in conn.execute("SELECT hour, bytes FROM hours"):
                self._hours[int(hour)] = int(size)
            row = conn.execute("SELECT max(t) FROM frames WHERE kind = 'logs'").fetchone()
            self._last_logs = None if row is None or row[0] is None else float(row[0])
        finally:
            conn.close()
        try:
            path.chmod(0o600)  # it holds what the console saw: the operator's alone
        except OSError:
            pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flight-recorder", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # ------------------------------------------------------------ caller side (any thread)

    def put(self, kind: str, t: float, payload: dict[str, Any]) -> None:
        """Queue one frame; returns at once (a full queue: the frame is lost and counted)."""
        if self._queue.qsize() >= MAX_QUEUED:
            self.lost += 1
            self.error = f"recording falls behind: {self.lost} frames lost ({self.path.name})"
            return
        self._queue.put((kind, t, payload))

    def incident(self, span: IncidentSpan) -> None:
        self._queue.put(("@incident", span.opened, span))

    def last_logs(self) -> float | None:
        """The newest logs second the file held when opened (a console restarted during an
        incident does not record the pre-roll's seconds twice)."""
        return self._last_logs

    def close(self, timeout: float = 5.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------ writer thread

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        last_prune = 0.0
        failed_at = 0.0
        try:
            while True:
                batch, closing = self._take()
                if conn is None and (closing or time.monotonic() - failed_at >= REOPEN_S):
                    try:
                        conn = _connect(self.path)
                    except sqlite3.Error as exc:  # removed, unwritable, not a database any more
                        failed_at = time.monotonic()
                        self._why = f"cannot open {self.path}: {exc}"
                if batch and conn is None:
                    self._keep_spans(batch)
                    self._failed(self._why, sum(1 for kind, _t, _p in batch if kind != "@incident"))
                elif batch and conn is not None:
                    began = time.thread_time()
                    try:
                        ok = self._write(conn, batch)
                    except Exception as exc:  # noqa: BLE001 - the thread must outlive any one batch
                        self._keep_spans(batch)
                        self._failed(f"recording not written: {type(exc).__name__}: {exc}", len(batch))
                        ok = False
                    self.cpu_s += time.thread_time() - began
                    if not ok:  # a new connection for the next batch (the old one may be broken)
                        conn.close()
                        conn, failed_at = None, time.monotonic()
                if conn is not None and self.ring_hours > 0 and time.monotonic() - last_prune > 60:
                    last_prune = time.monotonic()
                    self._prune(conn)
                if closing:
                    return
        finally:
            if conn is not None:
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass
                conn.close()

    def _failed(self, why: str, frames: int) -> None:
        self._why = why
        self.lost += frames
        self.error = f"{why} · {self.lost} frames lost"[:200]

    def _keep_spans(self, batch: list[tuple[str, float, Any]]) -> None:
        """An incident's window is written with the next batch that commits (the replay needs it)."""
        self._spans.extend(payload for kind, _t, payload in batch if kind == "@incident")

    def _take(self) -> tuple[list[tuple[str, float, Any]], bool]:
        batch: list[tuple[str, float, Any]] = []
        deadline = time.monotonic() + self.flush_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(remaining, 0.001)) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if item is None or len(batch) >= MAX_BATCH:
                if item is not None:
                    batch.append(item)
                    return batch, False
                while True:  # what was queued before close() still goes in
                    try:
                        rest = self._queue.get_nowait()
                    except queue.Empty:
                        return batch, True
                    if rest is not None:
                        batch.append(rest)
            batch.append(item)

    def _write(self, conn: sqlite3.Connection, batch: list[tuple[str, float, Any]]) -> bool:
        """One transaction for the batch; False when it could not be committed (the batch is lost)."""
        rows: list[tuple[float, str, int, bytes]] = []
        spans, self._spans = self._spans, []
        hours: dict[int, list[int]] = {}
        for kind, t, payload in batch:
            if kind == "@incident":
                spans.append(payload)
                continue
            try:
                z, body = encode(payload, self._redact)
            except (TypeError, ValueError):
                self.lost += 1  # one odd frame is not a recording problem worth the header
                continue
            hour = int(t // 3600)
            used = self._hours.get(hour, 0)
            limit = self.hour_budget * (0.8 if kind == "logs" else 1.0)
            entry = hours.setdefault(hour, [0, 0, 0])
            if used + len(body) > limit:
                entry[2] += 1
                self.dropped += 1
                continue
            self._hours[hour] = used + len(body)
            entry[0] += len(body)
            entry[1] += 1
            rows.append((t, kind, z, body))
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO frames (t, kind, z, body) VALUES (?, ?, ?, ?)", rows)
            for span in spans:
                conn.execute(
                    "INSERT INTO incidents (ref, title, severity, opened, closed) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (ref) DO UPDATE SET title = excluded.title, severity = excluded.severity, "
                    "opened = min(incidents.opened, excluded.opened), closed = excluded.closed",
                    (span.ref, self._redact(span.title) if self._redact else span.title, span.severity, span.opened, span.closed),
                )
            for hour, (size, count, dropped) in hours.items():
                conn.execute(
                    "INSERT INTO hours (hour, bytes, frames, dropped) VALUES (?, ?, ?, ?) ON CONFLICT (hour) DO UPDATE SET "
                    "bytes = hours.bytes + excluded.bytes, frames = hours.frames + excluded.frames, dropped = hours.dropped + excluded.dropped",
                    (hour, size, count, dropped),
                )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # disk full, read-only, I/O error: said, the batch lost
            for hour, (size, _count, _dropped) in hours.items():
                self._hours[hour] = self._hours.get(hour, 0) - size
            self._spans = spans + self._spans
            self._failed(f"recording not written ({self.path.name}): {exc}", len(rows))
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return False
        self.written += len(rows)
        self.error = ""
        return True

    def _prune(self, conn: sqlite3.Connection) -> None:
        """The ring: frames older than ring_hours go, unless an incident's window holds them."""
        try:
            newest = conn.execute("SELECT max(t) FROM frames").fetchone()[0]
            if newest is None:
                return
            cutoff = float(newest) - self.ring_hours * 3600
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "DELETE FROM frames WHERE t < ? AND kind != 'incident' AND NOT EXISTS (SELECT 1 FROM incidents i "
                "WHERE frames.t >= i.opened - 900 AND frames.t <= coalesce(i.closed, 1e18) + 300)",
                (cutoff,),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.error = f"recording ring not pruned: {exc}"[:160]
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass


class RecordingReader:
    """A recording opened for replay and export (also one whose writer was killed)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise RecordingError(f"no recording at {path}")
        self.path = path
        try:
            self._conn = _connect(path)
            version = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{path} is not a cs-console recording ({exc})") from None
        if version is None:
            raise RecordingError(f"{path} is not a cs-console recording (no schema version)")

    def close(self) -> None:
        self._conn.close()

    def meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta"))

    def span(self) -> tuple[float, float] | None:
        lo, hi = self._conn.execute("SELECT min(t), max(t) FROM frames").fetchone()
        return None if lo is None else (float(lo), float(hi))

    def incidents(self) -> list[IncidentSpan]:
        rows = self._conn.execute("SELECT ref, title, severity, opened, closed FROM incidents ORDER BY opened")
        return [IncidentSpan(r[0], r[1], r[2], float(r[3]), None if r[4] is None else float(r[4])) for r in rows]

    def incident(self, ref: str) -> IncidentSpan | None:
        return next((s for s in self.incidents() if s.ref.upper() == ref.upper()), None)

    def frames(self, kind: str | None = None, start: float | None = None, end: float | None = None) -> Iterator[tuple[float, str, dict[str, Any]]]:
        """(t, kind, payload) in time order; a frame that cannot be decoded is skipped."""
        clauses, args = [], []
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind)
        if start is not None:
            clauses.append("t >= ?")
            args.append(start)
        if end is not None:
            clauses.append("t <= ?")
            args.append(end)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        for t, k, z, body in self._conn.execute(f"SELECT t, kind, z, body FROM frames {where} ORDER BY t, id", args):
            try:
                yield float(t), str(k), decode(int(z), body)
            except (zlib.error, ValueError):
                continue

    def latest(self, kind: str, t: float) -> tuple[float, dict[str, Any]] | None:
        row = self._conn.execute("SELECT t, z, body FROM frames WHERE kind = ? AND t <= ? ORDER BY t DESC, id DESC LIMIT 1", (kind, t)).fetchone()
        if row is None:
            return None
        try:
            return float(row[0]), decode(int(row[1]), row[2])
        except (zlib.error, ValueError):
            return None

    def times(self, kind: str) -> list[float]:
        return [float(r[0]) for r in self._conn.execute("SELECT t FROM frames WHERE kind = ? ORDER BY t", (kind,))]

    def hours(self) -> list[tuple[int, int, int, int]]:
        return [tuple(map(int, r)) for r in self._conn.execute("SELECT hour, bytes, frames, dropped FROM hours ORDER BY hour")]  # type: ignore[misc]
