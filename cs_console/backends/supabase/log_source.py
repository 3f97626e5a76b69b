"""Supabase log sources (`function`, `edge`, `auth`, `postgres`, `all`) over the logs endpoint.

    hub = SupabaseLogHub(client, clock, interval_s=profile.refresh["logs"])
    source = hub.source("function")           # a LogSource
    source.set_pushdown(filter.pushdown(now))  # optional: let the server pre-filter
    async for batch in source.records(since, follow, tail=1000, backfill=True): ...
    source.lag_seconds()   seconds since the log store was last read completely
                           (grows while rate limited or failing; None before)
    source.newest_age_seconds()  how old the newest record seen is
    source.status()        SourceStatus for the header: UP / DEGRADED / DOWN + why

History: the newest records of [since, now] (default the last hour), read
newest first in windows of at most 24 h and pages of `page` rows (the
endpoint has no cursor: pages move with `timestamp <= oldest seen`).
Follow: one hub polls for every following source with ONE query per poll
(a UNION in BigQuery, `source in (...)` in ClickHouse), over overlapping
windows [cursor - overlap, now] (late arrivals); each source drops ids it
has seen (bounded set). Every request goes through the client's shared
RateBudget (30/min for logs, shared with the metrics panes); when the budget
or a 429 says wait, the hub waits, and says so in status().

Dialect: the profile's `log_dialect`, or for `auto` ClickHouse `/logs` first;
an answer saying that endpoint is missing or retired switches once to
BigQuery `logs.all` (self-hosted, local CLI), remembered per project for the
session (log_endpoint.py) and named in status(). If BigQuery rejects the
UNION, tables are queried one per request.

Cost: in ClickHouse the listing reads only the plain columns; the attribute
map (status, function id, path...) comes from `fetch_details(records)` for the
records on screen. Windows start on a whole minute (the endpoint rounds to
minutes) and overlap; ids de-duplicate. The poll interval stretches when less
than half of the endpoint's budget remains (spreading what is left over the
minute) and to half of a degraded quota (about 10/min for accounts over it);
status() says the rate, e.g. `logs 8/min`.
Function names come from the functions list (id -> slug), refreshed at most
every 10 minutes, or sooner when an unknown id shows up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from cs_console.backends.supabase.errors import AnalyticsError, RateLimited, SupabaseError
from cs_console.backends.supabase.http_client import MAX_LOG_WINDOW, SupabaseClient
from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.log_cadence import poll_interval, rate_text
from cs_console.backends.supabase.log_details import fetch_attributes
from cs_console.backends.supabase.log_sql import SOURCE_TABLES, TABLE_SOURCE, Conditions, logs_sql
from cs_console.backends.supabase.log_window import clamp_window as _clamp_window
from cs_console.backends.supabase.log_window import MIN_WINDOW, floor_minute
from cs_console.backends.supabase.rate_budget import Priority
from cs_console.backends.supabase.source_state import StatusTracker, state_for
from cs_console.domain.backoff import Backoff
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.log_buffer import Backfill
from cs_console.domain.log_filter import Pushdown
from cs_console.domain.log_record import LogRecord
from cs_console.domain.sources import SourceState, SourceStatus
from cs_console.domain.supabase_log_rows import parse_supabase_row

log = logging.getLogger(__name__)

DEFAULT_HISTORY = timedelta(hours=1)  # Studio's default window
DEFAULT_HISTORY_ROWS = 1000
PAGE_ROWS = 1000
MAX_HISTORY_PAGES = 6  # requests spent on history per records() call, at most
MAX_CATCHUP_PAGES = 3  # extra pages per poll when a burst fills a page
OVERLAP = timedelta(seconds=30)  # logs reach the store late: re-read the last 30 s
SEEN_IDS = 50_000
FUNCTIONS_TTL_S = 600.0


class _Seen:
    """Bounded set of record ids (oldest forgotten first)."""

    def __init__(self, size: int = SEEN_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def fresh(self, records: Sequence[LogRecord]) -> list[LogRecord]:
        out = []
        for r in records:
            key = r.id or f"{r.ts.isoformat()}|{r.source}|{r.message[:200]}"
            if key in self._ids:
                continue
            self._ids[key] = None
            out.append(r)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return out


class _Subscription:
    def __init__(self, tables: tuple[str, ...], cond: Conditions, cursor: datetime) -> None:
        self.tables = tables
        self.cond = cond
        self.cursor = cursor
        self.queue: asyncio.Queue[list[LogRecord]] = asyncio.Queue()


class SupabaseLogHub:
    """Shared by every Supabase log source of one environment (one client, one budget)."""

    def __init__(
        self,
        client: SupabaseClient,
        clock: Clock | None = None,
        *,
        interval_s: float = 5.0,
        page_rows: int = PAGE_ROWS,
        overlap: timedelta = OVERLAP,
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self.interval_s = interval_s
        self.page_rows = page_rows
        self.overlap = overlap
        self.tracker = StatusTracker("logs", self.clock)
        self._subs: list[_Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._union_ok: bool | None = None  # does logs.all accept UNION ALL?
        self._functions: dict[str, str] = {}
        self._functions_at: float | None = None
        self._functions_error: str | None = None
        self.last_complete: datetime | None = None
        self.newest: datetime | None = None
        self.requests = 0

    def source(self, name: str) -> "SupabaseLogSource":
        if name not in SOURCE_TABLES:
            raise ValueError(f"unknown Supabase log source {name!r} (expected one of: {', '.join(SOURCE_TABLES)})")
        return SupabaseLogSource(self, name)

    # ------------------------------------------------------------ function names

    async def function_names(self) -> dict[str, str]:
        """id -> slug; best effort (an error keeps the last list and is shown in status)."""
        loop_now = asyncio.get_running_loop().time()
        if self._functions_at is not None and loop_now - self._functions_at < FUNCTIONS_TTL_S:
            return self._functions
        self._functions_at = loop_now
        try:
            rows = await self.client.functions(priority=Priority.HIGH)
        except SupabaseError as exc:
            self._functions_error = f"function names unavailable ({exc.short})"
            return self._functions
        self._functions = {str(f["id"]): str(f.get("slug") or f.get("name") or f["id"]) for f in rows}
        self._functions_error = None
        return self._functions

    def _names_stale(self, rows: list[dict[str, Any]]) -> bool:
        return any(isinstance(r.get("function_id"), str) and r["function_id"] and r["function_id"] not in self._functions for r in rows)

    async def to_records(self, rows: list[dict[str, Any]]) -> list[LogRecord]:
        if rows and self._names_stale(rows) and self._functions_at is not None:
            # A function deployed since the list was read: refresh, at most once a minute.
            if asyncio.get_running_loop().time() - self._functions_at > 60:
                self._functions_at = None
                await self.function_names()
        return [parse_supabase_row(r, None, self._functions) for r in rows]

    # ------------------------------------------------------------ one query

    async def query(
        self, tables: Sequence[str], cond: Conditions, start: datetime, end: datetime, limit: int,
        before: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Newest `limit` rows of `tables` in [start, end]; detects the dialect once.

        Raises SupabaseError (RateLimited when the budget or Supabase says wait).
        """
        start, end = _clamp_window(start, end)
        dialect = log_endpoint.current(self.client)
        try:
            rows = await self._query_dialect(dialect, tables, cond, start, end, limit, before)
        except SupabaseError as exc:
            other = log_endpoint.switch(self.client, dialect, exc)
            if other is None:
                raise
            log.info("supabase logs: %s", log_endpoint.note(self.client))
            dialect = other
            rows = await self._query_dialect(dialect, tables, cond, start, end, limit, before)
        log_endpoint.confirm(self.client, dialect)
        return rows

    @property
    def dialect(self) -> str:
        return log_endpoint.current(self.client)

    def dialect_text(self) -> str:
        """`clickhouse logs` plus why, when auto switched endpoints."""
        note = log_endpoint.note(self.client)
        return f"{self.dialect} logs" + (f" ({note})" if note else "")

    # ------------------------------------------------------------ attributes, cadence

    async def fetch_details(self, records: Sequence[LogRecord]) -> list[LogRecord]:
        """The records again with their attribute map (log_details.py). Raises SupabaseError."""
        if self.dialect != "clickhouse":
            return list(records)  # logs.all rows carry every field already
        return await fetch_attributes(self, records)

    def budget_key(self) -> str:
        return "logs" if self.dialect == "clickhouse" else "logs.all"

    def poll_interval(self) -> float:
        return poll_interval(self.client.budget, self.budget_key(), self.interval_s)

    def rate_text(self) -> str:
        return rate_text(self.client.budget, self.budget_key(), self.interval_s)

    async def _query_dialect(
        self, dialect: str, tables: Sequence[str], cond: Conditions, start: datetime, end: datetime, limit: int,
        before: datetime | None,
    ) -> list[dict[str, Any]]:
        if dialect == "bigquery" and len(tables) > 1 and self._union_ok is not False:
            sql = logs_sql(dialect, tables, cond, limit, before)
            if sql is None:
                return []
            try:
                rows = await self._send(sql, start, end, dialect)
                self._union_ok = True
                return rows
            except AnalyticsError:
                if self._union_ok:
                    raise
                # The log store may not take UNION ALL: try one table per request.
                rows = await self._per_table(dialect, tables, cond, start, end, limit, before)
                self._union_ok = False
                return rows
        if dialect == "bigquery" and len(tables) > 1:
            return await self._per_table(dialect, tables, cond, start, end, limit, before)
        sql = logs_sql(dialect, tables, cond, limit, before)
        return [] if sql is None else await self._send(sql, start, end, dialect)

    async def _per_table(
        self, dialect: str, tables: Sequence[str], cond: Conditions, start: datetime, end: datetime, limit: int,
        before: datetime | None,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for table in tables:
            sql = logs_sql(dialect, [table], cond, limit, before)
            if sql is not None:
                rows += await self._send(sql, start, end, dialect)
        rows.sort(key=_row_time, reverse=True)
        return rows[:limit]

    async def _send(self, sql: str, start: datetime, end: datetime, dialect: str) -> list[dict[str, Any]]:
        # The endpoint rounds the window to whole minutes: ask for what it will read.
        floored = floor_minute(start)
        start = floored if end - floored <= MAX_LOG_WINDOW else floored + timedelta(minutes=1)
        self.requests += 1
        return await self.client.query_logs(sql, start, end, dialect=dialect, priority=Priority.HIGH)  # type: ignore[arg-type]

    async def newest_rows(
        self, tables: Sequence[str], cond: Conditions, start: datetime, end: datetime, want: int, max_pages: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `want` newest rows of [start, end], paging down; complete = nothing left out."""
        rows: list[dict[str, Any]] = []
        ids: set[str] = set()
        before: datetime | None = None
        for _ in range(max(1, max_pages)):
            # A later page starts with the previous page's oldest row again (`<=`, ties): one extra.
            limit = min(self.page_rows, max(1, want - len(rows)) + (1 if before is not None else 0))
            page = await self.query(tables, cond, start, end, limit, before)
            fresh = [r for r in page if _row_key(r) not in ids]
            ids.update(_row_key(r) for r in fresh)
            rows += fresh
            if len(page) < limit:
                return rows, True
            if len(rows) >= want or not fresh:
                return rows[:want], False
            oldest = min((t for r in page if (t := _row_time(r)) is not None), default=None)
            if oldest is None or oldest <= start:
                return rows, True
            before = oldest
        return rows, False

    # ------------------------------------------------------------ following

    def subscribe(self, tables: tuple[str, ...], cond: Conditions, cursor: datetime) -> _Subscription:
        sub = _Subscription(tables, cond, cursor)
        self._subs.append(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll_loop(), name="supabase-logs-poll")
        return sub

    def unsubscribe(self, sub: _Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        if not self._subs and self._task is not None:
            self._task.cancel()
            self._task = None

    def _poll_plan(self) -> tuple[tuple[str, ...], Conditions, datetime]:
        tables = tuple(t for t in SOURCE_TABLES["all"] if any(t in s.tables for s in self._subs))
        # One subscriber: its server-side filter; several: no filter (each filters locally).
        cond = self._subs[0].cond if len(self._subs) == 1 else Conditions()
        cursor = min(s.cursor for s in self._subs)
        return tables, cond, cursor

    async def _poll_loop(self) -> None:
        # After a failure, twice the poll interval and doubling, up to a minute; a 429 says how long itself.
        backoff = Backoff(initial=2 * self.interval_s, cap=60.0)
        while self._subs:
            interval = self.poll_interval()
            budget_wait = self.client.budget.wait_time(self.budget_key(), Priority.HIGH)
            if budget_wait > interval:
                # The endpoint's budget is spent (other panes) or Supabase said 429: say so, then wait.
                blocked = self.client.budget.state(self.budget_key()).blocked_for_s > 0
                why = "rate limited by Supabase (429)" if blocked else "logs budget used up"
                self.tracker.set(SourceState.DEGRADED, f"{why}: next poll in {budget_wait:.0f}s; {self.rate_text()}")
            await asyncio.sleep(min(max(interval, budget_wait, backoff.current), 300.0))
            if not self._subs:
                return
            try:
                await self.poll_once()
                backoff.reset()
            except RateLimited as exc:
                self.tracker.set(SourceState.DEGRADED, f"{'budget used up' if exc.local else 'rate limited (429)'}: next poll in {exc.reset_s:.0f}s")
                backoff.hint(max(self.interval_s, exc.reset_s))
            except SupabaseError as exc:
                state = state_for(exc)
                if log_endpoint.is_auto(self.client) and log_endpoint.endpoint_gone(exc) and state is SourceState.DOWN:
                    state = SourceState.DEGRADED  # a missing endpoint is not a blind console
                self.tracker.set(state, exc.message)
                backoff.next()
            except ValueError as exc:  # a window the client refused to send
                self.tracker.set(SourceState.DEGRADED, str(exc))
                backoff.next()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the poller die silently
                log.exception("supabase log poll failed")
                self.tracker.set(SourceState.DOWN, f"log poll failed: {type(exc).__name__}")
                backoff.hint(backoff.cap)

    async def poll_once(self) -> int:
        """One poll for every subscriber; returns how many rows came back."""
        if not self._subs:
            return 0
        tables, cond, cursor = self._poll_plan()
        now = self.clock.now()
        start = max(floor_minute(cursor - self.overlap), now - MAX_LOG_WINDOW + MIN_WINDOW)
        rows, complete = await self.newest_rows(tables, cond, start, now, self.page_rows * (1 + MAX_CATCHUP_PAGES), 1 + MAX_CATCHUP_PAGES)
        records = await self.to_records(rows)
        records.sort(key=_ts)
        if complete:
            self.last_complete = now
        if records:
            newest = records[-1].ts
            self.newest = newest if self.newest is None else max(self.newest, newest)
        for sub in list(self._subs):
            mine = [r for r in records if r.raw.get("source") in sub.tables or TABLE_SOURCE.get(str(r.raw.get("source"))) is None]
            sub.cursor = max(sub.cursor, records[-1].ts) if records else sub.cursor
            if complete:
                sub.cursor = max(sub.cursor, now)  # the next window starts `overlap` before this
            if mine:
                sub.queue.put_nowait(mine)
        note = "" if complete else f"burst: more than {len(rows)} rows in one poll, some skipped"
        detail = f"{self.dialect_text()}, {len(rows)} rows in the last poll, {self.rate_text()}" + (f"; {note}" if note else "")
        if self._functions_error:
            detail += f"; {self._functions_error}"
        self.tracker.set(SourceState.UP if complete else SourceState.DEGRADED, detail)
        return len(rows)


class SupabaseLogSource:
    """One named Supabase log source; see the module docstring."""

    def __init__(self, hub: SupabaseLogHub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.tables = SOURCE_TABLES[name]
        self._pushdown: Pushdown | None = None
        self._seen = _Seen()
        self._last_complete: datetime | None = None

    async def fetch_details(self, records: Sequence[LogRecord]) -> list[LogRecord]:
        """Attributes for the records on screen (the visible page, the detail view)."""
        return await self.hub.fetch_details(records)

    def set_pushdown(self, pushdown: Pushdown | None) -> None:
        """Server-side pre-filter from the user's filter (the local filter still applies)."""
        self._pushdown = pushdown

    def status(self) -> SourceStatus:
        return self.hub.tracker.status()

    def lag_seconds(self) -> float | None:
        done = max((t for t in (self._last_complete, self.hub.last_complete) if t is not None), default=None)
        if done is None:
            return None
        return max(0.0, (self.hub.clock.now() - done).total_seconds())

    def newest_age_seconds(self) -> float | None:
        if self.hub.newest is None:
            return None
        return max(0.0, (self.hub.clock.now() - self.hub.newest).total_seconds())

    def _plan(self, names: dict[str, str]) -> tuple[tuple[str, ...], Conditions]:
        p = self._pushdown
        tables = self.tables
        if p is None:
            return tables, Conditions()
        if p.sources is not None:
            tables = tuple(t for t in tables if TABLE_SOURCE[t] in p.sources or t in p.sources)
        function_ids: tuple[str, ...] | None = None
        if p.functions is not None and names:
            function_ids = tuple(fid for fid, slug in names.items() if slug.lower() in p.functions)
        return tables, Conditions(p.min_level, function_ids, p.min_status)

    async def records(
        self,
        since: datetime | None = None,
        follow: bool = False,
        *,
        tail: int | None = None,
        backfill: bool = False,
    ) -> AsyncIterator[list[LogRecord]]:
        hub = self.hub
        names = await hub.function_names()
        tables, cond = self._plan(names)
        now = hub.clock.now()
        p = self._pushdown
        if since is None:
            since = p.since if p is not None and p.since is not None else now - DEFAULT_HISTORY
        elif p is not None and p.since is not None:
            since = max(since, p.since)
        until = min(now, p.until) if p is not None and p.until is not None else now
        want = tail if tail is not None else DEFAULT_HISTORY_ROWS
        cursor = now
        if tables and want > 0 and until > since:
            try:
                async for batch in self._history(tables, cond, since, until, want, backfill, follow):
                    yield batch
            except SupabaseError as exc:
                state = state_for(exc)
                hub.tracker.set(SourceState.DEGRADED if log_endpoint.is_auto(hub.client) and log_endpoint.endpoint_gone(exc) and state is SourceState.DOWN else state, exc.message)
                if not follow:
                    raise
        if not follow or not tables:
            return
        sub = hub.subscribe(tables, cond, cursor - hub.overlap)
        try:
            while True:
                batch = [r for r in self._seen.fresh(await sub.queue.get()) if r.ts >= since]
                if batch:
                    yield batch
        finally:
            hub.unsubscribe(sub)

    async def _history(
        self, tables: tuple[str, ...], cond: Conditions, since: datetime, until: datetime, want: int,
        backfill: bool, follow: bool,
    ) -> AsyncIterator[list[LogRecord]]:
        """Newest first, window by window (<= 24 h each), at most MAX_HISTORY_PAGES requests."""
        hub = self.hub
        collected: list[LogRecord] = []
        pages_left = MAX_HISTORY_PAGES
        end = until
        first = True
        complete_to: datetime | None = None
        while end > since and len(collected) < want and pages_left > 0:
            start = max(since, end - MAX_LOG_WINDOW)
            sent_before = hub.requests
            for attempt in range(3):
                try:
                    rows, complete = await hub.newest_rows(tables, cond, start, end, want - len(collected), min(pages_left, 3))
                    break
                except RateLimited as exc:
                    # History is one-off: wait for the budget rather than fail (at most a minute).
                    hub.tracker.set(SourceState.DEGRADED, f"waiting {exc.reset_s:.0f}s for the logs budget")
                    if attempt == 2 or exc.reset_s > 60:
                        raise
                    await asyncio.sleep(max(exc.reset_s, 0.5))
            pages_left -= max(1, hub.requests - sent_before)
            records = self._seen.fresh(await hub.to_records(rows))
            records.sort(key=_ts)
            collected += records
            if complete_to is None and complete:
                complete_to = until
            if backfill and records:
                yield records if first else Backfill(records)
                first = False
            if not complete:
                break
            end = start
        if complete_to is not None:
            self._last_complete = complete_to
        hub.tracker.set(SourceState.UP, f"{hub.dialect_text()}: {len(collected)} records since {since:%H:%M}Z, {hub.rate_text()}")
        if not backfill and collected:
            collected.sort(key=_ts)
            yield collected[-want:]


def _ts(r: LogRecord) -> datetime:
    return r.ts


def _row_key(row: dict[str, Any]) -> str:
    return str(row.get("id") or (row.get("timestamp"), row.get("event_message")))


def _row_time(row: dict[str, Any]) -> datetime | None:
    from cs_console.domain.log_fields import parse_timestamp

    return parse_timestamp(row.get("timestamp"))


__all__ = ["SupabaseLogHub", "SupabaseLogSource"]
