"""Attributes for the Supabase log records on screen (ClickHouse lists without them).

One request per DETAIL_IDS_MAX records, bracketed by their timestamps, sources
and ids (log_sql.details_sql); records already complete come back as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from cs_console.backends.supabase.http_client import SupabaseClient
from cs_console.backends.supabase.log_sql import DETAIL_IDS_MAX, TABLE_SOURCE, details_sql, merge_attributes
from cs_console.backends.supabase.log_window import clamp_window, floor_minute
from cs_console.backends.supabase.rate_budget import Priority
from cs_console.domain.log_record import LogRecord
from cs_console.domain.supabase_log_rows import parse_supabase_row

class _Hub(Protocol):
    """What of SupabaseLogHub this needs (no import: the hub imports this module)."""

    client: SupabaseClient
    requests: int

    async def function_names(self) -> dict[str, str]: ...


async def fetch_attributes(hub: _Hub, records: Sequence[LogRecord]) -> list[LogRecord]:
    """`records` with their attribute maps filled in. Raises SupabaseError."""
    want = [r for r in records if r.id and "log_attributes" not in r.raw and r.raw.get("source") in TABLE_SOURCE]
    if not want:
        return list(records)
    names = await hub.function_names()
    filled: dict[str, LogRecord] = {}
    for i in range(0, len(want), DETAIL_IDS_MAX):
        chunk = want[i : i + DETAIL_IDS_MAX]
        sql = details_sql([(str(r.id), str(r.raw.get("source")), r.ts) for r in chunk])
        if sql is None:
            continue
        low, high = min(r.ts for r in chunk), max(r.ts for r in chunk)
        start, end = clamp_window(floor_minute(low), high + timedelta(minutes=1))
        hub.requests += 1
        rows = await hub.client.query_logs(sql, start, end, dialect="clickhouse", priority=Priority.HIGH)
        attrs = {str(row.get("id")): row.get("log_attributes") for row in rows}
        for r in chunk:
            if str(r.id) in attrs:
                filled[str(r.id)] = parse_supabase_row(merge_attributes(dict(r.raw), attrs[str(r.id)]), None, names)
    return [filled.get(str(r.id), r) for r in records]


__all__ = ["fetch_attributes"]
