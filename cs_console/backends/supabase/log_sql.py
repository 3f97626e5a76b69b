"""SQL for reading log records from the Supabase log store, in both dialects.

Every query selects the same column names, whatever the dialect or table, so
one row parser (domain.supabase_log_rows.parse_supabase_row) reads them all:

    id, timestamp, event_message, source (the table), level, error_severity,
    status_code, status, function_id, execution_id, path, event_type

BigQuery (`logs.all`): one SELECT per table with its `cross join unnest(...)`
(supabase-ops-api.md §4.2), glued with UNION ALL so one request serves
several sources; all extra columns are cast to STRING so the union types agree.
ClickHouse (`/logs`): one SELECT over the `logs` table with `source in (...)`.
Any subscript of the `log_attributes` map reads the whole map (an hour of
edge logs: ~22 GiB against ~1.5 GiB for the plain columns), so a listing
selects only the plain columns (id, timestamp, event_message, source,
severity_text as level) and `details_sql` fetches the map for the rows shown,
bracketed by their timestamp range, their sources and `id in (...)`;
`merge_attributes` then fills the logical fields from it. A pushdown on a
status or function id still needs the map in WHERE (the user asked for it).

`Pushdown` conditions (level floor, function ids, status floor) become WHERE
clauses per table; a table that cannot hold a match is left out. Only
values we generate or that passed `_safe_literal` reach the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cs_console.domain.log_record import Level

SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "function": ("function_logs", "function_edge_logs"),
    "edge": ("edge_logs",),
    "auth": ("auth_logs",),
    "postgres": ("postgres_logs",),
    "all": ("function_logs", "function_edge_logs", "edge_logs", "auth_logs", "postgres_logs"),
}
TABLE_SOURCE = {t: s for s in ("function", "edge", "auth", "postgres") for t in SOURCE_TABLES[s]}

COLUMNS = ("id", "timestamp", "event_message", "source", "level", "error_severity", "status_code", "status", "function_id", "execution_id", "path", "event_type")

_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _safe_literal(value: str) -> str | None:
    """A quoted SQL string for an id-like value, or None if it is not id-like."""
    return f"'{value}'" if _SAFE.match(value) else None


@dataclass(frozen=True, slots=True)
class Conditions:
    """What the server may pre-filter; None = no condition."""

    min_level: Level | None = None
    function_ids: tuple[str, ...] | None = None
    min_status: int | None = None


# Level words each table uses, and which Level they mean (supabase-ops-api.md §4.2).
_FUNCTION_LEVELS = {"debug": Level.DEBUG, "log": Level.INFO, "info": Level.INFO, "warn": Level.WARN, "warning": Level.WARN, "error": Level.ERROR, "fatal": Level.FATAL}
_AUTH_LEVELS = {"debug": Level.DEBUG, "info": Level.INFO, "warn": Level.WARN, "warning": Level.WARN, "error": Level.ERROR, "fatal": Level.FATAL, "panic": Level.FATAL}
_PG_LEVELS = {"DEBUG": Level.DEBUG, "LOG": Level.INFO, "INFO": Level.INFO, "NOTICE": Level.INFO, "WARNING": Level.WARN, "ERROR": Level.ERROR, "FATAL": Level.FATAL, "PANIC": Level.FATAL}


def _words_at_least(words: dict[str, Level], floor: Level) -> str:
    return ", ".join(f"'{w}'" for w, lv in words.items() if lv >= floor)


def _status_floor_for(level: Level) -> int | None:
    """HTTP tables: WARN = 4xx and up, ERROR = 5xx; FATAL cannot come from a status."""
    if level >= Level.FATAL:
        return None
    if level >= Level.ERROR:
        return 500
    if level >= Level.WARN:
        return 400
    return 0


@dataclass(frozen=True, slots=True)
class _Fields:
    """Per table and dialect: expressions for the logical fields (None: the table lacks it)."""

    level: str | None
    severity: str | None
    status: str | None  # an integer expression
    function_id: str | None
    event_type: str | None


def _bq_fields(table: str) -> _Fields:
    if table == "function_logs":
        return _Fields("metadata.level", None, None, "metadata.function_id", "metadata.event_type")
    if table == "function_edge_logs":
        return _Fields(None, None, "response.status_code", "m.function_id", None)
    if table == "edge_logs":
        return _Fields(None, None, "response.status_code", None, None)
    if table == "auth_logs":
        return _Fields("metadata.level", None, "SAFE_CAST(metadata.status AS INT64)", None, None)
    return _Fields(None, "parsed.error_severity", None, None, None)


def _ch_fields(table: str) -> _Fields:
    # Levels from the plain severity_text column; status and function id only live in the map.
    a = "log_attributes"
    if table == "function_logs":
        return _Fields("lower(severity_text)", None, None, f"{a}['function_id']", None)
    if table == "function_edge_logs":
        return _Fields(None, None, f"toInt32OrZero({a}['response.status_code'])", f"{a}['function_id']", None)
    if table == "edge_logs":
        return _Fields(None, None, f"toInt32OrZero({a}['response.status_code'])", None, None)
    if table == "auth_logs":
        return _Fields("lower(severity_text)", None, f"toInt32OrZero({a}['status'])", None, None)
    return _Fields(None, "upper(severity_text)", None, None, None)


def table_conditions(table: str, cond: Conditions, fields: _Fields) -> list[str] | None:
    """WHERE terms for one table, or None when the table cannot hold a match."""
    terms: list[str] = []
    if cond.function_ids is not None:
        if fields.function_id is None:
            return None
        ids = [lit for fid in cond.function_ids if (lit := _safe_literal(fid))]
        if not ids:
            return None
        terms.append(f"{fields.function_id} in ({', '.join(ids)})")
    if cond.min_status is not None and cond.min_status > 0:
        if fields.status is None:
            return None
        terms.append(f"{fields.status} >= {int(cond.min_status)}")
    floor = cond.min_level
    if floor is not None and floor > Level.DEBUG:
        if table == "postgres_logs" and fields.severity:
            terms.append(f"{fields.severity} in ({_words_at_least(_PG_LEVELS, floor)})")
        elif table == "function_logs" and fields.level:
            # Edge runtime spells it `uncaughtException`, older rows `UncaughtException`: compare in lower case.
            uncaught = f" or lower({fields.event_type}) = 'uncaughtexception'" if floor <= Level.ERROR and fields.event_type else ""
            terms.append(f"({fields.level} in ({_words_at_least(_FUNCTION_LEVELS, floor)}){uncaught})")
        elif table == "auth_logs" and fields.level and fields.status:
            status_floor = _status_floor_for(floor)
            by_status = f" or {fields.status} >= {status_floor}" if status_floor else ""
            terms.append(f"({fields.level} in ({_words_at_least(_AUTH_LEVELS, floor)}){by_status})")
        elif fields.status is not None:
            status_floor = _status_floor_for(floor)
            if status_floor is None:
                return None
            if status_floor:
                terms.append(f"{fields.status} >= {status_floor}")
    return terms


# ----------------------------------------------------------------- BigQuery (logs.all)

_BQ_SELECT: dict[str, str] = {
    "function_logs": (
        "select id, function_logs.timestamp as timestamp, event_message, 'function_logs' as source, "
        "metadata.level as level, cast(null as string) as error_severity, cast(null as string) as status_code, "
        "cast(null as string) as status, metadata.function_id as function_id, metadata.execution_id as execution_id, "
        "cast(null as string) as path, metadata.event_type as event_type "
        "from function_logs cross join unnest(metadata) as metadata"
    ),
    "function_edge_logs": (
        "select id, function_edge_logs.timestamp as timestamp, event_message, 'function_edge_logs' as source, "
        "cast(null as string) as level, cast(null as string) as error_severity, cast(response.status_code as string) as status_code, "
        "cast(null as string) as status, m.function_id as function_id, m.execution_id as execution_id, "
        "request.pathname as path, cast(null as string) as event_type "
        "from function_edge_logs cross join unnest(metadata) as m cross join unnest(m.response) as response "
        "cross join unnest(m.request) as request"
    ),
    "edge_logs": (
        "select id, edge_logs.timestamp as timestamp, event_message, 'edge_logs' as source, "
        "cast(null as string) as level, cast(null as string) as error_severity, cast(response.status_code as string) as status_code, "
        "cast(null as string) as status, cast(null as string) as function_id, cast(null as string) as execution_id, "
        "request.path as path, cast(null as string) as event_type "
        "from edge_logs cross join unnest(metadata) as m cross join unnest(m.request) as request "
        "cross join unnest(m.response) as response"
    ),
    "auth_logs": (
        "select id, auth_logs.timestamp as timestamp, event_message, 'auth_logs' as source, "
        "metadata.level as level, cast(null as string) as error_severity, cast(null as string) as status_code, "
        "cast(metadata.status as string) as status, cast(null as string) as function_id, cast(null as string) as execution_id, "
        "metadata.path as path, cast(null as string) as event_type "
        "from auth_logs cross join unnest(metadata) as metadata"
    ),
    "postgres_logs": (
        "select id, postgres_logs.timestamp as timestamp, event_message, 'postgres_logs' as source, "
        "cast(null as string) as level, parsed.error_severity as error_severity, cast(null as string) as status_code, "
        "cast(null as string) as status, cast(null as string) as function_id, cast(null as string) as execution_id, "
        "cast(null as string) as path, cast(null as string) as event_type "
        "from postgres_logs cross join unnest(metadata) as m cross join unnest(m.parsed) as parsed"
    ),
}


def _utc_text(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def bigquery_sql(tables: Sequence[str], cond: Conditions, limit: int, before: datetime | None = None) -> str | None:
    """Newest `limit` rows of `tables` (None when no table can match).

    `before`: only rows at or before that time (paging inside the endpoint's
    minute-rounded window; ties are removed by id).
    """
    parts: list[str] = []
    for table in tables:
        where = table_conditions(table, cond, _bq_fields(table))
        if where is None:
            continue
        if before is not None:
            where = [*where, f"{table}.timestamp <= TIMESTAMP('{_utc_text(before)}+00')"]
        parts.append(_BQ_SELECT[table] + (" where " + " and ".join(where) if where else ""))
    if not parts:
        return None
    if len(parts) == 1:
        return f"{parts[0]} order by timestamp desc limit {int(limit)}"
    union = " union all ".join(f"({p})" for p in parts)
    return f"select {', '.join(COLUMNS)} from ({union}) order by timestamp desc limit {int(limit)}"


# ----------------------------------------------------------------- ClickHouse (/logs)

# The plain columns: no map read. (Cost notes: tests/benchmarks/logs_cost.py.)
CH_LIST_COLUMNS = ("id", "timestamp", "event_message", "source", "severity_text")
_CH_COLUMNS = "id, timestamp, event_message, source, severity_text as level"
DETAIL_IDS_MAX = 100  # ids per attribute fetch: a page of the Logs pane fits, the URL stays short

def clickhouse_sql(tables: Sequence[str], cond: Conditions, limit: int, before: datetime | None = None) -> str | None:
    clauses: list[str] = []
    plain: list[str] = []
    for table in tables:
        where = table_conditions(table, cond, _ch_fields(table))
        if where is None:
            continue
        if where:
            clauses.append(f"(source = '{table}' and {' and '.join(where)})")
        else:
            plain.append(f"'{table}'")
    if plain:
        clauses.insert(0, f"source in ({', '.join(plain)})")
    if not clauses:
        return None
    where = " or ".join(clauses)
    if before is not None:
        where = f"({where}) and timestamp <= {_ch_time(before)}"
    return f"select {_CH_COLUMNS} from logs where {where} order by timestamp desc limit {int(limit)}"


def _ch_time(at: datetime) -> str:
    return f"toDateTime64('{_utc_text(at)}', 6, 'UTC')"


def details_sql(rows: Sequence[tuple[str, str, datetime]]) -> str | None:
    """The attribute map of these (id, source table, timestamp) rows, and nothing else.

    Bracketed by the rows' own time range and sources so the store reads only
    the parts that hold them. None when no row has a usable id.
    """
    usable = [(lit, t, ts) for rid, t, ts in rows[:DETAIL_IDS_MAX] if (lit := _safe_literal(rid)) and t in TABLE_SOURCE]
    if not usable:
        return None
    ids = ", ".join(dict.fromkeys(lit for lit, _, _ in usable))
    tables = ", ".join(f"'{t}'" for t in dict.fromkeys(t for _, t, _ in usable))
    low, high = min(ts for *_, ts in usable), max(ts for *_, ts in usable)
    return (
        f"select id, log_attributes from logs where source in ({tables}) "
        f"and timestamp >= {_ch_time(low)} and timestamp <= {_ch_time(high)} "
        f"and id in ({ids}) limit {len(usable)}"
    )


def _first(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def merge_attributes(row: dict[str, Any], attrs: Any) -> dict[str, Any]:
    """A listed row with the logical fields filled from its attribute map (keys
    have no `metadata.` root); the map itself is kept for the detail view."""
    if not isinstance(attrs, dict):
        return row
    out = dict(row)
    for field_name, keys in (
        ("level", ("level",)),
        ("error_severity", ("parsed.error_severity", "error_severity")),
        ("status_code", ("response.status_code",)),
        ("status", ("status",)),
        ("function_id", ("function_id",)),
        ("execution_id", ("execution_id",)),
        ("path", ("request.pathname", "request.path", "path")),
        ("event_type", ("event_type",)),
    ):
        value = _first(attrs, *keys)
        if value is not None:
            out[field_name] = value
    out["log_attributes"] = attrs
    return out


def logs_sql(dialect: str, tables: Sequence[str], cond: Conditions, limit: int, before: datetime | None = None) -> str | None:
    if dialect == "clickhouse":
        return clickhouse_sql(tables, cond, limit, before)
    return bigquery_sql(tables, cond, limit, before)


__all__ = ["CH_LIST_COLUMNS", "COLUMNS", "DETAIL_IDS_MAX", "details_sql", "merge_attributes", "SOURCE_TABLES", "TABLE_SOURCE", "Conditions", "bigquery_sql", "clickhouse_sql", "logs_sql", "table_conditions"]
