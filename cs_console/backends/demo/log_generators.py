"""Log records of one simulated second, per source, shaped like the Supabase log tables.

Each (source, second) draws from its own RNG seeded by (seed, source, second)
and from the model's rates for that second, so any window is generated
directly, in any order, and always the same. Sources: function
(function_logs + function_edge_logs), edge (edge_logs: the API gateway,
auth requests included), auth (auth_logs), postgres (postgres_logs).
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cs_console.backends.demo import scenarios as sc
from cs_console.backends.demo.catalog import (
    ATTACKER_IPS,
    ATTACKER_UA,
    BLOCKED_QUERY,
    BROWSER_UAS,
    BULK_READ_QUERY,
    COMPROMISED_USER,
    COUNTRIES,
    FAILING_FUNCTION,
    FUNCTIONS,
    LEAK_QUERY,
    LEAKY_APPLICATION,
    LONG_REPORT_QUERY,
    PROJECT_HOST,
    PROJECT_REF,
    RESERVED_CONNECTIONS,
    SERVER_UAS,
    SERVICE_KEY_IP,
    SPIKE_CLIENT,
    TABLES,
    TAKEOVER_IP,
    TARGETED_EMAILS,
    USERS,
    TableSpec,
    CLIENT_IPS,
    client_ip,
)
from cs_console.backends.demo.noise import hash3, unit
from cs_console.backends.demo.rows import AuthFailureHotspot
from cs_console.backends.demo.signals import Signals, auth_failure_sources, deadlock_in_second
from cs_console.domain.log_record import Level, LogRecord

if TYPE_CHECKING:
    from cs_console.backends.demo.simulation import DemoProject

SOURCES: tuple[str, ...] = ("function", "edge", "auth", "postgres")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ORGS = ("org_4f2a", "org_7f3a", "org_91bc", "org_0d17", "org_c3e8", "org_5a60")


class _Second:
    """One (source, second): its RNG, the second's datetime, and a per-second id prefix (ids stay UUID-shaped)."""

    __slots__ = ("rng", "s", "base", "fields", "us0", "prefix")

    def __init__(self, seed: int, source: str, s: int) -> None:
        self.rng = random.Random(hash3(seed, source, s))
        self.s = s
        self.base = _EPOCH + timedelta(seconds=s)
        b = self.base
        self.fields = (b.year, b.month, b.day, b.hour, b.minute, b.second)
        self.us0 = s * 1_000_000
        h = f"{self.rng.getrandbits(64):016x}"
        self.prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-"

    def id(self) -> str:
        h = "%016x" % ((self.rng.getrandbits(64) & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000)  # RFC 4122 variant
        return f"{self.prefix}{h[:4]}-{h[4:]}"

    def ts(self, frac: float) -> tuple[datetime, int]:
        micro = int(frac * 1_000_000)
        if micro > 999_999:
            micro = 999_999
        y, mo, d, h, mi, se = self.fields
        return datetime(y, mo, d, h, mi, se, micro, timezone.utc), self.us0 + micro  # positional: the fastest way


def _count(rng: random.Random, per_s: float) -> int:
    """A Poisson-like draw: exact for small rates, normal approximation for large ones."""
    if per_s <= 0:
        return 0
    if per_s < 12:
        limit = math.exp(-per_s)
        k, p = 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(per_s + (rng.random() + rng.random() + rng.random() - 1.5) * 2.0 * math.sqrt(per_s)))


