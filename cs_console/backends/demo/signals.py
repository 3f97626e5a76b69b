"""Closed-form model of one simulated second: traffic, load and the rates logs and metrics derive from.

`compute_load` needs only (seed, scenario, onset, timeline, s): no history.
`compute_signals` adds the database state of that second (from the
connection engine) to get error rates, latencies and host figures. Both are
cheap (tens of microseconds) and cached by the project per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cs_console.backends.demo import scenarios as sc
from cs_console.backends.demo.catalog import (
    FAILING_FUNCTION,
    FUNCTION_BY_SLUG,
    FUNCTION_CONCURRENCY_RPM,
    FUNCTIONS,
    SPIKY_FUNCTION,
    STATEMENT_TIMEOUT_S,
    TAKEOVER_IP,
    ComputeTier,
)
from cs_console.backends.demo.noise import smooth, unit, wobble
from cs_console.backends.demo.timeline import Timeline

BASE_CAPACITY_RPM = 1850.0  # origin requests/min a micro instance serves comfortably


@dataclass(slots=True)
class Context:
    seed: int
    scenario: str
    onset: float | None  # simulated Unix seconds
    timeline: Timeline

    def tau(self, s: float) -> float | None:
        if self.onset is None or s < self.onset:
            return None
        return s - self.onset


@dataclass(slots=True)
class Load:
    """What clients ask of the project in second s (requests per minute unless named otherwise)."""

    s: int
    traffic: float  # daily shape x noise, about 0.45..1.1
    rest_rpm: float
    storage_rpm: float
    realtime_rpm: float
    spike_offered_rpm: float
    spike_admitted_rpm: float
    spike_limited_rpm: float  # answered 429 by the rate limiter
    cdn: bool
    auth_signin_rpm: float
    auth_refresh_rpm: float
    auth_user_rpm: float
    auth_other_rpm: float
    auth_normal_fail_rpm: float
    stuffing_rpm: float  # attempts from the attackers
    captcha: bool
    takeover_signed_in: bool
    bulk_reads_rpm: float
    banned_refresh_rpm: float  # the banned account's refresh attempts (rejected)
    service_key_rpm: float
    service_key_rejected: bool
    db_brute_force_rpm: float
    tier: ComputeTier
    restarting_since: float | None
    capacity_rpm: float
    util: float  # origin utilisation (1 = saturated)
    report_query_since: float | None
    fn_rpm: dict[str, float]
    fn_util: float
    pool_desired: dict[str, int]

    @property
    def auth_rpm(self) -> float:
        return (
            self.auth_signin_rpm
            + self.auth_refresh_rpm
            + self.auth_user_rpm
            + self.auth_other_rpm
            + self.auth_normal_fail_rpm
            + self.stuffing_rpm
            + self.banned_refresh_rpm
        )


@dataclass(slots=True)
class DbSecond:
    """The connection engine's state for one second."""

    usable: int  # max_connections - reserved
    max_connections: int
    used: int
    leaked: int
    at_capacity: bool
    refused: int  # connection attempts refused in this second
    su_extra: int  # superuser sessions in the reserved slots
    blocked: int
    oldest_leak_born: float | None
    restarting: bool


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


def jiggle(seed: int, key: str, s: float) -> float:
    """Cheaper noise (one layer, half-minute swings) for secondary figures."""
    return smooth(seed, key, s, 30.0)


def daily_shape(s: float) -> float:
    """Traffic through the UTC day: a European morning and a larger US afternoon peak."""
    h = (s % 86400.0) / 3600.0
    return 0.5 + 0.35 * math.exp(-(((h - 10.0) / 3.0) ** 2)) + 0.45 * math.exp(-(((h - 16.0) / 3.5) ** 2))


def latency_factor(util: float) -> float:
    """How much slower requests get as the origin fills up."""
    f = 1.0 + 6.0 * max(0.0, util - 0.55) ** 2
    if util > 1.0:
        f += 4.0 * (util - 1.0)
    return f


