"""Edge logs (edge_logs): the API gateway's request lines for REST, storage, realtime and auth traffic."""

from __future__ import annotations

import math
from typing import Any

from cs_console.backends.demo.logs.auth import AuthEvent
from cs_console.backends.demo.logs.second import ORGS, Second, SortedRecords, draw_count
from cs_console.backends.demo.model.catalog import (
    ATTACKER_UA,
    BROWSER_UAS,
    CLIENT_IPS,
    COMPROMISED_USER,
    COUNTRIES,
    PROJECT_HOST,
    PROJECT_REF,
    SERVER_UAS,
    SERVICE_KEY_IP,
    SPIKE_CLIENT,
    TAKEOVER_IP,
    USERS,
)
from cs_console.backends.demo.model.performance import Signals
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import Level, LogRecord

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


def _edge_row(out: SortedRecords, sec: Second, frac: float, method: str, path: str, search: str, status: int,
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


def edge_records(project: DemoProject, s: int, sig: Signals, events: list[AuthEvent], out: SortedRecords) -> None:
    sec = Second(project.seed, "edge", s)
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
    for _ in range(draw_count(rng, load.rest_rpm / 60.0)):
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
        for _ in range(draw_count(rng, load.spike_offered_rpm / 60.0)):
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

    for _ in range(draw_count(rng, load.storage_rpm / 60.0)):
        n = int(random_() * 600)
        if random_() < 0.6:
            path = f"/storage/v1/object/public/avatars/{n:04x}.png"
        else:
            path = f"/storage/v1/object/sign/attachments/{ORGS[n % len(ORGS)]}/{n * 7919 % 100000}.pdf"
        _edge_row(out, sec, random_(), "GET", path, "", 200, CLIENT_IPS[n], COUNTRIES[n % _N_COUNTRIES],
                  BROWSER_UAS[n % _N_BROWSERS], 30.0 + random_() * 90.0)
    for _ in range(draw_count(rng, load.realtime_rpm / 60.0)):
        n = int(random_() * 600)
        _edge_row(out, sec, random_(), "GET", "/realtime/v1/websocket", "?apikey=[redacted]&vsn=1.0.0", 101,
                  CLIENT_IPS[n], COUNTRIES[n % _N_COUNTRIES], BROWSER_UAS[n % _N_BROWSERS], 35.0)

    for frac, method, path, search, status, _msg, _code, ip, country, ua, _actor, _action in events:
        _edge_row(out, sec, frac, method, "/auth/v1" + path, search, status, ip, country, ua, 25.0 + random_() * 45.0)

    if load.bulk_reads_rpm > 0:
        victim = next(u.id for u in USERS if u.email == COMPROMISED_USER)
        for _ in range(draw_count(rng, load.bulk_reads_rpm / 60.0)):
            offset = int((s * 7 + random_() * 5) % 400) * 1000
            _edge_row(out, sec, random_(), "GET", "/rest/v1/conversations",
                      f"?select=*,messages(*)&org_id=eq.brightpath-health&order=id&limit=1000&offset={offset}", 200,
                      TAKEOVER_IP, "NL", ATTACKER_UA, 700.0 + random_() * 500.0,
                      {"auth_user": victim, "response_bytes": 1_800_000 + int(random_() * 400_000)})
    if load.service_key_rpm > 0:
        ip, country = SERVICE_KEY_IP
        for _ in range(draw_count(rng, load.service_key_rpm / 60.0)):
            path, search = (("/rest/v1/integrations", "?select=*,credentials(*)") if random_() < 0.5
                            else ("/rest/v1/customers", "?select=*&limit=1000"))
            status = 401 if load.service_key_rejected else 200
            _edge_row(out, sec, random_(), "GET", path, search, status, ip, country, "curl/8.5.0",
                      90.0 + random_() * 80.0, {"apikey_role": "service_role"} | ({"error": "Invalid API key"} if status == 401 else {}))