class _Out:
    """Collects (sort key, record) for one second; sorted once at the end."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, LogRecord]] = []

    def add(self, us: int, record: LogRecord) -> None:
        self.items.append((us, record))

    def sorted(self) -> list[LogRecord]:
        self.items.sort(key=lambda item: item[0])
        return [r for _, r in self.items]


# --- auth ---------------------------------------------------------------------------
# An auth event: (frac, method, path, search, status, msg, error_code, ip, country, ua, actor, action)
AuthEvent = tuple[float, str, str, str, int, str, str, str, str, str, str, str]


def auth_events(project: "DemoProject", s: int, sig: Signals) -> list[AuthEvent]:
    """Every Auth API request of second s (shared by the auth and edge sources)."""
    rng = random.Random(hash3(project.seed, "auth", s))
    load = sig.load
    db = sig.db
    events: list[AuthEvent] = []
    down = db.restarting

    def ordinary_client() -> tuple[str, str, str]:
        n = int(rng.random() * 600)
        return client_ip(n), COUNTRIES[n % len(COUNTRIES)], BROWSER_UAS[n % len(BROWSER_UAS)]

    def db_failure() -> tuple[int, str, str] | None:
        if down:
            return 500, "500: Database error querying schema", "unexpected_failure"
        if db.at_capacity and rng.random() < 0.05:
            return 500, "500: Database error granting user: failed to connect to `host=localhost user=supabase_auth_admin database=postgres`: server error (FATAL: remaining connection slots are reserved for non-replication superuser connections (SQLSTATE 53300))", "unexpected_failure"
        return None

    for _ in range(_count(rng, load.auth_signin_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        user = USERS[int(rng.random() * len(USERS))]
        failed = db_failure()
        if failed:
            events.append((rng.random(), "POST", "/token", "?grant_type=password", failed[0], failed[1], failed[2], ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "POST", "/token", "?grant_type=password", 200, "Login", "", ip, country, ua, user.email, "login"))
    limited = 0.4 if load.util > 1.2 else 0.0  # GoTrue's token-refresh rate limit under an overloaded origin
    for _ in range(_count(rng, load.auth_refresh_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        failed = db_failure()
        if limited and rng.random() < limited:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 429, "429: Request rate limit reached",
                           "over_request_rate_limit", ip, country, ua, "", ""))
        elif failed:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", failed[0], failed[1], failed[2], ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 200, "request completed", "", ip, country, ua, "", "token_refreshed"))
    for _ in range(_count(rng, load.auth_user_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        if rng.random() < 0.01:
            events.append((rng.random(), "GET", "/user", "", 403, "403: invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired", "bad_jwt", ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "GET", "/user", "", 200, "request completed", "", ip, country, ua, "", ""))
    for _ in range(_count(rng, load.auth_other_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        kind = rng.random()
        if kind < 0.6:
            events.append((rng.random(), "POST", "/logout", "", 204, "Logout", "", ip, country, ua, "", "logout"))
        elif kind < 0.85:
            events.append((rng.random(), "POST", "/recover", "", 200, "request completed", "", ip, country, ua, "", "user_recovery_requested"))
        else:
            events.append((rng.random(), "POST", "/signup", "", 200, "request completed", "", ip, country, ua, "", "user_signedup"))
    for _ in range(_count(rng, load.auth_normal_fail_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        events.append((rng.random(), "POST", "/token", "?grant_type=password", 400, "400: Invalid login credentials", "invalid_credentials", ip, country, ua, "", ""))

    if load.stuffing_rpm > 0:
        for _ in range(_count(rng, load.stuffing_rpm / 60.0)):
            pick = rng.random()
            for ip, country, weight in ATTACKER_IPS:
                pick -= weight
                if pick <= 0:
                    break
            if load.captcha:
                events.append((rng.random(), "POST", "/token", "?grant_type=password", 400,
                               "400: captcha protection: request disallowed (no captcha response)", "captcha_failed",
                               ip, country, ATTACKER_UA, "", ""))
            else:
                events.append((rng.random(), "POST", "/token", "?grant_type=password", 400, "400: Invalid login credentials",
                               "invalid_credentials", ip, country, ATTACKER_UA, "", ""))
    tau = project.ctx.tau(s)
    if tau is not None and project.ctx.scenario == "security-breach":
        if int(tau) == int(sc.TAKEOVER_AT_S):
            events.append((0.42, "POST", "/token", "?grant_type=password", 200, "Login", "", TAKEOVER_IP, "NL", ATTACKER_UA, COMPROMISED_USER, "login"))
        if load.bulk_reads_rpm > 0 and int(tau) % 60 == 17:
            events.append((0.6, "POST", "/token", "?grant_type=refresh_token", 200, "request completed", "", TAKEOVER_IP, "NL", ATTACKER_UA, COMPROMISED_USER, "token_refreshed"))
        for _ in range(_count(rng, load.banned_refresh_rpm / 60.0)):
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 400, "400: User is banned", "user_banned",
                           TAKEOVER_IP, "NL", ATTACKER_UA, COMPROMISED_USER, ""))
    return events


@lru_cache(maxsize=256)
def _json_str(text: str) -> str:
    return json.dumps(text)


def _auth_records(project: "DemoProject", s: int, events: list[AuthEvent], out: _Out) -> None:
    sec = _Second(project.seed, "auth/ids", s)
    rng = sec.rng
    stamp = sec.base.strftime("%Y-%m-%dT%H:%M:%SZ")
    for frac, method, path, search, status, msg, error_code, ip, _country, _ua, actor, action in events:
        ts, us = sec.ts(frac)
        rid = sec.id()
        level = "error" if status >= 500 else "info"
        severity = Level.ERROR if status >= 500 else Level.WARN if status >= 400 else Level.INFO
        # GoTrue's JSON log line, built by hand (json.dumps is the slowest part otherwise); every
        # value is ours and quoted with _json_str.
        event = ""
        if action:
            event = (f'"auth_event":{{"action":"{action}","actor_username":{_json_str(actor)},"log_type":"account"}},'
                     if actor else f'"auth_event":{{"action":"{action}"}},')
        code = f',"error_code":"{error_code}"' if error_code else ""
        event_message = (
            f'{{{event}"component":"api","duration":{int(38_000_000 * (0.6 + rng.random()))},"level":"{level}",'
            f'"method":"{method}","msg":{_json_str(msg)},"path":"{path}","referer":"https://app.customersignal.io/",'
            f'"remote_addr":"{ip}","request_id":"{rid}","status":{status},"time":"{stamp}"{code}}}'
        )
        rec_id = sec.id()
        raw = {
            "id": rec_id, "timestamp": us, "event_message": event_message,
            "level": level, "status": str(status), "path": path, "msg": msg, "error": error_code or None,
            "method": method, "remote_addr": ip, "request_id": rid,
        }
        out.add(us, LogRecord(ts, severity, "auth", f"{method} | {status} | {ip} | {path}{search} | {msg}",
                              None, status, rid, rec_id, raw))


# --- edge (API gateway) ----------------------------------------------------------------
# Query strings take one number (%d) that varies per request.
_REST_READS = (
    ("/rest/v1/conversations", "?select=id,subject,status,updated_at&org_id=eq.org_%x&order=updated_at.desc&limit=25"),
    ("/rest/v1/messages", "?select=*&conversation_id=eq.%d&order=created_at.asc"),
    ("/rest/v1/signals", "?select=*,keywords(term)&keyword_id=eq.%d&limit=50"),
    ("/rest/v1/alerts", "?select=*&org_id=eq.org_%x&acknowledged_at=is.null"),
    ("/rest/v1/keywords", "?select=id,term,match_mode&org_id=eq.org_%x&active=is.true"),
    ("/rest/v1/customers", "?select=id,name,plan&id=eq.org_%x"),
)
_REST_WRITES = (
    ("POST", "/rest/v1/signals", "", 201),
    ("PATCH", "/rest/v1/conversations", "?id=eq.%d", 204),
    ("POST", "/rest/v1/rpc/customer_score", "", 200),
    ("POST", "/rest/v1/alerts", "", 201),
    ("PATCH", "/rest/v1/alerts", "?id=eq.%d", 204),
)
_CLIENT_ERRORS = (
    (401, "GET", "/rest/v1/conversations", "?select=*"),
    (404, "GET", "/rest/v1/convresations", "?select=*"),
    (406, "GET", "/rest/v1/customers", "?id=eq.0&select=*"),
    (400, "GET", "/rest/v1/signals", "?created_at=gte.yesterday"),
    (409, "POST", "/rest/v1/signals", ""),
)


def _edge_row(out: _Out, sec: _Second, frac: float, method: str, path: str, search: str, status: int,
              ip: str, country: str, ua: str, origin_ms: float, extra: dict[str, Any] | None = None) -> None:
    ts, us = sec.ts(frac)
    ray = f"{sec.rng.getrandbits(64):016x}"
    message = f"{method} | {status} | {ip} | {ray} | {PROJECT_HOST}{path}{search} | {ua}"
    rec_id = sec.id()
    raw: dict[str, Any] = {
        "id": rec_id, "identifier": PROJECT_REF, "timestamp": us, "event_message": message, "method": method,
        "path": path, "search": search, "status_code": status, "origin_time": int(origin_ms * 10) / 10, "x_real_ip": ip,
        "cf_country": country, "user_agent": ua, "cf_ray": ray,
    }
    if extra:
        raw.update(extra)
    level = Level.ERROR if status >= 500 else Level.WARN if status >= 400 else Level.INFO
    out.add(us, LogRecord(ts, level, "edge", message, None, status, ray, rec_id, raw))


_N_COUNTRIES = len(COUNTRIES)
_N_BROWSERS = len(BROWSER_UAS)
_N_SERVERS = len(SERVER_UAS)


def _edge_records(project: "DemoProject", s: int, sig: Signals, events: list[AuthEvent], out: _Out) -> None:
    sec = _Second(project.seed, "edge", s)
    rng = sec.rng
    random_ = rng.random
    load = sig.load
    db = sig.db
    median = max(8.0, sig.api_p95_ms / 3.7)
    mean_latency = median * 1.38
    rest_like = load.rest_rpm + load.spike_admitted_rpm + load.storage_rpm + load.bulk_reads_rpm + load.service_key_rpm
    share_5xx = sig.api_5xx_rpm / rest_like if rest_like else 0.0
    exp = math.exp

    def server_error() -> tuple[int, dict[str, Any]]:
        if db.restarting:
            return 503, {"error_code": "PGRST000"}
        if db.at_capacity or load.util > 1.1:
            return 504, {"error_code": "PGRST003"}
        return (500, {}) if random_() < 0.7 else (502, {})

    n_reads, n_writes, n_errors = len(_REST_READS), len(_REST_WRITES), len(_CLIENT_ERRORS)
    for _ in range(_count(rng, load.rest_rpm / 60.0)):
        n = int(random_() * 600)
        ip, country = CLIENT_IPS[n], COUNTRIES[n % _N_COUNTRIES]
        ua = BROWSER_UAS[n % _N_BROWSERS] if n % 10 < 7 else SERVER_UAS[n % _N_SERVERS]
        latency = mean_latency * exp(0.8 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.32)
        r = random_()
        extra: dict[str, Any] | None = None
        number = 8_800_000 + int(random_() * 90_000)
        if r < share_5xx:
            status, extra = server_error()
            path, search = _REST_READS[n % n_reads]
            search %= number
            method = "GET"
            if status == 504:
                latency = 10_000.0 + random_() * 50
        elif r < share_5xx + 0.012:
            status, method, path, search = _CLIENT_ERRORS[int(random_() * n_errors)]
        elif r < 0.78:
            path, search = _REST_READS[n % n_reads]
            search %= number
            method, status = "GET", 200
        else:
            method, path, search, status = _REST_WRITES[int(random_() * n_writes)]
            if search:
                search %= number
        if load.cdn and method == "GET" and status == 200 and random_() < 0.2:
            latency = 3.0 + random_() * 8.0
            extra = {"cf_cache_status": "HIT"}
        _edge_row(out, sec, random_(), method, path, search, status, ip, country, ua, latency, extra)

    if load.spike_offered_rpm > 0:
        ip, country, ua = SPIKE_CLIENT
        limited = load.spike_limited_rpm / load.spike_offered_rpm
        for _ in range(_count(rng, load.spike_offered_rpm / 60.0)):
            search = f"?select=*&org_id=eq.org_0d17&order=created_at.desc&limit=100&offset={int(random_() * 50) * 100}"
            if random_() < limited:
                _edge_row(out, sec, random_(), "GET", "/rest/v1/signals", search, 429, ip, country, ua, 0.4,
                          {"error_code": "rate_limited"})
            elif random_() < share_5xx:
                status, extra = server_error()
                _edge_row(out, sec, random_(), "GET", "/rest/v1/signals", search, status, ip, country, ua, 10_000.0, extra)
            else:
                cached = load.cdn and random_() < 0.65
                latency = 4.0 if cached else mean_latency * exp(0.8 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.32)
                _edge_row(out, sec, random_(), "GET", "/rest/v1/signals", search, 200, ip, country, ua, latency,
                          {"cf_cache_status": "HIT"} if cached else None)

    for _ in range(_count(rng, load.storage_rpm / 60.0)):
        n = int(random_() * 600)
        if random_() < 0.6:
            path = f"/storage/v1/object/public/avatars/{n:04x}.png"
        else:
            path = f"/storage/v1/object/sign/attachments/{_ORGS[n % len(_ORGS)]}/{n * 7919 % 100000}.pdf"
        _edge_row(out, sec, random_(), "GET", path, "", 200, CLIENT_IPS[n], COUNTRIES[n % _N_COUNTRIES],
                  BROWSER_UAS[n % _N_BROWSERS], 30.0 + random_() * 90.0)
    for _ in range(_count(rng, load.realtime_rpm / 60.0)):
        n = int(random_() * 600)
        _edge_row(out, sec, random_(), "GET", "/realtime/v1/websocket", "?apikey=[redacted]&vsn=1.0.0", 101,
                  CLIENT_IPS[n], COUNTRIES[n % _N_COUNTRIES], BROWSER_UAS[n % _N_BROWSERS], 35.0)

    for frac, method, path, search, status, _msg, _code, ip, country, ua, _actor, _action in events:
        _edge_row(out, sec, frac, method, "/auth/v1" + path, search, status, ip, country, ua, 25.0 + random_() * 45.0)

    if load.bulk_reads_rpm > 0:
        victim = next(u.id for u in USERS if u.email == COMPROMISED_USER)
        for _ in range(_count(rng, load.bulk_reads_rpm / 60.0)):
            offset = int((s * 7 + random_() * 5) % 400) * 1000
            _edge_row(out, sec, random_(), "GET", "/rest/v1/conversations",
                      f"?select=*,messages(*)&org_id=eq.brightpath-health&order=id&limit=1000&offset={offset}", 200,
                      TAKEOVER_IP, "NL", ATTACKER_UA, 700.0 + random_() * 500.0,
                      {"auth_user": victim, "response_bytes": 1_800_000 + int(random_() * 400_000)})
    if load.service_key_rpm > 0:
        ip, country = SERVICE_KEY_IP
        for _ in range(_count(rng, load.service_key_rpm / 60.0)):
            path, search = (("/rest/v1/integrations", "?select=*,credentials(*)") if random_() < 0.5
                            else ("/rest/v1/customers", "?select=*&limit=1000"))
            status = 401 if load.service_key_rejected else 200
            _edge_row(out, sec, random_(), "GET", path, search, status, ip, country, "curl/8.5.0",
                      90.0 + random_() * 80.0, {"apikey_role": "service_role"} | ({"error": "Invalid API key"} if status == 401 else {}))


# --- functions -------------------------------------------------------------------------
_Template = Callable[[random.Random], str]


def _org(r: random.Random) -> str:
    return _ORGS[int(r.random() * len(_ORGS))]


def _conv(r: random.Random) -> int:
    return 8_800_000 + int(r.random() * 90_000)


_INFO_LINES: dict[str, tuple[_Template, ...]] = {
    "ingest-webhook": (
        lambda r: f"received {1 + int(r.random() * 6)} events from intercom ({_org(r)})",
        lambda r: f"received {1 + int(r.random() * 6)} events from zendesk ({_org(r)})",
        lambda r: f"queued {1 + int(r.random() * 6)} conversations for processing",
    ),
    "monitor-keywords": (
        lambda r: f"scanning {200 + int(r.random() * 2000)} new messages for {12 + int(r.random() * 40)} keywords ({_org(r)})",
        lambda r: f'matched "refund" in conversation {_conv(r)} (score 0.{10 + int(r.random() * 89)})',
        lambda r: f'matched "cancel" in conversation {_conv(r)} (score 0.{10 + int(r.random() * 89)})',
        lambda r: f"queued {1 + int(r.random() * 4)} alerts",
    ),
    "process-conversations": (
        lambda r: f"processed conversation {_conv(r)}: {2 + int(r.random() * 30)} messages, sentiment -0.{10 + int(r.random() * 89)}",
        lambda r: f"classified conversation {_conv(r)} as billing (0.{10 + int(r.random() * 89)})",
        lambda r: f"processed conversation {_conv(r)}: {2 + int(r.random() * 30)} messages, sentiment 0.{10 + int(r.random() * 89)}",
    ),
    "send-alerts": (
        lambda r: f"sent {1 + int(r.random() * 4)} alerts to slack #cs-alerts ({_org(r)})",
        lambda r: f"sent alert {990_000 + int(r.random() * 9_000)} by email to {1 + int(r.random() * 5)} recipients",
    ),
    "sync-integrations": (
        lambda r: f"synced {50 + int(r.random() * 900)} contacts from hubspot ({_org(r)}) in 1.{int(r.random() * 10)}s",
        lambda r: f"salesforce: {int(r.random() * 40)} changes since last sync ({_org(r)})",
    ),
}
_BASE_ERRORS: dict[str, tuple[tuple[int, str], ...]] = {
    "ingest-webhook": ((500, "Error: upstream Intercom API returned 502 Bad Gateway"),
                       (500, "Error: invalid webhook payload: missing conversation.id")),
    "monitor-keywords": ((500, "Error: keyword regex timed out after 250ms: /(price|pricing).*increase/i"),),
    "process-conversations": ((500, "Error: OpenAI API returned 429: Rate limit reached for gpt-4o-mini"),),
    "send-alerts": ((500, "Error: Slack API returned 429 (ratelimited), retry after 30s"),
                    (500, "Error: SMTP 451 4.7.1 temporary failure, try again later")),
    "sync-integrations": ((500, "Error: HubSpot API returned 502 Bad Gateway"),
                          (500, "Error: Salesforce session expired (INVALID_SESSION_ID)")),
}
_STACK = "\n    at {fn} (file:///src/functions/{slug}/index.ts:{line}:{col})\n    at async Server.<anonymous> (file:///src/functions/{slug}/index.ts:12:20)"
_TYPE_ERROR = ("TypeError: Cannot read properties of undefined (reading 'sentiment')\n    at scoreMessage "
               "(file:///src/functions/process-conversations/index.ts:88:31)\n    at Array.map (<anonymous>)\n"
               "    at processConversation (file:///src/functions/process-conversations/index.ts:141:22)")
_LEVELS = {"log": Level.INFO, "info": Level.INFO, "debug": Level.DEBUG, "warn": Level.WARN, "error": Level.ERROR}


def _fn_records(project: "DemoProject", s: int, sig: Signals, out: _Out) -> None:
    sec = _Second(project.seed, "function", s)
    rng = sec.rng
    random_ = rng.random
    exp = math.exp
    db = sig.db
    tau = project.ctx.tau(s)
    failing_deploy = project.ctx.scenario == "function-failures" and tau is not None
    db_trouble = db.at_capacity or db.blocked or db.restarting
    for spec in FUNCTIONS:
        fn = sig.fns[spec.slug]
        slug = spec.slug
        deployment = f"{PROJECT_REF}_{spec.id}_{fn.version}"
        pathname = f"/functions/v1/{slug}"
        message_ok = f"POST | 200 | {PROJECT_HOST}{pathname}"
        version = str(fn.version)
        redeployed = project.timeline.last("redeploy_function", s, target=slug)
        boot_p = 0.04 + (0.5 if redeployed is not None and s - redeployed.at < 20 else 0.0)
        err_p = fn.error_pct / 100.0
        templates = _INFO_LINES[slug]
        mean = fn.avg_ms
        for _ in range(_count(rng, fn.rpm / 60.0)):
            frac = random_() * 0.97
            exec_id = sec.id()
            lines: list[tuple[str, str, str]] = []  # (event_type, level, message)
            if random_() < boot_p:
                lines.append(("Boot", "log", f"booted (time: {20 + int(random_() * 30)}ms)"))
            if random_() < err_p:
                r = random_()
                if fn.status == "THROTTLED" and r < 0.6:
                    status, duration = 429, 2.0
                    lines = []
                elif r < fn.db_error_share and db_trouble:
                    if db.at_capacity or db.restarting:
                        msg = ("PostgresError: remaining connection slots are reserved for non-replication superuser connections"
                               if random_() < 0.6 else "Error: Connection terminated due to connection timeout")
                        duration = 5000.0 + random_() * 300
                    else:
                        msg = "PostgresError: canceling statement due to statement timeout"
                        duration = 8000.0 + random_() * 200
                    status = 500
                    lines.append(("UncaughtException", "error", msg + _STACK.format(fn="claimQueueItems", slug=slug, line=54, col=9)))
                elif failing_deploy and slug == FAILING_FUNCTION and r < 0.97:
                    kind = random_()
                    if kind < 0.5:
                        status, duration = 500, 150.0 + random_() * 250
                        lines.append(("UncaughtException", "error", _TYPE_ERROR))
                    elif kind < 0.9:
                        status, duration = 500, 10_000.0 + random_() * 2_500
                        lines.append(("Log", "warn", "retrying sentiment API call (attempt 2/3)"))
                        lines.append(("Log", "error", "Error: sentiment API request timed out after 10000ms"))
                    else:
                        status, duration = 546, 150_000.0
                        lines.append(("Shutdown", "error", "wall clock limit reached"))
                else:
                    errors = _BASE_ERRORS[slug]
                    status, msg = errors[int(random_() * len(errors))]
                    duration = mean * exp(0.5 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.125)
                    lines.append(("Log", "error", msg))
            else:
                status = 200
                duration = mean * exp(0.55 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.151)
                if random_() < 0.55:
                    lines.append(("Log", "info", templates[int(random_() * len(templates))](rng)))
            ts, us = sec.ts(frac)
            message = message_ok if status == 200 else f"POST | {status} | {PROJECT_HOST}{pathname}"
            rec_id = sec.id()
            raw = {
                "id": rec_id, "timestamp": us, "event_message": message, "status_code": status, "method": "POST",
                "pathname": pathname, "function_id": spec.id, "execution_id": exec_id,
                "execution_time_ms": int(duration), "deployment_id": deployment, "version": version,
            }
            level = Level.ERROR if status >= 500 else Level.WARN if status >= 400 else Level.INFO
            out.add(us, LogRecord(ts, level, "function", message, slug, status, exec_id, rec_id, raw))
            for i, (event_type, lvl, text) in enumerate(lines):
                lts, lus = sec.ts(frac + 0.0005 * (i + 1))
                line_id = sec.id()
                lraw = {"id": line_id, "timestamp": lus, "event_message": text + "\n", "event_type": event_type,
                        "function_id": spec.id, "execution_id": exec_id, "level": lvl}
                out.add(lus, LogRecord(lts, _LEVELS[lvl], "function", text, slug, None, exec_id, line_id, lraw))


# --- postgres --------------------------------------------------------------------------
_PG_LEVELS = {"LOG": Level.INFO, "WARNING": Level.WARN, "ERROR": Level.ERROR, "FATAL": Level.FATAL, "PANIC": Level.FATAL}


def _pg(out: _Out, sec: _Second, frac: float, severity: str, message: str, *, user: str = "", app: str = "",
        detail: str = "", hint: str = "", query: str = "", code: str = "00000", pid: int | None = None, host: str = "") -> None:
    ts, us = sec.ts(frac)
    rec_id = sec.id()
    raw = {
        "id": rec_id, "identifier": PROJECT_REF, "timestamp": us, "event_message": message, "error_severity": severity,
        "user_name": user or None, "application_name": app or None, "detail": detail or None, "hint": hint or None,
        "query": query or None, "sql_state_code": code, "process_id": pid or 10000 + int(sec.rng.random() * 50000),
        "remote_host": host or None,
    }
    out.add(us, LogRecord(ts, _PG_LEVELS[severity], "postgres", message, None, None, None, rec_id, raw))


_SQLSTATE = {
    "terminating connection due to administrator command": "57P01",
    "terminating connection due to idle-in-transaction timeout": "25P03",
    "canceling statement due to user request": "57014",
    "unexpected EOF on client connection with an open transaction": "08P01",
}


@lru_cache(maxsize=64)
def _pg_schedule(seed: int) -> tuple[int, tuple[tuple[TableSpec, float, float, float], ...]]:
    """Checkpoint phase and autovacuum cadence per table (the same as inventory.table_dead_tuples)."""
    autovacuums = []
    for table in TABLES:
        if table.autovacuum_keeps_up and table.dead_per_s > 0:
            threshold = 50 + 0.02 * table.rows
            period = max(600.0, min(86400.0, threshold / table.dead_per_s))
            autovacuums.append((table, threshold, period, unit(seed, "autovac/" + table.name, 0) * period))
    return int(unit(seed, "checkpoint", 0) * 300), tuple(autovacuums)


def _pg_records(project: "DemoProject", s: int, sig: Signals, out: _Out) -> None:
    seed = project.seed
    sec = _Second(seed, "postgres", s)
    rng = sec.rng
    load = sig.load
    db = sig.db
    # Pooled clients recycle connections now and then.
    for _ in range(_count(rng, 0.05 if not db.restarting else 0.0)):
        port = 30000 + int(rng.random() * 30000)
        frac = rng.random() * 0.99
        _pg(out, sec, frac, "LOG", f"connection received: host=10.0.2.14 port={port}")
        _pg(out, sec, frac + 0.002, "LOG", "connection authorized: user=postgres database=postgres application_name=Supavisor "
            "SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)", user="postgres", app="Supavisor")
    for _ in range(_count(rng, 0.05 if not db.restarting else 0.0)):
        minutes = int(rng.random() * 40)
        _pg(out, sec, rng.random(), "LOG", f"disconnection: session time: 0:{minutes:02d}:{int(rng.random() * 60):02d}.{int(rng.random() * 1000):03d} "
            "user=postgres database=postgres host=10.0.2.14 port=" + str(30000 + int(rng.random() * 30000)), user="postgres", app="Supavisor")
    phase, autovacuums = _pg_schedule(seed)
    if (s - phase) % 300 == 0:
        _pg(out, sec, 0.01, "LOG", "checkpoint starting: time")
    elif (s - phase) % 300 == 270:
        buffers = 900 + int(rng.random() * 2400)
        _pg(out, sec, 0.02, "LOG", f"checkpoint complete: wrote {buffers} buffers ({buffers / 163.84:.1f}%); 0 WAL file(s) added, "
            f"0 removed, {1 + int(rng.random() * 3)} recycled; write=269.{int(rng.random() * 900) + 100} s, sync=0.004 s, "
            f"total=269.{int(rng.random() * 900) + 100} s; sync files={40 + int(rng.random() * 40)}, longest=0.002 s, "
            f"average=0.001 s; distance={15000 + int(rng.random() * 20000)} kB, estimate={24000 + int(rng.random() * 6000)} kB")
    for table, threshold, period, offset in autovacuums:
        if (s - offset) % period < 1:
            dead = int(threshold)
            _pg(out, sec, 0.5, "LOG", f'automatic vacuum of table "postgres.{table.name}": index scans: 1\n'
                f"pages: 0 removed, {table.table_bytes // 8192} remain, {int(rng.random() * 4000)} scanned\n"
                f"tuples: {dead} removed, {table.rows} remain, 0 are dead but not yet removable\n"
                f"avg read rate: {rng.random() * 40:.3f} MB/s, avg write rate: {rng.random() * 20:.3f} MB/s",
                user="supabase_admin")
            _pg(out, sec, 0.6, "LOG", f'automatic analyze of table "postgres.{table.name}"', user="supabase_admin")
    if s % 3600 == 0:
        _pg(out, sec, 0.003, "LOG", "cron job 4 starting: CALL public.purge_expired_signals()", user="postgres", app="pg_cron scheduler")
    elif s % 3600 == 7:
        _pg(out, sec, 0.2, "LOG", "cron job 4 COMMAND completed: CALL 1", user="postgres", app="pg_cron scheduler")
    # everyday application errors
    if rng.random() < 0.0035 * max(0.3, load.traffic):
        ext = 1_790_000_000 + int(rng.random() * 9_999_999)
        _pg(out, sec, rng.random(), "ERROR", 'duplicate key value violates unique constraint "signals_external_id_key"',
            user="postgres", app="Supavisor", detail=f"Key (external_id)=(tw_{ext}) already exists.",
            query="INSERT INTO public.signals (external_id, keyword_id, conversation_id, score, created_at) VALUES ($1, $2, $3, $4, $5)",
            code="23505")
    if rng.random() < 0.0006:
        _pg(out, sec, rng.random(), "ERROR", "permission denied for table integrations", user="authenticated", app="postgrest",
            query='SELECT "public"."integrations".* FROM "public"."integrations"', code="42501")
    slow_rate = 0.01 * max(0.3, load.traffic) * (1.0 + 4.0 * max(0.0, load.util - 0.7)) + (load.bulk_reads_rpm / 60.0) * 0.3
    for _ in range(_count(rng, slow_rate)):
        if load.bulk_reads_rpm and rng.random() < 0.7:
            query, user, app = BULK_READ_QUERY, "authenticated", "postgrest"
        else:
            query, user, app = "SELECT count(*) FROM public.conversations WHERE org_id = $1 AND status = $2", "authenticated", "postgrest"
        _pg(out, sec, rng.random(), "LOG", f"duration: {1000 + rng.random() * 2500:.3f} ms  statement: {query}", user=user, app=app)
    if deadlock_in_second(seed, s, load.util):
        a, b = 18000 + int(rng.random() * 9000), 18000 + int(rng.random() * 9000)
        xa, xb = 88_120_000 + int(rng.random() * 9000), 88_120_000 + int(rng.random() * 9000)
        _pg(out, sec, rng.random(), "ERROR", "deadlock detected", user="postgres", app="Supavisor",
            detail=f"Process {a} waits for ShareLock on transaction {xb}; blocked by process {b}.\n"
                   f"Process {b} waits for ShareLock on transaction {xa}; blocked by process {a}.",
            hint="See server log for query details.",
            query="UPDATE public.conversations SET status = $1, updated_at = now() WHERE id = $2", code="40P01", pid=a)
    if load.report_query_since is not None and s % 60 == int(load.report_query_since) % 60:
        _pg(out, sec, 0.3, "LOG", f'temporary file: path "base/pgsql_tmp/pgsql_tmp{24000 + s % 97}.{s % 13}", size {100 + int(rng.random() * 400)}000000',
            user="postgres", app="supabase/dashboard", query=LONG_REPORT_QUERY)

    # connection exhaustion
    if db.at_capacity:
        for _ in range(db.refused):
            r = rng.random()
            user, app, host = ("cs_worker", LEAKY_APPLICATION, "10.0.4.17") if r < 0.55 else (
                ("authenticator", "postgrest", "127.0.0.1") if r < 0.75 else ("postgres", "Supavisor", "10.0.2.14"))
            _pg(out, sec, rng.random(), "FATAL", "remaining connection slots are reserved for non-replication superuser connections",
                user=user, app=app, code="53300", host=host)
        if db.su_extra >= RESERVED_CONNECTIONS and rng.random() < 0.3:
            _pg(out, sec, rng.random(), "FATAL", "sorry, too many clients already", user="supabase_admin", app="realtime_rls",
                code="53300", host="127.0.0.1")
    if db.blocked and db.oldest_leak_born is not None:
        holder = min(project.engine.leaked, key=lambda c: c.born).pid if project.engine.leaked else 40003
        for _ in range(_count(rng, db.blocked / 8.0)):
            waiter = 23000 + int(rng.random() * 26) * 120
            xid = 88_100_000 + int(db.oldest_leak_born) % 100_000
            _pg(out, sec, rng.random(), "LOG", f"process {waiter} still waiting for ShareLock on transaction {xid} after 1000.{int(rng.random() * 900) + 50} ms",
                user="postgres", app="Supavisor", detail=f"Process holding the lock: {holder}. Wait queue: {waiter}.",
                query=BLOCKED_QUERY, pid=waiter)
        for _ in range(_count(rng, db.blocked / 8.0)):
            _pg(out, sec, rng.random(), "ERROR", "canceling statement due to statement timeout", user="postgres", app="Supavisor",
                query=BLOCKED_QUERY, code="57014")
    if db.restarting:
        for _ in range(db.refused):
            _pg(out, sec, rng.random(), "FATAL", "the database system is starting up", user="authenticator", app="postgrest",
                code="57P03", host="127.0.0.1")
    if load.db_brute_force_rpm > 0:
        for _ in range(_count(rng, load.db_brute_force_rpm / 60.0)):
            frac = rng.random() * 0.99
            port = 40000 + int(rng.random() * 20000)
            _pg(out, sec, frac, "LOG", f"connection received: host={TAKEOVER_IP} port={port}", host=TAKEOVER_IP)
            _pg(out, sec, frac + 0.004, "FATAL", 'password authentication failed for user "postgres"', user="postgres",
                detail='Connection matched pg_hba.conf line 89: "hostssl all all 0.0.0.0/0 scram-sha-256"', code="28P01",
                host=TAKEOVER_IP)

    for event in project.pg_events(s):
        code = _SQLSTATE.get(event.message, "00000")
        if event.message.startswith("duration:"):
            code = "00000"
        _pg(out, sec, event.at - s, event.severity, event.message, user=event.user, app=event.application,
            detail=event.detail, query=event.query or (LEAK_QUERY if event.application == LEAKY_APPLICATION else ""),
            code=code, pid=event.pid)


# --- entry points ------------------------------------------------------------------------
def records_for_second(project: "DemoProject", s: int, sources: tuple[str, ...]) -> list[LogRecord]:
    """The records of the given sources in second s, oldest first (one merged list)."""
    sig = project.log_signals(s)
    out = _Out()
    events: list[AuthEvent] | None = None
    if "auth" in sources or "edge" in sources:
        events = auth_events(project, s, sig)
    if "function" in sources:
        _fn_records(project, s, sig, out)
    if "edge" in sources:
        _edge_records(project, s, sig, events or [], out)
    if "auth" in sources:
        _auth_records(project, s, events or [], out)
    if "postgres" in sources:
        _pg_records(project, s, sig, out)
    return out.sorted()


def auth_failure_counts(project: "DemoProject", start: float, end: float) -> list[AuthFailureHotspot]:
    """Failed sign-ins per address between start and end, integrated minute by minute from the model."""
    totals: dict[str, float] = {}
    last: dict[str, float] = {}
    t = float(start)
    while t < end:
        step = min(60.0, end - t)
        load = project.load_at(int(t + step / 2))
        for ip, rpm in auth_failure_sources(load).items():
            totals[ip] = totals.get(ip, 0.0) + rpm * step / 60.0
            last[ip] = t + step
        t += step
    attackers = {ip: country for ip, country, _ in ATTACKER_IPS}
    spots = []
    for ip, count in totals.items():
        n = round(count)
        if n <= 0:
            continue
        if ip in attackers:
            country = attackers[ip]
            distinct = min(n, len(TARGETED_EMAILS) + n // 4)
        else:
            country = COUNTRIES[int(unit(project.seed, "country/" + ip, 0) * len(COUNTRIES))]
            distinct = 1
        spots.append(AuthFailureHotspot(ip, country, n, distinct, datetime.fromtimestamp(last[ip], tz=timezone.utc)))
    spots.sort(key=lambda h: (-h.failures, h.ip))
    return spots

