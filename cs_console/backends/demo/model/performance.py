"""How the project copes with one simulated second's demand: latencies, error rates, function and host figures.

`compute_signals` adds the database state of that second (from the connection
engine) to the load (demand.py). Cheap (tens of microseconds) and cached by the
project per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import (
    FAILING_FUNCTION,
    FUNCTION_BY_SLUG,
    FUNCTION_CONCURRENCY_RPM,
    FUNCTIONS,
    SPIKY_FUNCTION,
    STATEMENT_TIMEOUT_S,
)
from cs_console.backends.demo.model.connections import DbSecond
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.demand import Load
from cs_console.backends.demo.model.noise import jiggle, smooth, unit, wobble

@dataclass(slots=True)
class FnSecond:
    slug: str
    rpm: float
    error_pct: float
    avg_ms: float
    p95_ms: float
    status: str
    version: int
    timeout_share: float  # of errors, those that are timeouts (long)
    db_error_share: float  # of errors, those caused by the database


@dataclass(slots=True)
class Signals:
    s: int
    load: Load
    db: DbSecond
    api_rpm: float
    api_p95_ms: float
    api_5xx_rpm: float
    api_4xx_rpm: float
    api_429_rpm: float
    auth_signins_rpm: float
    auth_failures_rpm: float
    fns: dict[str, FnSecond]
    db_response_ms: float
    db_query_avg_ms: float
    db_commits_per_s: float
    db_rollbacks_per_s: float
    db_errors_per_s: float
    db_cache_hit_pct: float
    db_replication_lag_s: float
    cpu_pct: float
    memory_pct: float


def latency_factor(util: float) -> float:
    """How much slower requests get as the origin fills up."""
    f = 1.0 + 6.0 * max(0.0, util - 0.55) ** 2
    if util > 1.0:
        f += 4.0 * (util - 1.0)
    return f


def _function_second(ctx: Context, s: int, load: Load, db: DbSecond, slug: str) -> FnSecond:
    seed, tl = ctx.seed, ctx.timeline
    spec = FUNCTION_BY_SLUG[slug]
    tau = ctx.tau(s)
    rpm = load.fn_rpm[slug]
    err = spec.error_pct * (1.0 + 0.5 * jiggle(seed, "fnerr/" + slug, s))
    avg = spec.avg_ms * (1.0 + 0.12 * jiggle(seed, "fndur/" + slug, s))
    p95 = spec.p95_ms * (avg / spec.avg_ms) * (1.0 + 0.1 * smooth(seed, "fnp95/" + slug, s, 30.0))
    timeout_share = 0.1
    db_share = 0.2
    version = spec.version + tl.count("redeploy_function", s, target=slug)
    status = "ACTIVE"

    if ctx.scenario == "function-failures" and slug == FAILING_FUNCTION and tau is not None:
        version += 1  # the bad deploy at onset
        severity = sc.failure_severity(tau)
        fix = tl.last("redeploy_function", s, target=slug)
        if fix is not None and ctx.onset is not None and fix.at >= ctx.onset:
            severity *= 1.0 - sc.ramp(s - fix.at, 0.0, sc.FIX_RECOVERY_S)
        err += sc.FAILURE_PEAK_ERROR_PCT * severity
        avg *= 1.0 + 6.0 * severity
        p95 *= 1.0 + 10.0 * severity
        timeout_share = 0.1 + 0.35 * severity

    if db.at_capacity or db.restarting:
        extra = {"process-conversations": 30.0, "sync-integrations": 45.0, "send-alerts": 12.0}.get(slug, 9.0)
        err += extra if not db.restarting else 80.0
        avg += 2500.0
        p95 += 5000.0
        db_share = 0.9
    if db.blocked and slug == "process-conversations":
        # queue updates wait on the leaked row locks until statement_timeout
        err += 2.0 * db.blocked
        avg += 900.0 * db.blocked
        p95 = max(p95, 8000.0)
        db_share = max(db_share, 0.7)

    if load.util > 0.8:
        slow = latency_factor(load.util) ** 0.5
        avg *= slow
        p95 *= slow
    if slug == SPIKY_FUNCTION and rpm > FUNCTION_CONCURRENCY_RPM:
        status = "THROTTLED"
        err += 100.0 * (rpm - FUNCTION_CONCURRENCY_RPM) / rpm * 0.6
    return FnSecond(slug, rpm, min(err, 99.0), avg, max(p95, avg * 1.3), status, version, timeout_share, db_share)


def compute_signals(ctx: Context, s: int, load: Load, db: DbSecond) -> Signals:
    seed = ctx.seed
    fns = {fn.slug: _function_second(ctx, s, load, db, fn.slug) for fn in FUNCTIONS}

    api_rpm = (
        load.rest_rpm
        + load.spike_offered_rpm
        + load.storage_rpm
        + load.realtime_rpm
        + load.auth_rpm
        + load.bulk_reads_rpm
        + load.service_key_rpm
    )
    lf = latency_factor(load.util)
    p95 = 160.0 * (1.0 + 0.12 * wobble(seed, "p95", s)) * lf + 35.0 * db.blocked
    share_5xx = 0.0003 * (1.0 + jiggle(seed, "5xx", s))
    if load.util > 1.1:
        share_5xx += min(0.03, 0.1 * (load.util - 1.1) ** 2)  # PGRST003 pool timeouts, 504s
    tau = ctx.tau(s)
    if ctx.scenario == "platform-incident" and tau is not None:
        impact = sc.platform_impact(tau)  # the platform's gateway, not our database
        p95 += sc.PLATFORM_P95_EXTRA_MS * impact
        share_5xx += sc.PLATFORM_5XX_SHARE * impact
    if db.at_capacity:
        p95 += 900.0  # PostgREST waits for a pool connection that cannot be opened
        share_5xx += 0.03
    if db.restarting:
        share_5xx = 0.9
        p95 = 2500.0
    rest_like = load.rest_rpm + load.spike_admitted_rpm + load.storage_rpm + load.bulk_reads_rpm + load.service_key_rpm
    api_5xx = rest_like * share_5xx
    api_429 = load.spike_limited_rpm + (0.4 * load.auth_refresh_rpm if load.util > 1.2 else 0.0)
    stuffing_failures = load.stuffing_rpm  # every attempt fails (invalid credentials or captcha)
    auth_fail = load.auth_normal_fail_rpm + stuffing_failures + load.banned_refresh_rpm
    api_4xx = (
        0.012 * load.rest_rpm
        + auth_fail
        + api_429
        + (load.service_key_rpm if load.service_key_rejected else 0.0)
    )

    # Database: statements follow requests and function work.
    fn_total = sum(f.rpm for f in fns.values())
    commits = (load.rest_rpm + load.spike_admitted_rpm) / 60.0 * 0.9 + fn_total / 60.0 * 2.0 + 4.0
    commits *= 1.0 + 0.05 * jiggle(seed, "commits", s)
    rollbacks = 0.06 + 0.04 * (1.0 + jiggle(seed, "rollbacks", s)) + commits * 0.002
    errors = 0.004 + 0.003 * (1.0 + smooth(seed, "dberr", s, 120.0))
    if db.restarting:
        commits, rollbacks = 0.0, 0.0
    if db.at_capacity:
        # Refused connection attempts (FATAL 53300): a share reaches the error count the console derives
        # from postgres_logs / rollbacks; they never become transactions.
        errors += 0.3 * db.refused + 0.4
    if db.blocked:
        errors += db.blocked / STATEMENT_TIMEOUT_S  # blocked statements time out
        rollbacks += db.blocked / STATEMENT_TIMEOUT_S
    errors += load.db_brute_force_rpm / 60.0
    failing = fns[FAILING_FUNCTION]
    if failing.error_pct > 5.0:
        rollbacks += failing.rpm / 60.0 * failing.error_pct / 100.0 * 0.5
    query_avg = 9.0 * (1.0 + 0.15 * wobble(seed, "qavg", s)) * (1.0 + 1.6 * load.util**2)
    query_avg += 6.0 * db.blocked
    if load.bulk_reads_rpm:
        query_avg += 4.0
    cache_hit = 99.45 + 0.15 * jiggle(seed, "cache", s) - (1.6 if load.bulk_reads_rpm else 0.0) - 0.6 * max(0.0, load.util - 0.7)
    response = 22.0 * (1.0 + 0.2 * wobble(seed, "dbrtt", s)) * (1.0 + max(0.0, load.util - 0.75) * 2.5)
    if db.at_capacity:
        response += 30.0
    lag = 0.35 * (1.0 + 0.6 * jiggle(seed, "replag", s)) + 8.0 * max(0.0, load.util - 0.9)

    cpu = 10.0 + 60.0 * load.util + 3.0 * wobble(seed, "cpu", s) + 1.2 * db.blocked
    if db.restarting:
        cpu = 4.0
    cpu = max(2.0, min(98.5, cpu))
    mem_micro = 50.0 + 8.0 * load.util + 0.12 * db.used + 2.0 * jiggle(seed, "mem", s)
    memory = 30.0 + (mem_micro - 30.0) / math.sqrt(load.tier.memory_gb)

    return Signals(
        s=s,
        load=load,
        db=db,
        api_rpm=api_rpm,
        api_p95_ms=p95,
        api_5xx_rpm=api_5xx,
        api_4xx_rpm=api_4xx,
        api_429_rpm=api_429,
        auth_signins_rpm=load.auth_signin_rpm + (0.2 if load.takeover_signed_in else 0.0),
        auth_failures_rpm=auth_fail,
        fns=fns,
        db_response_ms=response,
        db_query_avg_ms=query_avg,
        db_commits_per_s=commits,
        db_rollbacks_per_s=rollbacks,
        db_errors_per_s=errors,
        db_cache_hit_pct=min(99.95, cache_hit),
        db_replication_lag_s=max(0.05, lag),
        cpu_pct=cpu,
        memory_pct=memory,
    )


def deadlock_in_second(seed: int, s: int, util: float) -> bool:
    """Deadlocks are rare; a saturated origin makes concurrent updates collide."""
    p = 1.0 / 90.0 if util > 1.0 else 1.0 / 20000.0
    return unit(seed, "deadlock", s) < p