def compute_load(ctx: Context, s: int) -> Load:
    seed, tl = ctx.seed, ctx.timeline
    daily = daily_shape(s)
    traffic = daily * (1.0 + 0.08 * wobble(seed, "traffic", s))
    # Pools size themselves on the slow trend (they grow fast, shrink on idle timeouts).
    steady = daily * (1.0 + 0.08 * smooth(seed, "traffic/slow", s, 900.0))
    tau = ctx.tau(s)
    scenario = ctx.scenario

    rest = 330.0 * traffic
    storage = 25.0 * traffic * (1.0 + 0.2 * jiggle(seed, "storage", s))
    realtime = 4.0 * traffic
    signin = 22.0 * traffic * (1.0 + 0.15 * jiggle(seed, "signin", s))
    refresh = 60.0 * traffic
    user = 40.0 * traffic
    other = 3.0 * traffic
    normal_fail = 1.2 * traffic + 0.4 * (1.0 + smooth(seed, "authfail", s, 240.0))

    cdn = tl.last("enable_cdn_caching", s) is not None
    rate_limited = tl.last("enable_rate_limiting", s)
    if rate_limited is not None and (off := tl.last("disable_rate_limiting", s)) is not None and off.at > rate_limited.at:
        rate_limited = None

    spike_offered = spike_admitted = spike_limited = 0.0
    report_since: float | None = None
    if scenario == "traffic-spike" and tau is not None:
        spike_offered = 330.0 * sc.SPIKE_MULTIPLE * sc.spike_level(tau) * (1.0 + 0.06 * wobble(seed, "spike", s))
        spike_admitted = spike_offered
        if rate_limited is not None:
            limit = float(rate_limited.value or sc.RATE_LIMIT_CLIENT_RPM)
            spike_admitted = min(spike_offered, limit)
            spike_limited = spike_offered - spike_admitted
        if tau >= sc.REPORT_QUERY_START_S and tau < sc.REPORT_QUERY_START_S + sc.REPORT_QUERY_RUNS_S:
            start = ctx.onset + sc.REPORT_QUERY_START_S  # type: ignore[operator]
            stopped = tl.last("stop_report_query", s)
            if stopped is None or stopped.at < start:
                report_since = start

    stuffing = bulk = banned_refresh = service_key = db_brute = 0.0
    captcha = tl.last("enable_captcha", s) is not None
    takeover = False
    service_rejected = False
    if scenario == "security-breach" and tau is not None:
        level = sc.stuffing_level(tau)
        cap = tl.last("enable_captcha", s)
        if cap is not None:
            level *= 1.0 - sc.ramp(s - cap.at, 0.0, sc.ATTACKER_GIVE_UP_S)
        stuffing = sc.STUFFING_PEAK_RPM * level * (1.0 + 0.15 * wobble(seed, "stuffing", s))
        takeover = tau >= sc.TAKEOVER_AT_S
        ban = tl.last("ban_user", s, target="compromised")
        unban = tl.last("unban_user", s, target="compromised")
        banned_at = ban.at if ban is not None and (unban is None or unban.at < ban.at) else None
        if takeover and tau >= sc.BULK_READS_AT_S:
            if banned_at is None or s < banned_at + sc.BANNED_SESSION_GRACE_S:
                bulk = sc.BULK_READS_RPM * (1.0 + 0.2 * wobble(seed, "bulk", s))
            elif s < banned_at + sc.BANNED_SESSION_GRACE_S + 120.0:
                banned_refresh = 2.0  # the attacker's client retries, gets "User is banned"
        if tau >= sc.SERVICE_KEY_AT_S:
            rotated = tl.last("rotate_api_key", s, target="service_role")
            if rotated is None:
                service_key = sc.SERVICE_KEY_RPM * (1.0 + 0.3 * wobble(seed, "svckey", s))
            elif s < rotated.at + 90.0:
                service_key = sc.SERVICE_KEY_RPM * 0.5
                service_rejected = True
        if sc.DB_BRUTE_FORCE_AT_S <= tau < sc.DB_AUTO_BAN_AT_S:
            db_brute = 20.0 * (1.0 + 0.3 * wobble(seed, "dbbrute", s))
        elif tau >= sc.DB_AUTO_BAN_AT_S and tl.last("remove_network_ban", s, target=TAKEOVER_IP) is not None:
            db_brute = 20.0  # the ban on a live attacker was lifted: it is back

    tier, restarting_since = tl.tier_at(s)
    capacity = BASE_CAPACITY_RPM * tier.capacity
    rest_origin = rest * (0.8 if cdn else 1.0)
    spike_origin = spike_admitted * (0.35 if cdn else 1.0)
    origin = rest_origin + spike_origin + storage + realtime + signin + refresh + user + other + normal_fail
    origin += stuffing * 0.6 + bulk * 3.0 + service_key  # bulk reads are heavy
    util = origin / capacity + (0.12 / tier.capacity if report_since is not None else 0.0)
    steady_util = util * steady / traffic

    # Edge functions: webhooks and conversation processing follow the signals coming in.
    spike_fn = (spike_admitted / (330.0 * sc.SPIKE_MULTIPLE)) if spike_offered else 0.0
    fn_rpm: dict[str, float] = {}
    for fn in FUNCTIONS:
        base = fn.base_rpm * (traffic if fn.follows_traffic else 1.0 + 0.05 * jiggle(seed, "cron/" + fn.slug, s))
        if fn.slug in ("ingest-webhook", "monitor-keywords", "process-conversations"):
            base *= 1.0 + 4.0 * spike_fn
        fn_rpm[fn.slug] = base * (1.0 + 0.1 * jiggle(seed, "fn/" + fn.slug, s))
    fn_util = sum(fn_rpm.values()) / 1000.0
    steady_fn_util = fn_util * (0.3 + 0.7 * steady / traffic)

    desired = {
        "auth": 2 + (1 if (signin + refresh + stuffing) > 250 else 0),
        "storage": 2,
        "realtime": 2,
        "exporter": 1,
        "postgrest": max(3, min(10, round(3 + 8 * steady_util))),
        "supavisor": max(4, min(26, round(4 + 24 * steady_fn_util))),
        "worker": 2,
        "dashboard": 1 if (report_since is not None or unit(seed, "dashboard", s // 600) < 0.45) else 0,
    }
    return Load(
        s=s,
        traffic=traffic,
        rest_rpm=rest,
        storage_rpm=storage,
        realtime_rpm=realtime,
        spike_offered_rpm=spike_offered,
        spike_admitted_rpm=spike_admitted,
        spike_limited_rpm=spike_limited,
        cdn=cdn,
        auth_signin_rpm=signin,
        auth_refresh_rpm=refresh,
        auth_user_rpm=user,
        auth_other_rpm=other,
        auth_normal_fail_rpm=normal_fail,
        stuffing_rpm=stuffing,
        captcha=captcha,
        takeover_signed_in=takeover,
        bulk_reads_rpm=bulk,
        banned_refresh_rpm=banned_refresh,
        service_key_rpm=service_key,
        service_key_rejected=service_rejected,
        db_brute_force_rpm=db_brute,
        tier=tier,
        restarting_since=restarting_since,
        capacity_rpm=capacity,
        util=util,
        report_query_since=report_since,
        fn_rpm=fn_rpm,
        fn_util=fn_util,
        pool_desired=desired,
    )


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


def auth_failure_sources(load: Load) -> dict[str, float]:
    """Failed sign-ins per minute by client address in this second (attackers and ordinary typos)."""
    from cs_console.backends.demo.catalog import ATTACKER_IPS, TAKEOVER_IP, client_ip

    out: dict[str, float] = {}
    if load.stuffing_rpm > 0:
        for ip, _country, weight in ATTACKER_IPS:
            out[ip] = load.stuffing_rpm * weight
    if load.banned_refresh_rpm > 0:
        out[TAKEOVER_IP] = out.get(TAKEOVER_IP, 0.0) + load.banned_refresh_rpm
    # ordinary mistyped passwords: a few distinct users per minute
    n = max(1, round(load.auth_normal_fail_rpm))
    for k in range(n):
        ip = client_ip(load.s // 60 * 7 + k * 13)
        out[ip] = out.get(ip, 0.0) + load.auth_normal_fail_rpm / n
    return out
