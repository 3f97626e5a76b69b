"""What clients ask of the project in one simulated second: traffic, sign-ins, attacks, function calls.

`compute_load` is closed-form: it needs only the context (seed, scenario,
onset, timeline) and the second, no history. It is cheap (tens of
microseconds) and the project caches it per second; how the project copes
with the load is performance.py's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import ATTACKER_IPS, FUNCTIONS, TAKEOVER_IP, ComputeTier, client_ip
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.noise import jiggle, smooth, unit, wobble

BASE_CAPACITY_RPM = 1850.0  # origin requests/min a micro instance serves comfortably


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


def daily_shape(s: float) -> float:
    """Traffic through the UTC day: a European morning and a larger US afternoon peak."""
    h = (s % 86400.0) / 3600.0
    return 0.5 + 0.35 * math.exp(-(((h - 10.0) / 3.0) ** 2)) + 0.45 * math.exp(-(((h - 16.0) / 3.5) ** 2))


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


def auth_failure_sources(load: Load) -> dict[str, float]:
    """Failed sign-ins per minute by client address in this second (attackers and ordinary typos)."""
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
