"""HealthProbe over the Management API: services, project status, Edge Functions.

`/health` covers auth, rest, storage, realtime and db; there is no service for
Edge Functions, so that component combines the functions list (THROTTLED,
REMOVED) with the 5xx share the metrics source measured. A Management API
failure makes the components UNKNOWN (we could not look), never DOWN: the
platform may be fine while our token or network is not.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cs_console.backends.supabase.errors import SupabaseError
from cs_console.backends.supabase.http_client import SupabaseClient
from cs_console.backends.supabase.management_source import ManagementMetricsSource
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.health import ComponentHealth, HealthStatus

# /health service name -> console component.
SERVICE_COMPONENTS: dict[str, str] = {"auth": "Auth", "rest": "REST", "storage": "Storage", "realtime": "Realtime", "db": "Database"}
SERVICE_STATUS: dict[str, HealthStatus] = {
    "ACTIVE_HEALTHY": HealthStatus.HEALTHY,
    "COMING_UP": HealthStatus.DEGRADED,
    "UNHEALTHY": HealthStatus.DOWN,
}
PROJECT_STATUS: dict[str, HealthStatus] = {
    "ACTIVE_HEALTHY": HealthStatus.HEALTHY,
    **{s: HealthStatus.DEGRADED for s in ("ACTIVE_UNHEALTHY", "COMING_UP", "GOING_DOWN", "PAUSING", "RESIZING", "RESTARTING", "RESTORING", "UPGRADING")},
    **{s: HealthStatus.DOWN for s in ("INACTIVE", "INIT_FAILED", "PAUSE_FAILED", "REMOVED", "RESTORE_FAILED")},
}
FUNCTIONS_LIST_MAX_AGE_S = 120.0


class SupabaseHealthProbe:
    name = "supabase"

    def __init__(
        self,
        client: SupabaseClient,
        *,
        clock: Clock | None = None,
        stats_source: ManagementMetricsSource | None = None,
        report_database: bool = False,
        service_timeout_ms: int = 2000,
        fn_error_degraded_pct: float = 1.0,
        fn_error_down_pct: float = 50.0,
    ) -> None:
        """report_database: also emit a "Database" component from /health's `db`
        (when no PostgreSQL probe measures the database directly)."""
        self.client = client
        self._clock = clock or SystemClock()
        self.stats_source = stats_source
        self.report_database = report_database
        self.service_timeout_ms = service_timeout_ms
        self.fn_error_degraded_pct = fn_error_degraded_pct
        self.fn_error_down_pct = fn_error_down_pct
        self.last_project: dict[str, Any] | None = None  # for a status banner

    async def check(self) -> list[ComponentHealth]:
        services = ["auth", "rest", "storage", "realtime", "db"]
        health, project, functions = await asyncio.gather(
            self._timed(self.client.health(services, timeout_ms=self.service_timeout_ms)),
            self._timed(self.client.project()),
            self._functions(),
        )
        at = self._clock.now()
        out = [self._project_component(project, at)]
        out += self._service_components(health, at)
        out.append(self._functions_component(functions, at))
        return out

    async def _timed(self, call: Any) -> tuple[Any, float | None, SupabaseError | None]:
        started = time.monotonic()
        try:
            result = await call
        except SupabaseError as exc:
            return None, None, exc
        return result, round((time.monotonic() - started) * 1000.0, 1), None

    async def _functions(self) -> tuple[Any, float | None, SupabaseError | None]:
        src = self.stats_source
        if src is None:
            return await self._timed(self.client.functions())
        # The metrics source polls the list and the per-function stats; asking it
        # (a no-op while fresh) gives the 5xx rate without a second set of calls.
        await src.refresh_functions()
        age = src.functions_age_s()
        if age is not None and age < FUNCTIONS_LIST_MAX_AGE_S and src.functions_error is None:
            return src.functions_meta, self.client.latency_ms("functions"), None
        if src.functions_error is not None:
            return None, None, src.functions_error
        return await self._timed(self.client.functions())

    # ------------------------------------------------------------ mapping

    def _project_component(self, result: tuple[Any, float | None, SupabaseError | None], at: Any) -> ComponentHealth:
        project, latency, error = result
        if error is not None:
            return ComponentHealth("Project", HealthStatus.UNKNOWN, f"cannot read project status: {error}", None, at)
        self.last_project = project
        raw = str(project.get("status", "UNKNOWN"))
        status = PROJECT_STATUS.get(raw, HealthStatus.UNKNOWN)
        where = " ".join(x for x in (str(project.get("name") or ""), f"({project['region']})" if project.get("region") else "") if x)
        version = (project.get("database") or {}).get("version") if isinstance(project.get("database"), dict) else None
        detail = " · ".join(x for x in (raw, where, f"Postgres {version}" if version else "") if x)
        return ComponentHealth("Project", status, detail, latency, at)

    def _service_components(self, result: tuple[Any, float | None, SupabaseError | None], at: Any) -> list[ComponentHealth]:
        rows, latency, error = result
        wanted = {k: v for k, v in SERVICE_COMPONENTS.items() if k != "db" or self.report_database}
        if error is not None:
            return [ComponentHealth(name, HealthStatus.UNKNOWN, f"health check failed: {error}", None, at) for name in wanted.values()]
        by_name = {str(r.get("name")): r for r in rows}
        out: list[ComponentHealth] = []
        for service, component in wanted.items():
            row = by_name.get(service)
            if row is None:
                out.append(ComponentHealth(component, HealthStatus.UNKNOWN, "not reported by /health", latency, at))
                continue
            raw = str(row.get("status", ""))
            status = SERVICE_STATUS.get(raw, HealthStatus.UNKNOWN)
            detail = raw or "no status"
            if row.get("error"):
                detail += f": {' '.join(str(row['error']).split())[:160]}"
            info = row.get("info")
            if isinstance(info, dict) and info.get("version") and status is HealthStatus.HEALTHY:
                detail += f" · {info.get('name', '')} {info['version']}".rstrip()
            out.append(ComponentHealth(component, status, detail, latency, at))
        return out

    def _functions_component(self, result: tuple[Any, float | None, SupabaseError | None], at: Any) -> ComponentHealth:
        listed, latency, error = result
        name = "Edge Functions"
        if error is not None:
            return ComponentHealth(name, HealthStatus.UNKNOWN, f"cannot list functions: {error}", None, at)
        live = [f for f in listed if f.get("status") != "REMOVED"]
        if not live:
            return ComponentHealth(name, HealthStatus.UNKNOWN, "no functions deployed", latency, at)
        throttled = sorted(str(f.get("slug")) for f in live if f.get("status") == "THROTTLED")
        status = HealthStatus.HEALTHY
        parts = [f"{len(live)} functions"]
        if throttled:
            status = HealthStatus.DEGRADED
            parts.append(f"THROTTLED: {', '.join(throttled)}")
        stats = self.stats_source.function_stats() if self.stats_source is not None else ()
        if stats and not any(s.invocations_per_min > 0 for s in stats):
            parts.append("no invocations in the last 15 min")
        elif stats:
            reqs = sum(s.invocations_per_min for s in stats)
            errs = sum(s.invocations_per_min * s.error_rate_pct / 100.0 for s in stats)
            rate = 100.0 * errs / reqs if reqs else 0.0
            parts.append(f"5xx {rate:.2f}% over 15 min")
            if rate >= self.fn_error_down_pct:
                status = HealthStatus.DOWN
            elif rate >= self.fn_error_degraded_pct and status is HealthStatus.HEALTHY:
                status = HealthStatus.DEGRADED
            failing = [s.slug for s in stats if s.error_rate_pct >= self.fn_error_degraded_pct and s.invocations_per_min > 0]
            if failing:
                parts.append(f"erroring: {', '.join(failing)}")
        else:
            why = self.stats_source.functions_stats_error if self.stats_source is not None else None
            parts.append(f"5xx rate unavailable ({why.short})" if why is not None else "5xx rate not measured")
        return ComponentHealth(name, status, " · ".join(parts), latency, at)
