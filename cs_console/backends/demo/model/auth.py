"""The auth and security facet of the demo project: users, bans, failed sign-ins, network bans, API keys.

The security-breach scenario plays out here: credential stuffing, the taken-over
account, the leaked service_role key and the Postgres brute force, each
answered by an action (ban, CAPTCHA, key rotation, network ban) on the timeline.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import (
    ATTACKER_IPS,
    COMPROMISED_USER,
    COUNTRIES,
    PROJECT_REF,
    TAKEOVER_IP,
    TARGETED_EMAILS,
    USERS,
)
from cs_console.backends.demo.model.core import ProjectCore
from cs_console.backends.demo.model.demand import auth_failure_sources
from cs_console.backends.demo.model.noise import unit
from cs_console.backends.demo.model.results import (
    ActionResult,
    ApiKey,
    AuthFailureHotspot,
    AuthUser,
    DemoActionError,
    NetworkBan,
)
from cs_console.domain.durations import parse_go_duration

_STALE_BAN = "192.0.2.44"  # auto-banned last week for failed Postgres logins


def ban_duration_s(text: str) -> float:
    """Seconds in a ban_duration, parsed as the Auth admin API does (a Go duration: "24h", "1h30m").

    Raises DemoActionError with the API's wording for anything else (no "d" unit, as in Go).
    """
    seconds = parse_go_duration(text.strip())
    if seconds is None:
        raise DemoActionError(f"invalid format for ban duration: {text!r} (a Go duration such as 24h, 90m or 876000h)")
    return seconds


def auth_failure_counts(project: ProjectCore, start: float, end: float) -> list[AuthFailureHotspot]:
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


class AuthFacet(ProjectCore):
    """Auth (GoTrue) users and bans, sign-in failures, Postgres network bans and the project's API keys."""

    def _init_facet_state(self) -> None:
        super()._init_facet_state()
        self._bans: dict[str, datetime | None] = {}
        self._sign_ins: dict[str, datetime] = {}
        self._network_bans_removed: set[str] = set()
        self._keys: dict[str, ApiKey] = self._initial_keys()

    def list_users(self, search: str | None = None) -> list[AuthUser]:
        """Auth users (a sample of the project's 4,812), optionally filtered by a substring of the e-mail."""
        with self._lock:
            t = self._now()
            out = []
            for spec in USERS:
                if search and search.lower() not in spec.email.lower():
                    continue
                out.append(self._user(spec.id, t))
            return out

    def _user(self, user_id: str, t: float) -> AuthUser:
        spec = next(u for u in USERS if u.id == user_id)
        last = self._sign_ins.get(spec.id)
        if last is None:
            last = datetime.fromtimestamp(self._anchor - 3600 * 30 * unit(self.seed, "signin/" + spec.id, 0), tz=timezone.utc)
        tau = self.ctx.tau(t)
        if spec.email == COMPROMISED_USER and self.ctx.scenario == "security-breach" and tau is not None and tau >= sc.TAKEOVER_AT_S:
            last = datetime.fromtimestamp(self.ctx.onset + sc.TAKEOVER_AT_S, tz=timezone.utc)  # type: ignore[operator]
        banned = self._bans.get(spec.id)
        if banned is not None and banned <= datetime.fromtimestamp(t, tz=timezone.utc):
            banned = None
        return AuthUser(spec.id, spec.email, spec.org, spec.role, datetime.fromisoformat(spec.created_at.replace("Z", "+00:00")),
                        last, banned)

    def find_user(self, user: str) -> AuthUser:
        """By id (UUID) or e-mail; DemoActionError('User not found') otherwise, as the Auth admin API."""
        with self._lock:
            t = self._now()
            for spec in USERS:
                if user in (spec.id, spec.email):
                    return self._user(spec.id, t)
            raise DemoActionError(f"User not found: {user}")

    def ban_user(self, user: str, duration: str = "24h") -> AuthUser:
        """PUT /auth/v1/admin/users/{id} {"ban_duration": duration}: a Go duration ("24h", "876000h");
        "none" unbans. Banning the compromised account ends its session at its next token refresh."""
        with self._lock:
            found = self.find_user(user)
            if duration.strip() == "none":
                return self.unban_user(user)
            seconds = ban_duration_s(duration)
            target = "compromised" if found.email == COMPROMISED_USER else found.id
            t = self._record("ban_user", target, seconds)
            self._bans[found.id] = datetime.fromtimestamp(t + seconds, tz=timezone.utc)
            return self._user(found.id, t)

    def unban_user(self, user: str) -> AuthUser:
        """ban_duration "none"."""
        with self._lock:
            found = self.find_user(user)
            target = "compromised" if found.email == COMPROMISED_USER else found.id
            t = self._record("unban_user", target)
            self._bans.pop(found.id, None)
            return self._user(found.id, t)

    def auth_failures_by_ip(self, window_s: float = 3600.0) -> list[AuthFailureHotspot]:
        """Failed sign-ins per client address over the last window (from the auth logs), worst first."""
        with self._lock:
            t = self._now()
            return auth_failure_counts(self, t - window_s, t)

    def auth_failure_ips_now(self) -> dict[str, float]:
        """Failed sign-ins per minute by address, right now (cheap; for health and headers)."""
        with self._lock:
            return auth_failure_sources(self.load_at(int(self._now())))

    def list_network_bans(self) -> list[NetworkBan]:
        """POST /network-bans/retrieve/enriched: addresses Postgres brute-force protection banned."""
        with self._lock:
            t = self._now()
            banned = [_STALE_BAN]
            tau = self.ctx.tau(t)
            if self.ctx.scenario == "security-breach" and tau is not None and tau >= sc.DB_AUTO_BAN_AT_S:
                banned.append(TAKEOVER_IP)
            return [NetworkBan(ip, PROJECT_REF) for ip in banned if ip not in self._network_bans_removed]

    def remove_network_ban(self, ip: str) -> ActionResult:
        """DELETE /network-bans {"ipv4_addresses": [ip]}: lifts an automatic ban."""
        with self._lock:
            if ip not in {b.banned_address for b in self.list_network_bans()}:
                raise DemoActionError(f"{ip} is not banned")
            t = self._record("remove_network_ban", ip)
            self._network_bans_removed.add(ip)
            return self._result("remove_network_ban", ip, f"network ban on {ip} removed", t)

    def add_network_ban(self, ip: str) -> ActionResult:
        """Always refused: the Management API has no verb to add a network ban (bans come only from
        Postgres brute-force protection). Say what to do instead."""
        raise DemoActionError(
            f"cannot ban {ip}: the Supabase API has no 'add network ban' verb; restrict database access with "
            "network restrictions (Postgres only), enable CAPTCHA and rate limits for Auth, or block it at your CDN/WAF"
        )

    def enable_captcha(self) -> ActionResult:
        """Auth config security_captcha_enabled: sign-ins need a CAPTCHA; credential-stuffing bots fail it and give up."""
        with self._lock:
            t = self._record("enable_captcha", "auth")
            return self._result("enable_captcha", "auth", "CAPTCHA required on sign-in, sign-up and password recovery", t)

    def list_api_keys(self) -> list[ApiKey]:
        """GET /api-keys (never revealed)."""
        with self._lock:
            return list(self._keys.values())

    def _initial_keys(self) -> dict[str, ApiKey]:
        made = datetime(2024, 11, 2, 9, 0, tzinfo=timezone.utc)
        return {
            "anon": ApiKey("5c6d7e8f-anon", "anon", "legacy", "eyJhbGciOi", "Legacy anon JWT", made, made),
            "service_role": ApiKey("6d7e8f90-svc", "service_role", "legacy", "eyJhbGciOi", "Legacy service_role JWT", made, made),
            "default": ApiKey("7e8f9012-pub", "default", "publishable", "sb_publishable_", "Web and mobile apps", made, made),
            "backend-jobs": ApiKey("8f901234-sec", "backend-jobs", "secret", "sb_secret_", "Workers and edge functions", made, made),
        }

    def rotate_api_key(self, name: str = "service_role") -> ActionResult:
        """Replace a key (new secret; the old one is revoked). For the legacy service_role key this means
        rotating the JWT secret; requests still using the old key get 401 "Invalid API key"."""
        with self._lock:
            if name not in self._keys:
                raise DemoActionError(f"no API key {name!r} (keys: {', '.join(self._keys)})")
            t = self._record("rotate_api_key", name)
            old = self._keys[name]
            new_id = f"{int(unit(self.seed, 'key/' + name, len(self.timeline)) * 0xFFFFFFFF):08x}-{name[:3]}"
            at = datetime.fromtimestamp(t, tz=timezone.utc)
            self._keys[name] = ApiKey(new_id, old.name, old.type, old.prefix, old.description, at, at)
            return self._result("rotate_api_key", name, f"{name} key rotated; clients must use the new key", t, key_id=new_id)
