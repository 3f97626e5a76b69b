"""The health facet of the demo project: the manual's morning check on the simulated project.

Components are exactly domain.health.COMPONENTS; each gets HEALTHY /
DEGRADED / DOWN, a one-line detail and the probe's simulated round trip.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model.auth import AuthFacet
from cs_console.backends.demo.model.catalog import FUNCTIONS
from cs_console.backends.demo.model.noise import wobble
from cs_console.backends.demo.model.performance import latency_factor
from cs_console.backends.demo.model.platform import PlatformFacet
from cs_console.domain.health import COMPONENTS, ComponentHealth, HealthStatus

AUTH_FAILURES_DEGRADED_PER_MIN = 60.0


class HealthFacet(PlatformFacet, AuthFacet):
    """What a health probe reads from the project (backends/demo/health_probe.py, the runbooks)."""

    def health(self) -> list[ComponentHealth]:
        """Health of every component of domain.health.COMPONENTS, at the clock's time."""
        with self._lock:
            return _assess(self)


def _assess(project: HealthFacet) -> list[ComponentHealth]:
    t = project.sync()
    s = int(t)
    sig = project.signals_at(s)
    db = sig.db
    seed = project.seed
    at = datetime.fromtimestamp(t, tz=timezone.utc)
    lf = latency_factor(sig.load.util) ** 0.5
    H, D, X = HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.DOWN
    out: dict[str, ComponentHealth] = {}

    def put(name: str, status: HealthStatus, detail: str, latency: float | None) -> None:
        out[name] = ComponentHealth(name, status, detail, None if latency is None else round(latency, 1), at)

    # Database
    used = db.used  # the same count list_backends() gives
    pct = 100.0 * used / db.usable if db.usable else 0.0
    if db.restarting:
        put("Database", X, "restarting for a compute resize: the database system is starting up", None)
    elif db.at_capacity:
        reserved = f" (+{used - db.usable} superuser in reserved slots)" if used > db.usable else ""
        put("Database", X, f"new connections refused: all {db.usable} slots in use{reserved}{_itx(db.leaked)} — FATAL: "
            "remaining connection slots are reserved for non-replication superuser connections", sig.db_response_ms)
    elif pct >= 80.0 or sig.db_response_ms >= 100.0 or db.blocked:
        reasons = []
        if pct >= 80.0:
            reasons.append(f"{used}/{db.usable} connections ({pct:.0f}% of the limit)")
        if sig.db_response_ms >= 100.0:
            reasons.append(f"select 1 took {sig.db_response_ms:.0f} ms")
        if db.blocked:
            reasons.append(f"{db.blocked} session{'s' if db.blocked > 1 else ''} waiting on locks")
        put("Database", D, "; ".join(reasons) + _itx(db.leaked), sig.db_response_ms)
    else:
        put("Database", H, f"select 1 in {sig.db_response_ms:.0f} ms · {used}/{db.usable} connections ({pct:.0f}%)",
            sig.db_response_ms)

    # Auth
    auth_ms = 38.0 * (1.0 + 0.2 * wobble(seed, "h/auth", t)) * lf
    ips = len(project.auth_failure_ips_now())
    if db.restarting:
        put("Auth", X, "GoTrue cannot reach the database", None)
    elif sig.auth_failures_rpm >= AUTH_FAILURES_DEGRADED_PER_MIN:
        put("Auth", D, f"{sig.auth_failures_rpm:.0f} failed sign-ins/min from {ips} addresses", auth_ms)
    elif db.at_capacity:
        put("Auth", D, "token requests slow: database connections exhausted", auth_ms + 400.0)
    else:
        put("Auth", H, f"GoTrue v2.170.0 · {sig.auth_signins_rpm:.0f} sign-ins/min", auth_ms)

    # REST
    rest_ms = 55.0 * (1.0 + 0.2 * wobble(seed, "h/rest", t)) * latency_factor(sig.load.util) + (600.0 if db.at_capacity else 0.0)
    share_5xx = 100.0 * sig.api_5xx_rpm / sig.api_rpm if sig.api_rpm else 0.0
    # Figures of this health check's moment: the Metrics' "API p95" is refreshed more often,
    # so the check says when its p95 was read (a ramp otherwise shows two p95s that disagree).
    detail = f"p95 {sig.api_p95_ms:.0f} ms at {at:%H:%M:%S} · {share_5xx:.2f}% 5xx · {sig.api_rpm:.0f} req/min"
    if db.restarting:
        put("REST", X, "PostgREST: 503 Database client error (PGRST000)", None)
    elif sig.api_p95_ms >= 500.0 or share_5xx >= 0.5:
        put("REST", D, detail, rest_ms)
    else:
        put("REST", H, detail, rest_ms)

    # Storage
    storage_ms = 82.0 * (1.0 + 0.2 * wobble(seed, "h/storage", t))
    usage = project.storage_usage()
    if db.restarting:
        put("Storage", X, "storage API cannot reach the database", None)
    elif usage.used_pct >= 95.0:
        put("Storage", D, f"quota {usage.used_pct:.0f}% used", storage_ms)
    else:
        put("Storage", H, f"{usage.total_bytes / 1024**3:.1f} GB of {usage.quota_bytes / 1024**3:.0f} GB", storage_ms)

    # Edge Functions
    fns = [sig.fns[spec.slug] for spec in FUNCTIONS]
    total = sum(f.rpm for f in fns)
    err = sum(f.rpm * f.error_pct for f in fns) / total if total else 0.0
    worst = max(fns, key=lambda f: f.error_pct)
    throttled = [f.slug for f in fns if f.status == "THROTTLED"]
    fn_ms = 120.0 * (1.0 + 0.2 * wobble(seed, "h/fn", t)) * lf
    active = sum(1 for f in fns if f.status == "ACTIVE")
    if err >= 50.0:
        put("Edge Functions", X, f"{err:.0f}% of invocations failing; worst {worst.slug} {worst.error_pct:.0f}%", fn_ms)
    elif worst.error_pct >= 5.0 or err >= 1.0:
        put("Edge Functions", D, f"{worst.slug}: {worst.error_pct:.1f}% errors, avg {worst.avg_ms / 1000:.1f} s", fn_ms)
    elif throttled:
        put("Edge Functions", D, f"THROTTLED: {', '.join(throttled)}", fn_ms)
    else:
        put("Edge Functions", H, f"{active}/{len(fns)} ACTIVE · {err:.2f}% errors · {total:.0f} invocations/min", fn_ms)

    # Realtime
    rt_ms = 44.0 * (1.0 + 0.2 * wobble(seed, "h/rt", t))
    if db.restarting:
        put("Realtime", X, "db_connected: false", None)
    elif db.at_capacity:
        put("Realtime", D, "replication connected; new channel joins fail (no connection slots)", rt_ms)
    else:
        put("Realtime", H, "db_connected · replication_connected", rt_ms)
    return [out[name] for name in COMPONENTS]


def _itx(leaked: int) -> str:
    return f"; {leaked} idle in transaction" if leaked else ""
