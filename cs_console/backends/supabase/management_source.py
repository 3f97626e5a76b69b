"""MetricsSource over the Management API: functions, API traffic, backups, disk.

Each part polls at its own cadence (functions and edge aggregates every
minute, usage every 5 min, backups every 10 min), however often the UI asks,
so the console stays far inside Supabase's limits: about N+3 general requests
and 1.2 logs-class requests per minute for N functions. Background parts
spend at LOW priority, leaving the logs reserve to the Logs pane.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.edge_aggregates import EdgeTotals, Variant, parse_totals, variants_for
from cs_console.backends.supabase.errors import (
    AnalyticsError,
    ClientError,
    Forbidden,
    NotConfigured,
    RateLimited,
    SupabaseError,
    Timeout,
    Unauthorized,
)
from cs_console.backends.supabase.function_stats import (
    STATS_WINDOW,
    Totals,
    aggregate_samples,
    function_stats,
    parse_bucket_time,
    window_totals,
)
from cs_console.backends.supabase.http_client import SupabaseClient
from cs_console.backends.supabase.rate_budget import Priority
from cs_console.backends.supabase.source_state import StatusTracker, state_for
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.metrics import FunctionStats, MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus

EDGE_WINDOW = timedelta(minutes=5)
RETRY_AFTER_FAILURE_S = 15.0
# A part (functions list + its stats calls) must finish inside the monitor's 8 s.
PART_DEADLINE_S = 7.0
MAX_PARALLEL_STATS = 4

FN_KEYS = ("fn.invocations_per_min", "fn.error_rate_pct", "fn.avg_duration_ms")
API_KEYS = (
    "api.requests_per_min", "api.p95_ms", "api.error_rate_pct", "api.status_4xx_per_min", "api.status_5xx_per_min",
    "auth.signins_per_min", "auth.failures_per_min",
)


@dataclass(frozen=True)
class Cadence:
    functions_s: float = 60.0
    edge_s: float = 60.0
    usage_s: float = 300.0
    backups_s: float = 600.0
    disk_s: float = 120.0


@dataclass
class _Part:
    name: str
    interval_s: float
    keys: tuple[str, ...]
    run: Callable[[], Awaitable[dict[str, MetricSample]]]
    next_due: float = 0.0
    samples: dict[str, MetricSample] = field(default_factory=dict)
    error: SupabaseError | None = None
    lock: asyncio.Lock | None = None  # one poll of a part at a time (collect vs health probe)


class ManagementMetricsSource:
    name = "api"

    def __init__(
        self,
        client: SupabaseClient,
        *,
        clock: Clock | None = None,
        cadence: Cadence | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        part_deadline_s: float = PART_DEADLINE_S,
        max_parallel_stats: int = MAX_PARALLEL_STATS,
    ) -> None:
        self.client = client
        self.part_deadline_s = part_deadline_s
        self.max_parallel_stats = max_parallel_stats
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        c = cadence or Cadence()
        self._tracker = StatusTracker(self.name, self._clock)
        self._parts = [
            _Part("functions", c.functions_s, FN_KEYS, self._poll_functions),
            _Part("edge logs", c.edge_s, API_KEYS, self._poll_edge),
            _Part("usage", c.usage_s, ("api.requests_per_min",), self._poll_usage),
            _Part("backups", c.backups_s, ("backup.age_h",), self._poll_backups),
            _Part("disk", c.disk_s, ("host.disk_pct",), self._poll_disk),
        ]
        # Shared with the health probe (and anyone who needs slug <-> id).
        self.functions_meta: list[dict[str, Any]] = []
        self.functions_polled_at: float | None = None  # monotonic
        self.functions_error: SupabaseError | None = None
        self._fn_stats: dict[str, FunctionStats] = {}
        self._edge_variant: Variant | None = None
        self._p95_note = ""

    # ------------------------------------------------------------ protocol

    def status(self) -> SourceStatus:
        return self._tracker.status()

    async def close(self) -> None:
        await self.client.aclose()

    async def collect(self) -> MetricsSnapshot:
        now = self._monotonic()
        due = [p for p in self._parts if now >= p.next_due]
        if due:
            await asyncio.gather(*(self._run(p, now) for p in due))
            self._update_status()
        samples: dict[str, MetricSample] = {}
        for part in self._parts:  # earlier parts win; later ones fill gaps
            for key, sample in part.samples.items():
                if key not in samples or samples[key].value is None:
                    samples[key] = sample
        return MetricsSnapshot(self.name, self._clock.now(), samples, tuple(self._fn_stats[s] for s in sorted(self._fn_stats)))

    async def _run(self, part: _Part, now: float) -> None:
        if part.lock is None:
            part.lock = asyncio.Lock()
        async with part.lock:
            if part.next_due > now and self._monotonic() < part.next_due:
                return  # someone else polled it while we waited
            await self._poll(part, now)

    async def _poll(self, part: _Part, now: float) -> None:
        try:
            try:
                async with asyncio.timeout(self.part_deadline_s):
                    samples = await part.run()
            except TimeoutError:
                raise Timeout(f"{part.name}: not done within {self.part_deadline_s:g}s") from None
            part.samples = samples
            part.error = None
            part.next_due = now + part.interval_s
        except RateLimited as exc:
            # Keep the last figures: not polling is not the same as not knowing.
            part.error = exc
            part.next_due = now + min(part.interval_s, max(exc.reset_s, 1.0))
        except SupabaseError as exc:
            part.error = exc
            part.samples = {k: MetricSample(k, None, f"{part.name}: {exc.short}") for k in part.keys}
            part.next_due = now + min(part.interval_s, RETRY_AFTER_FAILURE_S)

    def _update_status(self) -> None:
        failed = [p for p in self._parts if p.error is not None]
        if not failed:
            note = log_endpoint.note(self.client)
            self._tracker.set(SourceState.UP, "Management API answering" + (f"; {note}" if note else ""))
            return
        first = failed[0].error
        assert first is not None
        blind = next((p.error for p in failed if isinstance(p.error, (Unauthorized, Forbidden, NotConfigured))), None)
        if blind is not None:
            self._tracker.set(SourceState.DOWN, str(blind))
        elif len(failed) == len(self._parts) and all(state_for(p.error) is SourceState.DOWN for p in failed if p.error):
            self._tracker.set(SourceState.DOWN, str(first))
        else:
            more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
            self._tracker.set(SourceState.DEGRADED, f"{first}{more}")

    # ------------------------------------------------------------ parts

    async def _poll_functions(self) -> dict[str, MetricSample]:
        try:
            listed = await self.client.functions(priority=Priority.LOW)
        except SupabaseError as exc:
            self.functions_error = exc
            raise
        self.functions_meta, self.functions_polled_at, self.functions_error = listed, self._monotonic(), None
        live = [f for f in listed if f.get("status") != "REMOVED"]
        gate = asyncio.Semaphore(self.max_parallel_stats)
        now = self._clock.now()

        async def one(meta: dict[str, Any]) -> Totals | SupabaseError:
            async with gate:
                try:
                    rows = await self.client.function_stats(str(meta["id"]), "1hr", priority=Priority.LOW)
                except SupabaseError as exc:
                    return exc
            return window_totals(rows, now, STATS_WINDOW)

        results = await asyncio.gather(*(one(m) for m in live))
        totals: list[Totals] = []
        errors: list[SupabaseError] = []
        fresh: dict[str, FunctionStats] = {}
        for meta, result in zip(live, results):
            slug = str(meta.get("slug") or meta["id"])
            if isinstance(result, SupabaseError):
                errors.append(result)
                if slug in self._fn_stats:  # keep the last figures, with the new status
                    old = self._fn_stats[slug]
                    fresh[slug] = FunctionStats(slug, str(meta.get("status", old.status)), old.invocations_per_min, old.error_rate_pct, old.avg_duration_ms, old.p95_duration_ms, old.version)
                continue
            totals.append(result)
            fresh[slug] = function_stats(meta, result, STATS_WINDOW)
        self._fn_stats = fresh
        if live and not totals:
            raise errors[0]
        note = f"stats missing for {len(errors)} of {len(live)} functions ({errors[0].short})" if errors else ""
        return aggregate_samples(totals, STATS_WINDOW, note)

    async def _poll_edge(self) -> dict[str, MetricSample]:
        end = self._clock.now()
        start = end - EDGE_WINDOW
        dialect = log_endpoint.current(self.client)
        if self._edge_variant is not None and self._edge_variant.dialect != dialect:
            self._edge_variant = None  # the log hub switched endpoints: find the variant again
        candidates = [self._edge_variant] if self._edge_variant else variants_for(dialect)
        last: SupabaseError | None = None
        for variant in candidates:
            try:
                rows = await self.client.query_logs(variant.sql, start, end, dialect=variant.dialect, priority=Priority.LOW)  # type: ignore[arg-type]
            except SupabaseError as exc:
                if log_endpoint.switch(self.client, variant.dialect, exc) is not None:
                    self._edge_variant = None
                    return await self._poll_edge()  # once: switch() refuses a second time
                if self._edge_variant is not None or not isinstance(exc, (AnalyticsError, ClientError)):
                    raise
                last = exc
                continue
            log_endpoint.confirm(self.client, variant.dialect)
            totals = parse_totals(rows, variant.with_p95)
            if self._edge_variant is None:
                self._edge_variant = variant
                if not variant.with_p95:
                    self._p95_note = f"the log store rejected the p95 query ({last.short if last else 'error'})"
            return self._edge_samples(totals, variant.with_p95)
        assert last is not None
        raise last

    def _edge_samples(self, totals: EdgeTotals, with_p95: bool) -> dict[str, MetricSample]:
        requests, e5, e4, p95 = totals.requests, totals.errors_5xx, totals.errors_4xx, totals.p95_ms
        minutes = EDGE_WINDOW.total_seconds() / 60.0
        span = f"edge logs, last {minutes:g} min"
        quiet = f"no requests in the last {minutes:g} min"
        p95_note = self._p95_note if not with_p95 else (span if requests else quiet)
        return {
            "api.requests_per_min": MetricSample("api.requests_per_min", round(requests / minutes, 2), span),
            "api.status_5xx_per_min": MetricSample("api.status_5xx_per_min", round(e5 / minutes, 2), span),
            "api.status_4xx_per_min": MetricSample("api.status_4xx_per_min", round(e4 / minutes, 2), span),
            "api.error_rate_pct": MetricSample("api.error_rate_pct", round(100.0 * e5 / requests, 3) if requests else 0.0, span if requests else quiet),
            "api.p95_ms": MetricSample("api.p95_ms", None if p95 is None else round(p95, 1), p95_note),
            **{
                key: MetricSample(key, None, "not in the aggregate answer") if value is None
                else MetricSample(key, round(value / minutes, 2), "password grants on /auth/v1/token, last 5 min")
                for key, value in (("auth.signins_per_min", totals.auth_signins), ("auth.failures_per_min", totals.auth_failures))
            },
        }

    async def _poll_usage(self) -> dict[str, MetricSample]:
        rows = await self.client.api_counts("1hr", priority=Priority.LOW)
        key = "api.requests_per_min"
        stamped = sorted(((t, r) for r in rows if (t := parse_bucket_time(r.get("timestamp"))) is not None), key=lambda x: x[0])
        if len(stamped) < 2:
            return {key: MetricSample(key, None, "usage.api-counts: too few buckets to tell a rate")}
        step = min((b[0] - a[0]) for a, b in zip(stamped, stamped[1:]))
        if step.total_seconds() <= 0:
            return {key: MetricSample(key, None, "usage.api-counts: duplicate buckets")}
        now = self._clock.now()
        complete = [(t, r) for t, r in stamped if t + step <= now] or stamped[:-1]
        at, row = complete[-1]
        parts = {name: float(row.get(f"total_{name}_requests") or 0) for name in ("rest", "auth", "storage", "realtime")}
        minutes = step.total_seconds() / 60.0
        detail = " · ".join(f"{n} {v:g}" for n, v in parts.items())
        return {key: MetricSample(key, round(sum(parts.values()) / minutes, 2), f"usage.api-counts {at:%H:%M} UTC bucket: {detail}")}

    async def _poll_backups(self) -> dict[str, MetricSample]:
        body = await self.client.backups()
        backups = [b for b in body["backups"] if isinstance(b, dict)]
        dated = sorted(((t, b) for b in backups if (t := parse_bucket_time(b.get("inserted_at"))) is not None), key=lambda x: x[0])
        completed = [t for t, b in dated if b.get("status") == "COMPLETED"]
        latest = max(completed) if completed else None
        physical = body.get("physical_backup_data") or {}
        pitr_at = parse_bucket_time(physical.get("latest_physical_backup_date_unix")) if body.get("pitr_enabled") else None
        if pitr_at is not None and (latest is None or pitr_at > latest):
            latest = pitr_at
        if latest is None:
            return {"backup.age_h": MetricSample("backup.age_h", None, "no completed backup listed")}
        age_h = max(0.0, (self._clock.now() - latest).total_seconds() / 3600.0)
        note = f"last good {latest:%Y-%m-%d %H:%M} UTC"
        if dated and dated[-1][1].get("status") not in ("COMPLETED", None):
            note += f"; newest backup {dated[-1][1]['status']}"
        return {"backup.age_h": MetricSample("backup.age_h", round(age_h, 2), note)}

    async def _poll_disk(self) -> dict[str, MetricSample]:
        body = await self.client.disk_util()
        metrics = body["metrics"]
        try:
            size, used = float(metrics["fs_size_bytes"]), float(metrics["fs_used_bytes"])
        except (KeyError, TypeError, ValueError):
            return {"host.disk_pct": MetricSample("host.disk_pct", None, "disk util: answer lacks fs_size_bytes/fs_used_bytes")}
        if size <= 0:
            return {"host.disk_pct": MetricSample("host.disk_pct", None, "disk util: size 0")}
        return {"host.disk_pct": MetricSample("host.disk_pct", round(100.0 * used / size, 2), "database disk (Management API)")}

    # ------------------------------------------------------------ sharing

    async def refresh_functions(self) -> None:
        """Poll the functions part now unless it is fresh: lets a one-shot health
        check report the 5xx rate without waiting for a metrics refresh."""
        part = self._parts[0]
        now = self._monotonic()
        if now < part.next_due:
            return
        await self._run(part, now)
        self._update_status()

    @property
    def functions_stats_error(self) -> SupabaseError | None:
        return self._parts[0].error

    def functions_age_s(self) -> float | None:
        """Seconds since the functions list was last fetched, if ever."""
        return None if self.functions_polled_at is None else self._monotonic() - self.functions_polled_at

    def function_stats(self) -> tuple[FunctionStats, ...]:
        return tuple(self._fn_stats[s] for s in sorted(self._fn_stats))
