"""Contract tests: every request the console can send, checked against the platform's spec.

The client's requests are captured as the loopback fake receives them (not as
we think we build them); the runbooks' HTTP steps are rendered with the real
template engine. Each is checked against tests/fixtures/supabase/openapi.json
(Management API, from supabase/cli), auth_admin_openapi.json (supabase/auth)
or logs_endpoint_supplement.json (the ClickHouse logs endpoint the cli spec
snapshot lacks). See tests/fixtures/supabase/README.md for versions.
"""

from __future__ import annotations

import glob
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from cs_console.backends.executors.http import HttpExecutor
from cs_console.backends.supabase.edge_aggregates import Variant, parse_totals
from cs_console.backends.supabase.errors import SupabaseError
from cs_console.backends.supabase.http_client import _reset_seconds
from cs_console.domain.runbooks.calls import HttpCall
from cs_console.domain.runbooks.templates import TemplateError, render_value
from cs_console.domain.supabase_log_rows import parse_supabase_row, supabase_level
from cs_console.domain.log_record import Level
from cs_console.domain.supabase_names import api_key_name_problem, normalise_api_key_name
from tests.fake_supabase import REF, FakeSupabase
from tests.openapi_check import Checker, find_operation, load

FIXTURES = Path(__file__).parent / "fixtures" / "supabase"
RUNBOOKS = Path(__file__).parent.parent / "cs_console" / "runbooks"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def management() -> Checker:
    spec = load(str(FIXTURES / "openapi.json"))
    extra = load(str(FIXTURES / "logs_endpoint_supplement.json"))
    spec["paths"].update(extra["paths"])
    return Checker(spec)


@pytest.fixture(scope="module")
def auth_admin() -> Checker:
    return Checker(load(str(FIXTURES / "auth_admin_openapi.json")))


# ------------------------------------------------------------------ the checker itself can fail


def test_checker_refuses_what_the_platform_would(management: Checker) -> None:
    base = f"/v1/projects/{REF}"
    assert management.request("GET", f"{base}/health", {"services": ["auth"]}) == []
    assert any("required query parameter `services`" in p for p in management.request("GET", f"{base}/health", {}))
    assert any("not one of" in p for p in management.request("GET", f"{base}/health", {"services": ["postgres"]}))
    assert any("maximum" in p for p in management.request("GET", f"{base}/health", {"services": ["db"], "timeout_ms": ["20000"]}))
    assert any("does not match" in p for p in management.request("GET", "/v1/projects/CSGNL-prod-abcdefghij/health", {"services": ["db"]}))
    assert any("not one of" in p for p in management.request(
        "GET", f"{base}/analytics/endpoints/functions.combined-stats", {"interval": ["2hr"], "function_id": ["x"]}))
    bad_name = management.request("POST", f"{base}/api-keys", {}, {"type": "secret", "name": "backend-jobs_20261202"})
    assert any("does not match ^[a-z_][a-z0-9_]+$" in p for p in bad_name)
    assert any("`type`" in p for p in management.request("POST", f"{base}/api-keys", {}, {"name": "backend_jobs"}))
    assert any("expected an integer" in p for p in management.request(
        "POST", f"{base}/database/backups/restore-pitr", {}, {"recovery_time_target_unix": "1764666000"}))
    assert any("no such operation" in p for p in management.request("GET", f"{base}/analytics/endpoints/logs.everything", {}))
    assert any("not in the spec" in p for p in management.request("GET", f"{base}/functions", {"limit": ["5"]}))


# ------------------------------------------------------------------ what the client really sends


async def _exercise_client(fake: FakeSupabase) -> None:
    client = fake.client()
    try:
        await client.project()
        await client.health()
        functions = await client.functions()
        for fn in functions:
            await client.function_stats(str(fn["id"]), "1hr")
        await client.api_counts("1hr")
        await client.backups()
        await client.disk_util()
        for dialect in ("bigquery", "clickhouse"):
            for variant in (Variant(dialect, True), Variant(dialect, False)):
                try:
                    await client.query_logs(variant.sql, NOW - timedelta(minutes=5), NOW, dialect=dialect)  # type: ignore[arg-type]
                except SupabaseError:
                    pass  # the fake's default 404 for /logs: the request was still sent and captured
        await client.metrics_text()
    finally:
        await client.aclose()


