"""Async client for the Supabase Management API and the project metrics endpoint.

One client per environment, shared by the metrics source, the health probe
and the log sources, so they all draw on one RateBudget. Every request has a
total deadline (httpx's timeouts are per phase; a server trickling bytes
would otherwise hold a poll forever) and every failure is a SupabaseError
with one secret-free line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx

from cs_console.backends.supabase.errors import (
    AnalyticsError,
    BadResponse,
    ClientError,
    Forbidden,
    NotConfigured,
    RateLimited,
    ServerError,
    SupabaseError,
    Timeout,
    Unauthorized,
    Unreachable,
    safe_detail,
)
from cs_console.backends.supabase.rate_budget import (
    DEGRADED_LOGS_PER_MIN,
    BudgetExhausted,
    EndpointClass,
    Priority,
    RateBudget,
    bucket_for,
    classify,
)

if TYPE_CHECKING:
    from cs_console.config import Profile

LogDialect = Literal["bigquery", "clickhouse"]
MAX_LOG_WINDOW = timedelta(hours=24)
HEALTH_SERVICES: tuple[str, ...] = ("auth", "rest", "storage", "realtime", "db")
# Per request, total. The monitor gives a whole collect() 8 s; a health call adds
# the server-side timeout_ms (2 s) on top of this, and still fits.
DEFAULT_TIMEOUT_S = 5.0
# When Supabase sends 429 without X-RateLimit-Reset, the limit resets within the minute.
DEFAULT_RESET_S = 60.0


def iso_utc(at: datetime) -> str:
    """The timestamp form the logs endpoints take: 2026-06-10T09:00:00.000Z."""
    if at.tzinfo is None:
        raise ValueError("log window timestamps must be timezone-aware")
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_log_window(start: datetime, end: datetime) -> None:
    """Supabase rejects windows over 24 h; catch it before spending budget."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("log window timestamps must be timezone-aware")
    if end <= start:
        raise ValueError(f"log window end {iso_utc(end)} is not after start {iso_utc(start)}")
    if end - start > MAX_LOG_WINDOW:
        raise ValueError(f"log window {end - start} is longer than 24 h (split it)")


@dataclass(frozen=True, slots=True)
class CallInfo:
    """Timing of the last request to a path, for latency figures in health output."""

    path: str
    latency_ms: float
    status: int | None
    at: float  # time.monotonic()


