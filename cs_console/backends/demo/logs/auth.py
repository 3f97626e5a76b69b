"""Auth logs (auth_logs): GoTrue's JSON lines, from the Auth API requests of each second.

The requests (auth_events) are shared with the edge source: the API gateway sees them too.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache

from cs_console.backends.demo.logs.second import Second, SortedRecords, draw_count
from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import (
    ATTACKER_IPS,
    ATTACKER_UA,
    BROWSER_UAS,
    COMPROMISED_USER,
    COUNTRIES,
    TAKEOVER_IP,
    USERS,
    client_ip,
)
from cs_console.backends.demo.model.noise import hash3
from cs_console.backends.demo.model.performance import Signals
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import Level, LogRecord

# An auth event: (frac, method, path, search, status, msg, error_code, ip, country, ua, actor, action)
AuthEvent = tuple[float, str, str, str, int, str, str, str, str, str, str, str]


def auth_events(project: DemoProject, s: int, sig: Signals) -> list[AuthEvent]:
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

    for _ in range(draw_count(rng, load.auth_signin_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        user = USERS[int(rng.random() * len(USERS))]
        failed = db_failure()
        if failed:
            events.append((rng.random(), "POST", "/token", "?grant_type=password", failed[0], failed[1], failed[2], ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "POST", "/token", "?grant_type=password", 200, "Login", "", ip, country, ua, user.email, "login"))
    limited = 0.4 if load.util > 1.2 else 0.0  # GoTrue's token-refresh rate limit under an overloaded origin
    for _ in range(draw_count(rng, load.auth_refresh_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        failed = db_failure()
        if limited and rng.random() < limited:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 429, "429: Request rate limit reached",
                           "over_request_rate_limit", ip, country, ua, "", ""))
        elif failed:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", failed[0], failed[1], failed[2], ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 200, "request completed", "", ip, country, ua, "", "token_refreshed"))
    for _ in range(draw_count(rng, load.auth_user_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        if rng.random() < 0.01:
            events.append((rng.random(), "GET", "/user", "", 403, "403: invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired", "bad_jwt", ip, country, ua, "", ""))
        else:
            events.append((rng.random(), "GET", "/user", "", 200, "request completed", "", ip, country, ua, "", ""))
    for _ in range(draw_count(rng, load.auth_other_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        kind = rng.random()
        if kind < 0.6:
            events.append((rng.random(), "POST", "/logout", "", 204, "Logout", "", ip, country, ua, "", "logout"))
        elif kind < 0.85:
            events.append((rng.random(), "POST", "/recover", "", 200, "request completed", "", ip, country, ua, "", "user_recovery_requested"))
        else:
            events.append((rng.random(), "POST", "/signup", "", 200, "request completed", "", ip, country, ua, "", "user_signedup"))
    for _ in range(draw_count(rng, load.auth_normal_fail_rpm / 60.0)):
        ip, country, ua = ordinary_client()
        events.append((rng.random(), "POST", "/token", "?grant_type=password", 400, "400: Invalid login credentials", "invalid_credentials", ip, country, ua, "", ""))

    if load.stuffing_rpm > 0:
        for _ in range(draw_count(rng, load.stuffing_rpm / 60.0)):
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
        for _ in range(draw_count(rng, load.banned_refresh_rpm / 60.0)):
            events.append((rng.random(), "POST", "/token", "?grant_type=refresh_token", 400, "400: User is banned", "user_banned",
                           TAKEOVER_IP, "NL", ATTACKER_UA, COMPROMISED_USER, ""))
    return events


@lru_cache(maxsize=256)
def _json_str(text: str) -> str:
    return json.dumps(text)


def auth_records(project: DemoProject, s: int, events: list[AuthEvent], out: SortedRecords) -> None:
    sec = Second(project.seed, "auth/ids", s)
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