async def test_every_client_request_fits_the_spec(fake_supabase: FakeSupabase, management: Checker) -> None:
    await _exercise_client(fake_supabase)
    sent = [r for r in fake_supabase.requests if r.path.startswith("/v1/")]
    operations = set()
    problems: list[str] = []
    for r in sent:
        found = find_operation(management.spec, r.method, r.path)
        if found:
            operations.add((r.method, found[0]))
        problems += management.request(r.method, r.path, r.query, r.body)
    assert problems == []
    # Every kind of request the monitor makes was seen (a client method that stopped sending would hide here).
    expected = {
        ("GET", "/v1/projects/{ref}"), ("GET", "/v1/projects/{ref}/health"), ("GET", "/v1/projects/{ref}/functions"),
        ("GET", "/v1/projects/{ref}/analytics/endpoints/functions.combined-stats"),
        ("GET", "/v1/projects/{ref}/analytics/endpoints/usage.api-counts"),
        ("GET", "/v1/projects/{ref}/database/backups"), ("GET", "/v1/projects/{ref}/config/disk/util"),
        ("GET", "/v1/projects/{ref}/analytics/endpoints/logs.all"), ("GET", "/v1/projects/{ref}/analytics/endpoints/logs"),
    }
    assert expected <= operations
    metrics = [r for r in fake_supabase.requests if r.path == "/customer/v1/privileged/metrics"]
    assert metrics and metrics[0].method == "GET" and metrics[0].headers.get("authorization", "").startswith("Basic ")


# ------------------------------------------------------------------ runbook HTTP steps


def _context() -> dict[str, Any]:
    return {
        "profile": {"management_api_url": "https://api.supabase.com", "project_ref": REF,
                    "project_url": f"https://{REF}.supabase.co"},
        "secret": {"access_token": "sbp_x", "service_role_key": "eyJhbGciOiJIUzI1NiJ9.e30.x"},
        "user": {"id": "5f0c7a5e-2f4b-4c8e-9d53-1b7a3c2d9e10"},
        "key_id": "8f901234-5678-4abc-9def-0123456789ab",
        "key_name": "backend-jobs",  # as the demo and an operator type it: normalised before the call
        "now": {"date": "20261202"},
        "ban_duration": "876000h",
        "captcha_secret": "0x0000000000000000000000000000000000000000",
        "target_unix": 1764666000,
    }


def _http_requests() -> list[tuple[str, str, str, Any]]:
    out = []
    for path in sorted(glob.glob(str(RUNBOOKS / "*.toml"))):
        book = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        for step in book.get("steps", []):
            parts = [step] + ([step["verify"]] if isinstance(step.get("verify"), dict) else [])
            for part in parts:
                url = part.get("url")
                if not isinstance(url, str) or "status.supabase.com" in url:
                    continue
                out.append((f"{Path(path).stem}.{step['id']}", part.get("method", "GET"), url, part.get("json")))
    return out


def test_runbook_http_steps_fit_the_specs(management: Checker, auth_admin: Checker) -> None:
    ctx = _context()
    seen: set[tuple[str, str]] = set()
    problems: list[str] = []
    requests = _http_requests()
    assert len(requests) >= 10
    for where, method, url_t, body_t in requests:
        url = render_value(url_t, ctx)
        body = render_value(body_t, ctx) if body_t is not None else None
        checker, base = (auth_admin, "") if "/auth/v1/" in url else (management, "")
        got = checker.url(method, url, body, base=base)
        problems += [f"{where}: {p}" for p in got]
        found = find_operation(checker.spec, method, httpx.URL(url).path)
        if found:
            seen.add((method, found[0]))
    assert problems == []
    for op in [("POST", "/v1/projects/{ref}/api-keys"), ("DELETE", "/v1/projects/{ref}/api-keys/{id}"),
               ("PATCH", "/v1/projects/{ref}/config/auth"), ("POST", "/v1/projects/{ref}/database/backups/restore-pitr"),
               ("POST", "/v1/projects/{ref}/network-bans/retrieve/enriched"), ("PUT", "/auth/v1/admin/users/{userId}")]:
        assert op in seen, op