class SupabaseClient:
    """Management API (Bearer token) and project host (metrics endpoint, basic auth)."""

    def __init__(
        self,
        *,
        project_ref: str,
        access_token: str | None,
        service_role_key: str | None = None,
        management_url: str = "https://api.supabase.com",
        project_url: str | None = None,
        budget: RateBudget | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        access_token_env: str = "SUPABASE_ACCESS_TOKEN",
        service_role_key_env: str = "SUPABASE_SERVICE_ROLE_KEY",
        log_dialect: str = "auto",
    ) -> None:
        self.project_ref = project_ref
        self.management_url = management_url.rstrip("/")
        self.project_url = (project_url or f"https://{project_ref}.supabase.co").rstrip("/")
        self.budget = budget if budget is not None else RateBudget()
        self.timeout_s = timeout_s
        self.access_token_env = access_token_env
        self.service_role_key_env = service_role_key_env
        # "auto" until a logs query tells us which dialect the project speaks.
        self.log_dialect: str = log_dialect
        self._token = access_token or None
        self._service_key = service_role_key or None
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self.last_calls: dict[str, CallInfo] = {}
        self._early_429: dict[str, float] = {}  # bucket -> when a 429 came before our count was spent

    @classmethod
    def from_profile(cls, profile: "Profile", *, budget: RateBudget | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> "SupabaseClient":
        return cls(
            project_ref=profile.project_ref,
            access_token=profile.secret("access_token_env"),
            service_role_key=profile.secret("service_role_key_env"),
            management_url=profile.management_api_url,
            project_url=profile.resolved_project_url,
            budget=budget,
            timeout_s=timeout_s,
            access_token_env=profile.access_token_env,
            service_role_key_env=profile.service_role_key_env,
            log_dialect=profile.log_dialect,
        )

    @property
    def has_token(self) -> bool:
        return self._token is not None

    @property
    def has_service_key(self) -> bool:
        return self._service_key is not None

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._token, self._service_key)

    # ------------------------------------------------------------ transport

    def _client(self) -> httpx.AsyncClient:
        # An AsyncClient belongs to the loop it first ran on; the CLI and the
        # tests may run several loops in one process, so re-create per loop.
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s),
                follow_redirects=False,
                headers={"User-Agent": "cs-console", "Accept": "application/json"},
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            )
            self._http_loop = loop
            # httpcore imports its async backend on the first request; do it here so
            # that one-time cost is not reported as the first call's latency.
            import anyio.abc  # noqa: F401
            import anyio._backends._asyncio  # noqa: F401
            import anyio.streams.tls  # noqa: F401
        return self._http

    async def aclose(self) -> None:
        """Idempotent; a later request opens a fresh connection pool."""
        http, self._http, self._http_loop = self._http, None, None
        if http is not None and not http.is_closed:
            try:
                await http.aclose()
            except RuntimeError:  # closed from another loop than it ran on
                pass

    async def _send(
        self,
        method: str,
        url: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None,
        headers: dict[str, str],
        auth: httpx.BasicAuth | None = None,
        json_body: Any = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        deadline = timeout_s if timeout_s is not None else self.timeout_s
        http = self._client()  # built before the clock starts: its TLS setup is not latency
        started = time.monotonic()
        status: int | None = None
        try:
            async with asyncio.timeout(deadline):
                response = await http.request(
                    method, url, params=params, headers=headers, auth=auth, json=json_body,
                    timeout=httpx.Timeout(deadline),
                )
                status = response.status_code
                return response
        except (TimeoutError, httpx.TimeoutException):
            raise Timeout(f"{path}: no answer within {deadline:g}s") from None
        except httpx.TransportError as exc:
            raise Unreachable(f"{path}: cannot reach {httpx.URL(url).host}: {safe_detail(type(exc).__name__ + ' ' + str(exc), self._secrets())}") from None
        finally:
            self.last_calls[path] = CallInfo(path, (time.monotonic() - started) * 1000.0, status, time.monotonic())

    def _raise_for_status(self, response: httpx.Response, path: str, cls: EndpointClass | str | None) -> None:
        code = response.status_code
        if code < 400:
            return
        detail = _server_message(response)
        suffix = f": {safe_detail(detail, self._secrets())}" if detail else ""
        if code == 401:
            raise Unauthorized(f"{path}: 401 unauthorized (check the token in ${self.access_token_env if cls else self.service_role_key_env}){suffix}")
        if code == 403:
            raise Forbidden(f"{path}: 403 forbidden (the token lacks the permission){suffix}")
        if code == 429:
            reset = _reset_seconds(response)
            if cls is not None:
                self._note_quota(response, cls, refused=True)
                self.budget.block(cls, reset)
            raise RateLimited(f"{path}: 429 rate limited, retry in {reset:.0f}s", reset)
        if code >= 500:
            raise ServerError(f"{path}: {code} server error{suffix}", code)
        if _has_analytics_error(response, code):
            # Bad SQL or window: the same failure Supabase may also send with 200.
            raise AnalyticsError(f"{path}: {safe_detail(detail, self._secrets())}", code)
        raise ClientError(f"{path}: {code}{suffix}", code)

    def _note_quota(self, response: httpx.Response, bucket: str, *, refused: bool) -> None:
        """A degraded logs quota (about 10/min for accounts over it): lower our own
        count to it, from X-RateLimit-Limit, or from a 429 that came while our
        count still had room (someone lowered the limit)."""
        if classify(bucket) is not EndpointClass.LOGS:
            return
        raw = response.headers.get("X-RateLimit-Limit", "").strip()
        if raw.isdigit() and int(raw) > 0:
            full = self.budget.class_limit(EndpointClass.LOGS).per_window
            self.budget.set_limit(bucket, int(raw) if int(raw) < full else None)
            return
        if refused and not self.budget.degraded(bucket) and self.budget.spent_in_window(bucket) < self.budget.limit(bucket).per_window:
            # One 429 may be another tool on the same token; a second within the minute
            # while our own count has room means the quota itself is lower.
            now = time.monotonic()
            previous = self._early_429.get(bucket)
            self._early_429[bucket] = now
            if previous is not None and now - previous < 60.0:
                self.budget.set_limit(bucket, DEGRADED_LOGS_PER_MIN)

    @staticmethod
    def _parse_json(response: httpx.Response, path: str) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            ctype = response.headers.get("content-type", "?").split(";")[0]
            raise BadResponse(f"{path}: answer is not JSON ({ctype}, {len(response.content)} bytes)") from None

    # ------------------------------------------------------------ Management API

    async def management(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        json_body: Any = None,
        priority: Priority = Priority.HIGH,
        timeout_s: float | None = None,
    ) -> Any:
        """One Management API call through the budget; returns parsed JSON.

        `path` may contain `{ref}`. Raises a SupabaseError subclass; the
        budget refusing to send is RateLimited(local=True).
        """
        path = path.replace("{ref}", self.project_ref)
        label = short_path(path)
        if self._token is None:
            raise NotConfigured(f"no Management API token: set ${self.access_token_env}")
        cls = bucket_for(path)  # Supabase counts per endpoint
        try:
            self.budget.spend(cls, priority)
        except BudgetExhausted as exc:
            raise RateLimited(f"{label}: {exc}", exc.wait_s, local=True) from None
        response = await self._send(
            method, self.management_url + path, label, params=params, json_body=json_body,
            headers={"Authorization": f"Bearer {self._token}"}, timeout_s=timeout_s,
        )
        self._raise_for_status(response, label, cls)
        self._note_quota(response, cls, refused=False)
        if response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            # Every PAT of the user shares Supabase's count: another tool may have
            # spent it. Stop before the next call earns a 429.
            self.budget.block(cls, _reset_seconds(response))
        return self._parse_json(response, label)

    async def analytics(self, endpoint: str, params: Sequence[tuple[str, str]] | Mapping[str, str], *, priority: Priority = Priority.HIGH, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """An `/analytics/endpoints/<endpoint>` call: the `result` rows, or AnalyticsError."""
        path = f"/v1/projects/{{ref}}/analytics/endpoints/{endpoint}"
        body = await self.management("GET", path, params=params, priority=priority, timeout_s=timeout_s)
        return self._analytics_rows(body, short_path(path))

    def _analytics_rows(self, body: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(body, dict):
            raise BadResponse(f"{path}: expected an object with `result`, got {type(body).__name__}")
        error = body.get("error")
        if error:
            raise AnalyticsError(f"{path}: {safe_detail(_analytics_error_text(error), self._secrets())}", 200)
        result = body.get("result", [])
        if result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
            raise BadResponse(f"{path}: `result` is not a list of rows")
        return result

    async def project(self, *, priority: Priority = Priority.HIGH) -> dict[str, Any]:
        body = await self.management("GET", "/v1/projects/{ref}", priority=priority)
        return _expect_dict(body, "project", ("status",))

    async def health(self, services: Sequence[str] = HEALTH_SERVICES, *, timeout_ms: int = 2000) -> list[dict[str, Any]]:
        params = [("services", s) for s in services] + [("timeout_ms", str(timeout_ms))]
        # The server waits up to timeout_ms for each service; give the HTTP call room for that.
        body = await self.management("GET", "/v1/projects/{ref}/health", params=params, timeout_s=self.timeout_s + timeout_ms / 1000.0)
        return _expect_list_of_dicts(body, "health", ("name", "status"))

    async def functions(self, *, priority: Priority = Priority.HIGH) -> list[dict[str, Any]]:
        body = await self.management("GET", "/v1/projects/{ref}/functions", priority=priority)
        return _expect_list_of_dicts(body, "functions", ("id", "slug", "status"))

    async def function_stats(self, function_id: str, interval: str = "1hr", *, priority: Priority = Priority.LOW) -> list[dict[str, Any]]:
        return await self.analytics("functions.combined-stats", {"interval": interval, "function_id": function_id}, priority=priority)

    async def api_counts(self, interval: str = "1hr", *, priority: Priority = Priority.LOW) -> list[dict[str, Any]]:
        return await self.analytics("usage.api-counts", {"interval": interval}, priority=priority)

    async def backups(self) -> dict[str, Any]:
        body = await self.management("GET", "/v1/projects/{ref}/database/backups", priority=Priority.LOW)
        out = _expect_dict(body, "database/backups", ("backups",))
        if not isinstance(out["backups"], list):
            raise BadResponse("database/backups: `backups` is not a list")
        return out

    async def disk_util(self) -> dict[str, Any]:
        body = await self.management("GET", "/v1/projects/{ref}/config/disk/util", priority=Priority.LOW)
        out = _expect_dict(body, "config/disk/util", ("metrics",))
        if not isinstance(out["metrics"], dict):
            raise BadResponse("config/disk/util: `metrics` is not an object")
        return out

    async def query_logs(
        self,
        sql: str,
        start: datetime,
        end: datetime,
        *,
        dialect: LogDialect | None = None,
        priority: Priority = Priority.HIGH,
    ) -> list[dict[str, Any]]:
        """Run SQL over the log store for [start, end] (at most 24 h).

        dialect "bigquery" → `logs.all` (per-source tables, timestamps in µs;
        removed from the platform on 2026-09-23, still served by self-hosted
        and the local CLI stack); "clickhouse" → `/logs` (one `logs` table).
        None uses `self.log_dialect`, and "auto" there means clickhouse.
        Raises ValueError for a bad window (nothing is sent), else SupabaseError.
        """
        check_log_window(start, end)
        chosen = dialect or (self.log_dialect if self.log_dialect in ("bigquery", "clickhouse") else "clickhouse")
        endpoint = "logs.all" if chosen == "bigquery" else "logs"
        params = {"sql": sql, "iso_timestamp_start": iso_utc(start), "iso_timestamp_end": iso_utc(end)}
        return await self.analytics(endpoint, params, priority=priority)

    # ------------------------------------------------------------ project host

    async def metrics_text(self) -> str:
        """The project's Prometheus metrics (basic auth service_role:<secret key>)."""
        path = "/customer/v1/privileged/metrics"
        label = "metrics endpoint"
        if self._service_key is None:
            raise NotConfigured(f"no service role key: set ${self.service_role_key_env}")
        response = await self._send(
            "GET", self.project_url + path, label, params=None,
            headers={"Accept": "text/plain"}, auth=httpx.BasicAuth("service_role", self._service_key),
        )
        self._raise_for_status(response, label, None)
        try:
            text = response.content.decode("utf-8")
        except UnicodeDecodeError:
            raise BadResponse(f"{label}: metrics are not UTF-8 text") from None
        return text

    def latency_ms(self, label: str) -> float | None:
        """Latency of the last call to `label` (short_path form: "health", "functions")."""
        info = self.last_calls.get(label)
        return None if info is None else round(info.latency_ms, 1)


# ---------------------------------------------------------------- helpers


def short_path(path: str) -> str:
    """`/v1/projects/<ref>/analytics/endpoints/logs.all` -> `logs.all`, for one-line messages."""
    bare = path.split("?", 1)[0]
    parts = bare.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "v1" and parts[1] == "projects":
        rest = parts[3:]
        if rest[:2] == ["analytics", "endpoints"]:
            rest = rest[2:]
        return "/".join(rest) or "project"
    return bare


def _has_analytics_error(response: httpx.Response, code: int) -> bool:
    """A 4xx carrying an AnalyticsResponse error (bad SQL, window too long)."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and bool(body.get("error")) and (code == 400 or "result" in body)


def _reset_seconds(response: httpx.Response, *, now: float | None = None) -> float:
    raw = (response.headers.get("X-RateLimit-Reset") or response.headers.get("Retry-After") or "").strip()
    try:
        value = float(raw)
    except ValueError:
        # RFC 9110 also allows Retry-After as an HTTP date ("Wed, 02 Dec 2026 10:00:30 GMT").
        at = _http_date(raw)
        if at is None:
            return DEFAULT_RESET_S
        value = at - (time.time() if now is None else now)
        return min(max(value, 0.0), 3600.0)
    # Documented as seconds; an epoch timestamp would be absurdly large: treat as absolute.
    if value > 10 * 365 * 86400:
        value = value - time.time()
    return min(max(value, 0.0), 3600.0)


def _http_date(raw: str) -> float | None:
    """Epoch seconds of an HTTP date, or None when `raw` is not one."""
    if not raw:
        return None
    try:
        at = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if at is None:
        return None
    if at.tzinfo is None:  # HTTP dates are GMT by definition
        at = at.replace(tzinfo=timezone.utc)
    return at.timestamp()


def _server_message(response: httpx.Response) -> str:
    """The server's own explanation, if its body has one (shape UNCONFIRMED)."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(body, dict):
        if body.get("error"):
            return _analytics_error_text(body["error"])
        for key in ("message", "msg", "error_description"):
            if isinstance(body.get(key), str):
                return body[key]
    return ""


def _analytics_error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
        errors = error.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("message"):
            return str(errors[0]["message"])
        return f"analytics error {error.get('status') or error.get('code') or ''}".strip()
    return f"analytics error: {str(error)[:80]}"


def _expect_dict(body: Any, path: str, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadResponse(f"{path}: expected an object, got {type(body).__name__}")
    missing = [k for k in keys if k not in body]
    if missing:
        raise BadResponse(f"{path}: answer lacks {', '.join(missing)}")
    return body


def _expect_list_of_dicts(body: Any, path: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise BadResponse(f"{path}: expected a list, got {type(body).__name__}")
    for item in body:
        if not isinstance(item, dict):
            raise BadResponse(f"{path}: expected a list of objects")
        missing = [k for k in keys if k not in item]
        if missing:
            raise BadResponse(f"{path}: an item lacks {', '.join(missing)}")
    return body


__all__ = [
    "AnalyticsError", "BadResponse", "ClientError", "Forbidden", "NotConfigured", "RateLimited",
    "ServerError", "SupabaseClient", "SupabaseError", "Timeout", "Unauthorized", "Unreachable",
    "check_log_window", "iso_utc", "HEALTH_SERVICES", "MAX_LOG_WINDOW",
]
