"""A real HTTP server on 127.0.0.1 that answers like Supabase, for tests.

It serves the fixtures in tests/fixtures/supabase/ (copied from
../shared/fixtures/supabase, shapes per supabase-ops-api.md) on both the
Management API paths (/v1/...) and the project host's metrics endpoint, checks
the Bearer token / basic auth like Supabase, enforces the documented rate
limits per endpoint (120/min general, 30/min logs+usage, 429 with X-RateLimit-Reset) and
records every request so tests can assert headers, budgets and windows.

Programmable per path:
    fake.route(path, handler)              # replace the answer (handler(req) -> Reply)
    fake.fail(path, Reply(...), times=1)   # next answers are these faults, then normal
    fake.rate_limit(path, reset_s=2)       # 429 + X-RateLimit-Reset
    fake.server_error(path, 500)
    fake.delay(path, seconds)              # slower than the client's timeout
    fake.malformed(path)                   # 200 with garbage instead of JSON
    fake.analytics_error(path, form="object"|"string", status=200)
    fake.set_metrics(text1, text2, ...)    # successive scrapes (last one repeats)

Paths may contain `{ref}`. To answer logs SQL in both dialects, route
LOGS_ALL (BigQuery) and LOGS_CLICKHOUSE with your own handler; the default
LOGS_ALL handler validates the window, answers the console's edge_logs
aggregate (countif...) from `fake.edge_log_rows`, and otherwise picks a
fixture by table name.

Modes (`FakeSupabase(mode=...)`), for which logs endpoint exists:
    "self-hosted" (default)  only `logs.all` (BigQuery); `/logs` answers 404,
                             as self-hosted stacks and the local CLI do.
    "2026"                   the hosted platform since 2026-09-23: `logs.all` answers
                             `retired_status` (410, or 404) naming its removal; `/logs`
                             (ClickHouse) answers listings with the plain columns only,
                             attribute fetches (`log_attributes ... id in (...)`) and the
                             edge aggregate (countIf), from the same fixtures, and
                             refuses `select *` and `count(*)` like the platform.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "supabase"
REF = "csgnlprodabcdefghijk"
TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567"
SERVICE_KEY = "sb_secret_FAKEtestkey_0123456789abcdefABCDEF"

PROJECT = "/v1/projects/{ref}"
HEALTH = "/v1/projects/{ref}/health"
FUNCTIONS = "/v1/projects/{ref}/functions"
COMBINED_STATS = "/v1/projects/{ref}/analytics/endpoints/functions.combined-stats"
API_COUNTS = "/v1/projects/{ref}/analytics/endpoints/usage.api-counts"
API_REQUESTS_COUNT = "/v1/projects/{ref}/analytics/endpoints/usage.api-requests-count"
LOGS_ALL = "/v1/projects/{ref}/analytics/endpoints/logs.all"
LOGS_CLICKHOUSE = "/v1/projects/{ref}/analytics/endpoints/logs"
BACKUPS = "/v1/projects/{ref}/database/backups"
DISK_UTIL = "/v1/projects/{ref}/config/disk/util"
METRICS = "/customer/v1/privileged/metrics"

# What Supabase counts against 30/min (supabase-ops-api.md §1); the rest is 120/min.
_LOGS_CLASS = ("logs.all", "usage.api-counts", "usage.api-requests-count")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() when it arrived
    status: int = 0  # what the fake answered (filled in after)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None, delay_s: float = 0.0) -> "Reply":
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})}, delay_s)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; version=0.0.4") -> "Reply":
        return cls(status, text.encode(), {"Content-Type": content_type})


Handler = Callable[[RecordedRequest], Reply]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def logs_fixture_handler(req: RecordedRequest) -> Reply:
    """Default logs.all: validates the window like Supabase, answers by table name."""
    start, end = req.param("iso_timestamp_start"), req.param("iso_timestamp_end")
    if start and end:
        try:
            span = parse_iso(end) - parse_iso(start)
        except ValueError:
            return Reply.json({"result": [], "error": {"code": 400, "message": "invalid timestamp", "errors": [], "status": "INVALID_ARGUMENT"}}, 400)
        if span > timedelta(hours=24):
            return Reply.json({"result": [], "error": {"code": 400, "message": "Timestamp range exceeds 24 hours", "errors": [], "status": "INVALID_ARGUMENT"}}, 400)
    sql = (req.param("sql") or "select * from edge_logs").lower()
    for table, name in (("function_edge_logs", "logs_function_edge_logs.json"), ("function_logs", "logs_function_logs.json"), ("edge_logs", "logs_edge_logs.json")):
        if re.search(rf"\b{table}\b", sql):
            return Reply.json(fixture(name))
    return Reply.json({"result": [], "error": None})


_CH_ATTRIBUTE_KEYS = {
    # fixture field -> map key in the ClickHouse `logs` table (no `metadata.` root)
    "status_code": "response.status_code", "method": "request.method", "path": "request.path",
    "pathname": "request.pathname", "search": "request.search", "level": "level", "event_type": "event_type",
    "function_id": "function_id", "execution_id": "execution_id", "execution_time_ms": "execution_time_ms",
    "deployment_id": "deployment_id", "version": "version",
}


def clickhouse_rows() -> list[dict[str, Any]]:
    """The logs.all fixtures as rows of the ClickHouse `logs` table."""
    out: list[dict[str, Any]] = []
    for table in ("edge_logs", "function_logs", "function_edge_logs"):
        for row in fixture(f"logs_{table}.json")["result"]:
            at = datetime.fromtimestamp(row["timestamp"] / 1e6, tz=timezone.utc)
            attrs = {key: str(row[f]) for f, key in _CH_ATTRIBUTE_KEYS.items() if row.get(f) is not None}
            out.append({
                "id": row["id"], "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f"), "event_message": row["event_message"],
                "source": table, "severity_text": str(row.get("level") or "info").upper(), "log_attributes": attrs,
            })
    return out


def edge_aggregate(rows: list[dict[str, Any]], with_p95: bool) -> dict[str, Any]:
    """What the log store answers to the console's edge_logs aggregate query.

    rows carry `status_code`, `path`, `search` and optionally `origin_time` (ms);
    p95 is nearest-rank.
    """
    codes = [int(r.get("status_code") or 0) for r in rows]
    signin = [r.get("path") == "/auth/v1/token" and "grant_type=password" in (r.get("search") or "") for r in rows]
    out: dict[str, Any] = {
        "requests": len(rows),
        "errors_5xx": sum(1 for c in codes if c >= 500),
        "errors_4xx": sum(1 for c in codes if 400 <= c < 500),
        "auth_signins": sum(1 for c, s in zip(codes, signin) if s and c < 400),
        "auth_failures": sum(1 for c, s in zip(codes, signin) if s and 400 <= c < 500),
    }
    if with_p95:
        times = sorted(float(r["origin_time"]) for r in rows if r.get("origin_time") is not None)
        out["p95_ms"] = times[max(0, -(-95 * len(times) // 100) - 1)] if times else None
    return out


def prom_bump(text: str, metric: str, delta: float, **labels: str) -> str:
    """Add `delta` to every sample of `metric` whose labels include `labels` (a later scrape)."""
    out: list[str] = []
    line_re = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)(?P<rest>.*)$")
    for line in text.splitlines():
        m = line_re.match(line)
        if m and not line.startswith("#") and m.group("name") == metric:
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels") or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                value = float(m.group("value")) + delta
                line = f"{m.group('name')}{m.group('labels') or ''} {value!r}{m.group('rest')}"
        out.append(line)
    return "\n".join(out) + "\n"


def in_flight_at_once(client: Any) -> list[int]:
    """Record, on the client side, how many requests are out at once: after the call the
    list's max() says whether calls ran together or one after another (no timing needed)."""
    counts = [0]
    original = client._send

    async def send(*args: Any, **kwargs: Any) -> Any:
        counts.append(counts[-1] + 1)
        try:
            return await original(*args, **kwargs)
        finally:
            counts.append(counts[-1] - 1)

    client._send = send
    return counts