def test_the_new_key_name_is_normalised_and_fits(management: Checker) -> None:
    ctx = _context()
    [(_, method, url, body)] = [r for r in _http_requests() if r[0].endswith(".new_key")]
    rendered = render_value(body, ctx)
    assert rendered["name"] == "backend_jobs_20261202"
    assert management.url(method, render_value(url, ctx), rendered) == []
    # A name with nothing usable left is refused before any call, with the rule it breaks.
    with pytest.raises(TemplateError, match="is empty"):
        render_value(body, {**ctx, "key_name": "  "})
    with pytest.raises(ValueError, match="4-64 characters"):
        normalise_api_key_name("ab")


@pytest.mark.parametrize("raw, normal", [
    ("backend-jobs", "backend_jobs"), ("Backend Jobs", "backend_jobs"), ("2fa_worker", "_2fa_worker"), ("ci_key", "ci_key"),
])
def test_api_key_names(raw: str, normal: str) -> None:
    assert normalise_api_key_name(raw) == normal
    assert api_key_name_problem(normal) is None


def test_api_key_name_rules() -> None:
    assert api_key_name_problem("backend-jobs_20261202") is not None
    assert api_key_name_problem("abc") is not None  # 3 < 4
    assert api_key_name_problem("a" * 65) is not None
    assert len(normalise_api_key_name("x" * 80, reserve=9)) == 55


# ------------------------------------------------------------------ small mismatches (issue 10 point 4)


@pytest.mark.parametrize("event_type", ["uncaughtException", "UncaughtException", "UNCAUGHTEXCEPTION"])
def test_uncaught_exception_is_an_error_whatever_its_case(event_type: str) -> None:
    assert supabase_level("function_logs", {"event_type": event_type, "level": "log"}, None) == Level.ERROR


def test_uncaught_exception_sql_compares_in_lower_case() -> None:
    from cs_console.backends.supabase import log_sql

    text = Path(log_sql.__file__).read_text(encoding="utf-8")
    assert "'UncaughtException'" not in text and "'uncaughtexception'" in text


def test_missing_origin_time_is_na_not_zero() -> None:
    sql = Variant("clickhouse", True).sql
    assert "toFloat64OrZero(log_attributes['response.origin_time'])" in sql and "isNotNull(toFloat64OrNull(" in sql
    assert "quantileIfOrNull" in sql
    # Rows without origin_time only: ClickHouse answers NULL (or nan); that is n/a, not 0 ms.
    for p95 in (None, "nan", "null", float("nan")):
        totals = parse_totals([{"requests": "12", "errors_5xx": "0", "errors_4xx": "1", "p95_ms": p95}], with_p95=True)
        assert totals.requests == 12 and totals.p95_ms is None
    assert parse_totals([{"requests": "3", "errors_5xx": "0", "errors_4xx": "0", "p95_ms": "41.5"}], with_p95=True).p95_ms == 41.5


def test_function_name_falls_back_to_the_last_path_segment() -> None:
    row = {"id": "1", "timestamp": "2026-12-02T09:00:00.000000", "event_message": "POST | 500", "status_code": 500,
           "path": "/score-lead", "function_id": "3c078cce-ad70-4148-9f37-4da362789053"}
    assert parse_supabase_row(row, "function_edge_logs").function == "score-lead"
    row2 = {**row, "path": "/functions/v1/score-lead/batch?x=1"}
    assert parse_supabase_row(row2, "function_edge_logs").function == "score-lead"
    named = parse_supabase_row(row, "function_edge_logs", {row["function_id"]: "lead-scorer"})
    assert named.function == "lead-scorer"


def test_retry_after_as_http_date_is_honoured() -> None:
    now = datetime(2026, 12, 2, 10, 0, 0, tzinfo=timezone.utc).timestamp()
    dated = httpx.Response(429, headers={"Retry-After": "Wed, 02 Dec 2026 10:00:42 GMT"})
    assert _reset_seconds(dated, now=now) == pytest.approx(42.0)
    past = httpx.Response(429, headers={"Retry-After": "Wed, 02 Dec 2026 09:59:00 GMT"})
    assert _reset_seconds(past, now=now) == 0.0
    assert _reset_seconds(httpx.Response(429, headers={"Retry-After": "17"})) == 17.0
    assert _reset_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) == 60.0


