"""Supabase log rows into LogRecords: either dialect of the logs endpoint, severity per table.

    parse_supabase_row(row, table, function_names) -> LogRecord
        one row of the logs endpoint, either dialect, with the columns the
        console's queries select (see backends/supabase/log_source.py).
    supabase_level(table, row, status) -> Level
        severity the way Studio derives it, per table.
"""

from __future__ import annotations

import re

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cs_console.domain.log_fields import (
    SOURCE_OF_TABLE,
    UTC,
    cut,
    cut_value,
    intern_short,
    level_from_status,
    parse_level,
    parse_status,
    parse_timestamp,
    text_of,
)
from cs_console.domain.log_record import Level, LogRecord

_PG_SEVERITY = {
    "DEBUG": Level.DEBUG, "LOG": Level.INFO, "INFO": Level.INFO, "NOTICE": Level.INFO,
    "WARNING": Level.WARN, "ERROR": Level.ERROR, "FATAL": Level.FATAL, "PANIC": Level.FATAL,
}


_EDGE_STATUS = re.compile(r"^[A-Z]+ \| (\d{3}) \|")
_JSON_STATUS = re.compile(r'"status":\s*(\d{3})\b')
_FUNCTION_URL = re.compile(r"/functions/v1/([A-Za-z0-9_-]+)")


def supabase_level(table: str, row: Mapping[str, Any], status: int | None) -> Level:
    """Severity the way Studio derives it, per table (supabase-ops-api.md §4.2)."""
    raw_level = row.get("level")
    if table == "postgres_logs":
        sev = row.get("error_severity") or raw_level
        if isinstance(sev, str):
            return _PG_SEVERITY.get(sev.upper(), Level.INFO)
        return Level.INFO
    if table == "function_logs":
        level = parse_level(raw_level)
        # The edge runtime writes `uncaughtException`; older rows `UncaughtException`.
        if str(row.get("event_type") or "").lower() == "uncaughtexception":
            return max(level or Level.ERROR, Level.ERROR)
        return level or Level.INFO
    if table == "auth_logs":
        # Auth logs say "info" even on 4xx: status decides as much as level.
        level = parse_level(raw_level) or Level.INFO
        return max(level, level_from_status(status))
    level = parse_level(raw_level)
    return max(level, level_from_status(status)) if level is not None else level_from_status(status)


def parse_supabase_row(
    row: Mapping[str, Any], table: str | None = None, function_names: Mapping[str, str] | None = None
) -> LogRecord:
    """A row of the logs endpoint (BigQuery µs timestamps or ClickHouse ISO text)."""
    table = str(row.get("source") or table or "")
    ts = parse_timestamp(row.get("timestamp")) or datetime.now(UTC)
    status = parse_status(row.get("status_code"))  # ClickHouse reads a missing key as ''
    if status is None:
        status = parse_status(row.get("status"))
    message_text = row.get("event_message")
    if status is None and isinstance(message_text, str):
        # ClickHouse lists carry no attributes (reading the map is what costs): the
        # message says it too ("GET | 500 | ip | …" for edge rows, "status":500 in GoTrue's JSON).
        m = (_EDGE_STATUS if table in ("edge_logs", "function_edge_logs") else _JSON_STATUS if table == "auth_logs" else None)
        hit = m.search(message_text[:2048]) if m is not None else None
        status = parse_status(hit.group(1)) if hit else None
    level = supabase_level(table, row, status)
    function: str | None = None
    fid = row.get("function_id")
    if isinstance(fid, str) and fid:
        function = (function_names or {}).get(fid)
    if function is None:
        path = row.get("pathname") or (row.get("path") if table == "function_edge_logs" else None)
        if isinstance(path, str) and "/functions/v1/" in path:
            function = path.split("/functions/v1/", 1)[1].split("/", 1)[0].split("?", 1)[0] or None
        elif isinstance(path, str):
            # A function's own host (<ref>.functions.supabase.co/<slug>): the last path segment.
            function = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None
    if function is None and table == "function_edge_logs" and isinstance(message_text, str):
        hit = _FUNCTION_URL.search(message_text[:2048])
        function = hit.group(1) if hit else None
    if function is None and isinstance(fid, str) and fid:
        function = fid
    message = text_of(row.get("event_message", ""))
    if message.endswith("\n"):
        message = message.rstrip("\r\n")
    request_id = row.get("execution_id") or row.get("request_id")
    ident = row.get("id")
    return LogRecord(
        ts=ts,
        level=level,
        source=intern_short(SOURCE_OF_TABLE.get(table, table or "supabase")),
        message=cut(message),
        function=intern_short(function) if function else None,
        status=status,
        request_id=str(request_id) if request_id is not None else None,
        id=str(ident) if ident is not None else None,
        raw={k: cut_value(v) for k, v in row.items()},
    )


__all__ = ["parse_supabase_row", "supabase_level"]