class FakeSupabase:
    """Management API + project metrics endpoint on one loopback port."""

    def __init__(
        self, *, ref: str = REF, token: str = TOKEN, service_key: str = SERVICE_KEY, enforce_limits: bool = True,
        mode: str = "self-hosted", retired_status: int = 410,
    ) -> None:
        if mode not in ("self-hosted", "2026"):
            raise ValueError(f"unknown fake mode {mode!r}")
        self.mode = mode
        self.retired_status = retired_status
        self.ref = ref
        self.token = token
        self.service_key = service_key
        self.enforce_limits = enforce_limits
        self.limits = {"general": 120, "logs": 30}
        self.requests: list[RecordedRequest] = []
        self._routes: dict[tuple[str, str], Handler] = {}
        self._faults: dict[tuple[str, str], deque[Reply]] = {}
        self._sticky: dict[tuple[str, str], Reply] = {}
        self._served: dict[str, deque[float]] = {}  # per endpoint path
        self._blocked_until: dict[str, float] = {}
        self._metrics_texts: list[str] = [fixture_text("metrics.prom")]
        # Rows the default logs.all handler aggregates (status_code, origin_time ms).
        self.edge_log_rows: list[dict[str, Any]] = list(fixture("logs_edge_logs.json")["result"])
        self._metrics_served = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._install_defaults()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "FakeSupabase":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeSupabase":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------ programming

    def _key(self, path: str, method: str) -> tuple[str, str]:
        return method.upper(), path.replace("{ref}", self.ref)

    def route(self, path: str, handler: Handler, method: str = "GET") -> None:
        with self._lock:
            self._routes[self._key(path, method)] = handler

    def fail(self, path: str, reply: Reply, *, times: int | None = 1, method: str = "GET") -> None:
        """The next `times` answers on path are `reply` (None: until clear_faults)."""
        key = self._key(path, method)
        with self._lock:
            if times is None:
                self._sticky[key] = reply
            else:
                self._faults.setdefault(key, deque()).extend([reply] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._sticky.clear()

    def rate_limit(self, path: str, reset_s: float = 2, *, times: int | None = 1) -> None:
        self.fail(path, Reply.json({"message": "Too many requests"}, 429, {"X-RateLimit-Reset": f"{reset_s:g}", "X-RateLimit-Remaining": "0"}), times=times)

    def server_error(self, path: str, status: int = 500, *, times: int | None = 1) -> None:
        self.fail(path, Reply.json({"message": "Internal server error"}, status), times=times)

    def delay(self, path: str, seconds: float, *, times: int | None = 1) -> None:
        """Answer normally, but only after `seconds` (use > the client's timeout)."""
        self.fail(path, Reply(status=-1, delay_s=seconds), times=times)

    def malformed(self, path: str, *, times: int | None = 1) -> None:
        self.fail(path, Reply(200, b'{"result": [{"oops": ', {"Content-Type": "application/json"}), times=times)

    def analytics_error(self, path: str, *, form: str = "object", status: int = 200, times: int | None = 1) -> None:
        error: Any = fixture("logs_error.json")["error"] if form == "object" else "Unrecognized name: levle at [1:42]"
        self.fail(path, Reply.json({"result": [], "error": error}, status), times=times)

    def set_metrics(self, *texts: str) -> None:
        """Successive scrapes of the metrics endpoint answer these (the last repeats)."""
        with self._lock:
            self._metrics_texts = list(texts)
            self._metrics_served = 0

    # ------------------------------------------------------------ inspection

    def requests_to(self, path: str) -> list[RecordedRequest]:
        target = path.replace("{ref}", self.ref)
        with self._lock:
            return [r for r in self.requests if r.path == target]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def serve_recorded(self) -> list[str]:
        """Answer from responses recorded off the real API (supabase/cli e2e recordings,
        fixtures/supabase/recorded_responses.json) where one exists; returns the routes."""
        served = []
        for key, rec in fixture("recorded_responses.json").items():
            method, path = key.split(" ", 1)
            reply = Reply(rec["status"], json.dumps(rec["body"]).encode(), dict(rec["headers"]))
            self.route(path, lambda req, reply=reply: reply, method=method)
            served.append(key)
        return served

    # ------------------------------------------------------------ defaults

    def _install_defaults(self) -> None:
        def static(name: str, status: int = 200) -> Handler:
            return lambda req: Reply.json(fixture(name), status)

        self.route(PROJECT, static("project.json"))
        self.route(HEALTH, self._health)
        self.route(FUNCTIONS, static("functions_list.json"))
        self.route(COMBINED_STATS, self._combined_stats)
        self.route(API_COUNTS, static("usage_api_counts.json"))
        self.route(API_REQUESTS_COUNT, lambda req: Reply.json({"result": [{"count": 42015}]}))
        if self.mode == "2026":
            gone = {"message": "analytics/endpoints/logs.all has been deprecated and removed; use analytics/endpoints/logs"}
            self.route(LOGS_ALL, lambda req: Reply.json(gone, self.retired_status))
            self.route(LOGS_CLICKHOUSE, self._logs_clickhouse)
        else:
            self.route(LOGS_ALL, self._logs_all)
            self.route(LOGS_CLICKHOUSE, lambda req: Reply.json({"message": "Not Found"}, 404))
        self.route(BACKUPS, static("backups_list.json"))
        self.route(DISK_UTIL, static("disk_util.json"))
        self.route(METRICS, self._metrics)

    def _logs_all(self, req: RecordedRequest) -> Reply:
        """Aggregates over `edge_log_rows` for count queries on edge_logs, else fixtures."""
        sql = (req.param("sql") or "").lower()
        if "edge_logs" in sql and "countif(" in sql:
            window = logs_fixture_handler(req)  # same window validation
            if window.status != 200:
                return window
            return Reply.json({"result": [edge_aggregate(self.edge_log_rows, "p95_ms" in sql)], "error": None})
        return logs_fixture_handler(req)

    def _logs_clickhouse(self, req: RecordedRequest) -> Reply:
        """The ClickHouse `/logs` endpoint over the fixtures (mode "2026")."""
        window = logs_fixture_handler(RecordedRequest(req.method, req.path, {k: v for k, v in req.query.items() if k != "sql"}, req.headers, b"", req.at))
        if window.status != 200:
            return window
        sql = req.param("sql") or ""
        low = sql.lower()
        if re.search(r"select\s+\*|count\(\s*\*\s*\)", low):
            return Reply.json({"result": [], "error": {"code": 400, "message": "select * and count(*) are not allowed", "errors": [], "status": "INVALID_ARGUMENT"}}, 400)
        if "countif(" in low and "edge_logs" in low:
            return Reply.json({"result": [edge_aggregate(self.edge_log_rows, "p95_ms" in low)], "error": None})
        rows = clickhouse_rows()
        if re.search(r"select id, log_attributes from logs", low):
            m = re.search(r"\bid in \(([^)]*)\)", sql)
            ids = set(re.findall(r"'([^']+)'", m.group(1))) if m else set()
            return Reply.json({"result": [{"id": r["id"], "log_attributes": r["log_attributes"]} for r in rows if r["id"] in ids], "error": None})
        where = low.split(" from logs where ", 1)[1] if " from logs where " in low else ""
        tables = set(re.findall(r"'(\w+_logs)'", where))
        limit = re.search(r"limit (\d+)\s*$", low)
        hits = sorted((r for r in rows if r["source"] in tables), key=lambda r: r["timestamp"], reverse=True)[: int(limit.group(1)) if limit else 100]
        # Plain columns only, whatever the select list says: a listing never carries the map.
        plain = [{"id": r["id"], "timestamp": r["timestamp"], "event_message": r["event_message"], "source": r["source"], "level": r["severity_text"]} for r in hits]
        return Reply.json({"result": plain, "error": None})

    def _health(self, req: RecordedRequest) -> Reply:
        wanted = set(req.query.get("services", []))
        if not wanted:
            return Reply.json({"message": "services is required"}, 400)
        return Reply.json([s for s in fixture("health.json") if s["name"] in wanted])

    def _combined_stats(self, req: RecordedRequest) -> Reply:
        if not req.param("function_id") or req.param("interval") not in ("15min", "1hr", "3hr", "1day"):
            return Reply.json({"message": "function_id and interval are required"}, 400)
        return Reply.json(fixture("functions_combined_stats.json"))

    def _metrics(self, req: RecordedRequest) -> Reply:
        with self._lock:
            text = self._metrics_texts[min(self._metrics_served, len(self._metrics_texts) - 1)]
            self._metrics_served += 1
        return Reply.text(text)

    # ------------------------------------------------------------ serving

    def _authorized(self, req: RecordedRequest) -> bool:
        auth = req.headers.get("authorization", "")
        if req.path.startswith("/v1/"):
            return auth == f"Bearer {self.token}"
        if req.path == METRICS:
            expected = "Basic " + base64.b64encode(f"service_role:{self.service_key}".encode()).decode()
            return auth == expected
        return True

    def _limit_class(self, path: str) -> str | None:
        if not path.startswith("/v1/"):
            return None
        return "logs" if path.rsplit("/", 1)[-1] in _LOGS_CLASS or path.endswith("/analytics/endpoints/logs") else "general"

    def _rate_check(self, path: str, now: float) -> Reply | None:
        """Supabase's own limit: over it, 429 for the rest of the minute."""
        cls = self._limit_class(path)
        if cls is None or not self.enforce_limits:
            return None
        # Counted per endpoint, as the platform does, with its class's limit.
        served = self._served.setdefault(path, deque())
        while served and served[0] <= now - 60.0:
            served.popleft()
        if now < self._blocked_until.get(path, 0.0) or len(served) >= self.limits[cls]:
            reset = max(self._blocked_until.get(path, 0.0) - now, (served[0] + 60.0 - now) if served else 0.0)
            self._blocked_until[path] = now + reset
            return Reply.json({"message": "Too many requests"}, 429, {"X-RateLimit-Reset": f"{max(1, round(reset))}", "X-RateLimit-Remaining": "0"})
        served.append(now)
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = RecordedRequest(
            h.command, split.path, parse_qs(split.query, keep_blank_values=True),
            {k.lower(): v for k, v in h.headers.items()}, body, time.monotonic(),
        )
        key = (h.command, split.path)
        with self._lock:
            queued = self._faults.get(key)
            fault = queued.popleft() if queued else self._sticky.get(key)
            handler = self._routes.get(key)
            limited = None if fault is not None and fault.status != -1 else self._rate_check(split.path, req.at)
        if fault is not None and fault.status != -1:
            reply = fault
        elif limited is not None:
            reply = limited
        elif not self._authorized(req):
            reply = Reply.json({"message": "Unauthorized"}, 401, {"WWW-Authenticate": "Bearer" if split.path.startswith("/v1/") else "Basic"})
        elif handler is None:
            reply = Reply.json({"message": "Not Found"}, 404)
        else:
            try:
                reply = handler(req)
            except Exception as exc:  # a broken test handler shows as a 500, not a hang
                reply = Reply.json({"message": f"fake handler failed: {exc!r}"}, 500)
        delay = fault.delay_s if fault is not None and fault.status == -1 else reply.delay_s
        with self._lock:
            self.requests.append(RecordedRequest(req.method, req.path, req.query, req.headers, req.body, req.at, reply.status))
        if delay and self._stopping.wait(delay):
            return
        try:
            h.send_response(reply.status)
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(reply.body)))
            h.end_headers()
            h.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): that is the point

    # ------------------------------------------------------------ convenience

    def client(self, **overrides: Any):
        """A SupabaseClient pointed at this fake (both base URLs)."""
        from cs_console.backends.supabase.http_client import SupabaseClient

        kwargs: dict[str, Any] = dict(
            project_ref=self.ref, access_token=self.token, service_role_key=self.service_key,
            management_url=self.url, project_url=self.url, timeout_s=2.0,
        )
        kwargs.update(overrides)
        return SupabaseClient(**kwargs)


def main() -> None:
    """`python -m tests.fake_supabase`: run the fake by hand (prints the URL, token, key)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args()
    with FakeSupabase() as fake:
        print(f"url={fake.url} ref={fake.ref}\ntoken={fake.token}\nservice_key={fake.service_key}", flush=True)
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
