"""Database detail views (the `supabase inspect db` set): the protocol and its row types.

A backend (PostgreSQL, the demo) implements `DatabaseInspector`; the Metrics
pane lists `views()` and shows the `InspectTable` that `run(view_id)` returns.
Every backend answers with the columns declared here for a view, so the pane
renders one view the same way whatever the source. Cells hold plain values
(int, float, str, bool, datetime or None); `format_cell` turns them into text.
Text cells come from the database (query text, role names): render them
literally, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from cs_console.domain.durations import measured

Cell = int | float | str | bool | datetime | None


class ColumnKind(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"  # plain number with one decimal (e.g. milliseconds, named in the label)
    BYTES = "bytes"
    SECONDS = "seconds"  # a duration
    PCT = "pct"
    TIMESTAMP = "timestamp"
    BOOL = "bool"

    @property
    def numeric(self) -> bool:
        """Right-aligned in tables."""
        return self in (ColumnKind.INT, ColumnKind.FLOAT, ColumnKind.BYTES, ColumnKind.SECONDS, ColumnKind.PCT)


@dataclass(frozen=True, slots=True)
class InspectColumn:
    name: str  # stable key (the SQL alias)
    label: str  # header shown to the operator
    kind: ColumnKind = ColumnKind.TEXT

    def __str__(self) -> str:  # a table header
        return self.label


@dataclass(frozen=True, slots=True)
class InspectView:
    id: str
    title: str
    description: str  # one line: what it shows and why it matters during an incident
    columns: tuple[InspectColumn, ...]
    needs: str = ""  # privilege or extension it depends on, if any

    def column_index(self, name: str) -> int:
        for i, col in enumerate(self.columns):
            if col.name == name:
                return i
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class InspectTable:
    """One run of one view. `error` set means the run failed (rows are empty);
    `note` qualifies a successful run (missing privilege, estimate, cut)."""

    view: InspectView
    rows: tuple[tuple[Cell, ...], ...] = ()
    note: str = ""
    error: str = ""
    at: datetime | None = None
    elapsed_ms: float | None = None

    @property
    def columns(self) -> tuple[InspectColumn, ...]:
        return self.view.columns

    @property
    def ok(self) -> bool:
        return not self.error

    def column(self, name: str) -> list[Cell]:
        i = self.view.column_index(name)
        return [row[i] for row in self.rows]

    def as_dicts(self) -> list[dict[str, Cell]]:
        names = [c.name for c in self.view.columns]
        return [dict(zip(names, row)) for row in self.rows]


class UnknownInspectView(KeyError):
    """A view id that no inspector knows: a programming error, not a fault."""


@runtime_checkable
class DatabaseInspector(Protocol):
    name: str

    def views(self) -> list[InspectView]:
        """The views this inspector can run, in display order."""
        ...

    async def run(self, view_id: str) -> InspectTable:
        """Run one view. Expected faults (database down, timeout, missing
        privilege) come back in the table's `error`/`note`; never raises for them.
        Raises UnknownInspectView for an id not in views()."""
        ...


# ---------------------------------------------------------------- the catalogue

T, I, F, B, S, P, TS, BO = (
    ColumnKind.TEXT, ColumnKind.INT, ColumnKind.FLOAT, ColumnKind.BYTES,
    ColumnKind.SECONDS, ColumnKind.PCT, ColumnKind.TIMESTAMP, ColumnKind.BOOL,
)


def _cols(*spec: tuple[str, str, ColumnKind]) -> tuple[InspectColumn, ...]:
    return tuple(InspectColumn(n, label, kind) for n, label, kind in spec)


NEEDS_STATS = "pg_read_all_stats (other roles' query text)"
NEEDS_PGSS = "the pg_stat_statements extension"

INSPECT_VIEWS: tuple[InspectView, ...] = (
    InspectView(
        "long_running", "Long-running queries",
        "Sessions busy (or idle in a transaction) for longer than a few seconds, oldest first.",
        _cols(("pid", "PID", I), ("duration", "Running", S), ("state", "State", T), ("user", "User", T),
              ("application", "Application", T), ("client", "Client", T), ("wait", "Waiting on", T), ("query", "Query", T)),
        NEEDS_STATS,
    ),
    InspectView(
        "blocking", "Blocking",
        "Sessions waiting on a lock, and the session holding it.",
        _cols(("blocked_pid", "Blocked PID", I), ("blocked_user", "Blocked user", T), ("blocked_for", "Waiting", S),
              ("blocked_query", "Blocked query", T), ("blocking_pid", "Blocking PID", I), ("blocking_user", "Blocking user", T),
              ("blocking_state", "Blocking state", T), ("blocking_for", "Blocking tx age", S), ("blocking_query", "Blocking query", T)),
        NEEDS_STATS,
    ),
    InspectView(
        "locks", "Locks",
        "Locks stronger than a plain read, and every lock still waited for.",
        _cols(("pid", "PID", I), ("relation", "Object", T), ("mode", "Mode", T), ("granted", "Granted", BO),
              ("age", "Age", S), ("user", "User", T), ("query", "Query", T)),
        NEEDS_STATS,
    ),
    InspectView(
        "outliers", "Top queries by total time",
        "Statements that took the most execution time since statistics were reset.",
        _cols(("total_ms", "Total ms", F), ("share", "Share", P), ("calls", "Calls", I), ("mean_ms", "Mean ms", F),
              ("rows", "Rows", I), ("query", "Query", T)),
        NEEDS_PGSS,
    ),
    InspectView(
        "calls", "Most frequent queries",
        "Statements run most often since statistics were reset.",
        _cols(("calls", "Calls", I), ("share", "Share", P), ("total_ms", "Total ms", F), ("mean_ms", "Mean ms", F),
              ("query", "Query", T)),
        NEEDS_PGSS,
    ),
    InspectView(
        "table_sizes", "Table sizes",
        "Largest tables with their indexes (TOAST included in the table size).",
        _cols(("table", "Table", T), ("rows", "Rows (est.)", I), ("table_bytes", "Table", B), ("index_bytes", "Indexes", B),
              ("total_bytes", "Total", B), ("seq_scans", "Seq scans", I)),
    ),
    InspectView(
        "index_sizes", "Index sizes",
        "Largest indexes and how often they are scanned.",
        _cols(("index", "Index", T), ("table", "Table", T), ("size_bytes", "Size", B), ("scans", "Scans", I)),
    ),
    InspectView(
        "bloat", "Bloat (estimate)",
        "Space tables use beyond what their live rows need, estimated from planner statistics.",
        _cols(("table", "Table", T), ("bloat", "Bloat", P), ("waste_bytes", "Waste", B), ("table_bytes", "Table size", B),
              ("dead_pct", "Dead rows", P)),
    ),
    InspectView(
        "vacuum_stats", "Vacuum",
        "Dead rows per table, last (auto)vacuum and analyze, and whether autovacuum is due.",
        _cols(("table", "Table", T), ("last_vacuum", "Last vacuum", TS), ("last_analyze", "Last analyze", TS),
              ("live_rows", "Live rows", I), ("dead_rows", "Dead rows", I), ("dead_pct", "Dead", P),
              ("vacuum_at", "Autovacuum at", I), ("due", "Due", BO)),
    ),
    InspectView(
        "index_usage", "Index usage",
        "Share of scans that used an index, per table (low on a big table: missing index).",
        _cols(("table", "Table", T), ("index_pct", "Index use", P), ("index_scans", "Index scans", I),
              ("seq_scans", "Seq scans", I), ("rows", "Rows (est.)", I)),
    ),
    InspectView(
        "unused_indexes", "Unused indexes",
        "Indexes never (or hardly ever) scanned that are not needed for a constraint.",
        _cols(("index", "Index", T), ("table", "Table", T), ("size_bytes", "Size", B), ("scans", "Scans", I)),
    ),
    InspectView(
        "seq_scans", "Sequential scans",
        "Tables read by full scans most often.",
        _cols(("table", "Table", T), ("seq_scans", "Seq scans", I), ("rows_read", "Rows read", I),
              ("avg_rows", "Rows / scan", F), ("table_bytes", "Table size", B)),
    ),
    InspectView(
        "role_connections", "Connections per role",
        "Open connections of each login role against its limit.",
        _cols(("role", "Role", T), ("connections", "Connections", I), ("limit", "Limit", I), ("pct", "Used", P)),
    ),
    InspectView(
        "cache_hit", "Cache hit",
        "Share of block reads served from shared buffers since statistics were reset.",
        _cols(("name", "Reads of", T), ("hit_pct", "Hit", P), ("hits", "Hits", I), ("reads", "Disk reads", I),
              ("since", "Since", TS)),
    ),
    InspectView(
        "replication", "Replication slots and standbys",
        "Replication slots and connected standbys with their lag.",
        _cols(("name", "Name", T), ("kind", "Kind", T), ("active", "Active", BO), ("state", "State", T),
              ("client", "Client", T), ("lag_bytes", "Lag", B), ("lag_s", "Replay lag", S)),
        NEEDS_STATS,
    ),
)

VIEW_BY_ID: dict[str, InspectView] = {v.id: v for v in INSPECT_VIEWS}


def view_by_id(view_id: str) -> InspectView:
    try:
        return VIEW_BY_ID[view_id]
    except KeyError:
        raise UnknownInspectView(view_id) from None


# ---------------------------------------------------------------- formatting


def format_bytes(n: float) -> str:
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_cell(value: Cell, kind: ColumnKind) -> str:
    """Text for one cell; '' for NULL. Text cells are returned as they are (the
    caller makes control characters visible and renders literally)."""
    if value is None:
        return ""
    if kind is ColumnKind.BOOL or isinstance(value, bool):
        return "yes" if value else "no"
    if kind is ColumnKind.TIMESTAMP and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (int, float)):
        if kind is ColumnKind.BYTES:
            return format_bytes(value)
        if kind is ColumnKind.SECONDS:
            return measured(float(value))
        if kind is ColumnKind.PCT:
            return f"{value:.1f} %"
        if kind is ColumnKind.FLOAT:
            return f"{value:,.1f}"
        if kind is ColumnKind.INT:
            return f"{int(value):,}"
    return str(value)