async def test_auth_admin_with_a_secret_key_says_which_key_it_needs(fake_supabase: FakeSupabase) -> None:
    url = f"{fake_supabase.url}/auth/v1/admin/users/5f0c7a5e-2f4b-4c8e-9d53-1b7a3c2d9e10"
    call = HttpCall(method="PUT", url=url, headers=(("apikey", "sb_secret_abc"), ("Authorization", "Bearer sb_secret_abc")),
                    json={"ban_duration": "24h"}, expect_status=(200,))
    before = len(fake_supabase.requests)
    result = await HttpExecutor().execute(call, timeout_s=2.0)
    assert not result.ok and "service_role" in result.error and "JWT" in result.error
    assert "sb_secret_abc" not in result.error
    assert len(fake_supabase.requests) == before  # a certain 401 is not sent


async def test_auth_admin_401_names_the_key(fake_supabase: FakeSupabase) -> None:
    from tests.fake_supabase import Reply

    path = "/auth/v1/admin/users/5f0c7a5e-2f4b-4c8e-9d53-1b7a3c2d9e10"
    fake_supabase.route(path, lambda req: Reply.json({"msg": "invalid JWT"}, status=401), method="PUT")
    call = HttpCall(method="PUT", url=fake_supabase.url + path,
                    headers=(("apikey", "eyJold"), ("Authorization", "Bearer eyJold")), json={"ban_duration": "24h"}, expect_status=(200,))
    result = await HttpExecutor().execute(call, timeout_s=2.0)
    assert not result.ok and result.http_status == 401 and "service_role" in result.error


async def test_metrics_endpoint_takes_a_secret_key(fake_supabase: FakeSupabase) -> None:
    client = fake_supabase.client()
    try:
        assert fake_supabase.service_key.startswith("sb_secret_")
        assert "# HELP" in await client.metrics_text()
    finally:
        await client.aclose()


# ------------------------------------------------------------------ recorded real responses


async def test_recorded_responses_through_the_parsers(fake_supabase: FakeSupabase) -> None:
    """Responses recorded off the real Management API (an empty e2e project) give the figures they should."""
    from cs_console.backends.supabase.management_source import ManagementMetricsSource
    from cs_console.domain.clock import FixedClock

    served = fake_supabase.serve_recorded()
    assert {"GET /v1/projects/{ref}", "GET /v1/projects/{ref}/functions", "GET /v1/projects/{ref}/database/backups"} <= set(served)
    client = fake_supabase.client()
    try:
        project = await client.project()
        assert project["status"] == "ACTIVE_HEALTHY" and project["region"] == "us-east-1"
        # The recording says 119 of 120 left: the budget must not stop on it.
        assert await client.functions() == []
        source = ManagementMetricsSource(client, clock=FixedClock(NOW))
        samples = await source._poll_backups()
        assert samples["backup.age_h"].value is None and "no completed backup" in samples["backup.age_h"].note
        fn = await source._poll_functions()
        assert fn["fn.invocations_per_min"].value == 0.0
        assert fn["fn.avg_duration_ms"].value is None
    finally:
        await client.aclose()


def test_recorded_api_keys_have_names_the_platform_made() -> None:
    """The recorded key list: legacy keys carry id "anon"/"service_role"; new keys' names fit the create rule."""
    import json

    recorded = json.loads((FIXTURES / "recorded_responses.json").read_text())["GET /v1/projects/{ref}/api-keys"]["body"]
    legacy = {k["id"] for k in recorded if k["type"] == "legacy"}
    assert legacy == {"anon", "service_role"}
    assert all(api_key_name_problem(k["name"]) is None for k in recorded if k["type"] != "legacy")
    ours = json.loads((FIXTURES / "api_keys.json").read_text())
    assert {k["id"] for k in ours if k["type"] == "legacy"} <= legacy
    assert all(api_key_name_problem(k["name"]) is None for k in ours if k["type"] != "legacy")
