"""`cs-console health` as a monitoring plugin, run as a real subprocess against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.pg_server import PgServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Pw-7c1d-never-shown"


def health(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cs_console", "health", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, **(env or {})},
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.stdout.count("\n") == 1, proc.stdout  # one object, one line
    return json.loads(proc.stdout)


async def test_health_dsn_ok_warning_critical_and_down(pg_factory) -> None:
    server: PgServer = pg_factory(max_connections=20)  # 17 usable by ordinary roles: 80 % = 13.6, 90 % = 15.3
    server.psql("create extension pg_stat_statements")
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:{server.port}/postgres"  # trust auth: the password is ignored

    ok = health("--dsn", dsn, "--json")
    assert ok.returncode == 0, ok.stderr
    data = as_json(ok)
    assert data["status"] == "OK"
    db = next(c for c in data["components"] if c["name"] == "Database")
    assert db["status"] == "HEALTHY" and 0 < db["latency_ms"] < 100
    assert [c["name"] for c in data["components"]] == ["Database", "Database connections"]

    held: list[asyncpg.Connection] = []
    try:
        held += [await asyncpg.connect(server.dsn) for _ in range(14)]  # 14 of 17 = 82 %
        warn = health("--dsn", dsn, "--json")
        assert warn.returncode == 1, warn.stdout + warn.stderr
        data = as_json(warn)
        conn = next(c for c in data["components"] if c["name"] == "Database connections")
        assert data["status"] == "WARNING" and conn["status"] == "WARNING" and "14 of 17" in conn["detail"]
        assert next(c for c in data["components"] if c["name"] == "Database")["status"] == "DEGRADED"

        held += [await asyncpg.connect(server.dsn) for _ in range(2)]  # 16 of 17 = 94 %
        crit = health("--dsn", dsn)
        assert crit.returncode == 2, crit.stdout + crit.stderr
        assert "❌ CRITICAL  Database connections" in crit.stdout and "16 of 17" in crit.stdout
        assert "Status: CRITICAL (exit 2)" in crit.stdout
    finally:
        for conn in held:
            await conn.close()

    server.stop()
    down = health("--dsn", dsn, env={"PGPASSWORD": SECRET + "-env"})
    assert down.returncode == 2
    assert "Traceback" not in down.stderr and down.stderr == ""
    db_line = next(line for line in down.stdout.splitlines() if " Database " in line and "connections" not in line)
    assert "DOWN" in db_line and "refused" in db_line
    down_json = as_json(health("--dsn", dsn, "--json"))
    db = next(c for c in down_json["components"] if c["name"] == "Database")
    assert db["status"] == "DOWN" and db["detail"] and "\n" not in db["detail"]
    for proc in (ok, warn, crit, down):
        assert SECRET not in proc.stdout + proc.stderr


def test_health_bad_input_is_unknown_without_traceback(tmp_path: Path) -> None:
    bad = health("--dsn", f"mysql://root:{SECRET}@db/x")
    assert bad.returncode == 3 and "invalid --dsn" in bad.stderr and SECRET not in bad.stderr and "Traceback" not in bad.stderr
    mixed = health("--dsn", "postgresql://x@127.0.0.1:1/x", "--demo")
    assert mixed.returncode == 3 and "--demo" in mixed.stderr
    nothing = health()
    assert nothing.returncode == 3 and "no profile configured" in nothing.stderr
    cfg = tmp_path / "config.toml"
    cfg.write_text("[profiles.production]\nproject_ref = 'nope'\n")
    broken = health("--config", str(cfg))
    assert broken.returncode == 3 and "config error" in broken.stderr and "project_ref" in broken.stderr


def test_health_with_a_profile_dsn(pg: PgServer, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "default_profile = 'production'\n"
        "[profiles.production]\nenvironment = 'production'\n"
        f"db_dsn = '{pg.dsn}'\n"
        "db_password_env = 'CS_TEST_DB_PASSWORD'\n"
        "[profiles.production.thresholds.connections_pct]\nwarning = 0.0001\ncritical = 99\n"
    )
    cfg.chmod(0o600)
    proc = health("--config", str(cfg), "--json", env={"CS_TEST_DB_PASSWORD": SECRET})
    data = as_json(proc)
    names = [c["name"] for c in data["components"]]
    assert names[:2] == ["Database", "Database connections"] and names[-1] == "Critical alerts (24 h)"
    # The profile's tiny warning level is used: any other session makes it a WARNING, none leaves it OK.
    conn = next(c for c in data["components"] if c["name"] == "Database connections")
    assert conn["status"] in ("OK", "WARNING") and "warning 0.0001 %" in conn["detail"]
    assert proc.returncode in (0, 1) and data["target"] == "PRODUCTION"
    assert any("not checked" in n for n in data["notes"])
    assert SECRET not in proc.stdout + proc.stderr


def test_health_demo_scenarios_as_the_issue_checks_them() -> None:
    calm = health("--demo", "--scenario", "calm", "--json")
    assert calm.returncode == 0, calm.stdout + calm.stderr
    data = as_json(calm)
    assert data["status"] == "OK"
    names = [c["name"] for c in data["components"]]
    for name in ("Database", "Database connections", "Auth", "REST", "Storage", "Edge Functions", "Realtime", "Critical alerts (24 h)"):
        assert name in names
    # Every component healthy and every derived line OK (the seeded calm demo).
    assert {c["name"]: c["status"] for c in data["components"]} == {
        "Platform status": "HEALTHY", "Database": "HEALTHY", "Database connections": "OK", "Auth": "HEALTHY", "Auth failures": "OK", "REST": "HEALTHY",
        "Storage": "HEALTHY", "Edge Functions": "HEALTHY", "Realtime": "HEALTHY", "Critical alerts (24 h)": "OK",
    }
    db = next(c for c in data["components"] if c["name"] == "Database")
    assert db["latency_ms"] is not None and db["latency_ms"] < 100

    exhausted = health("--demo", "--scenario", "connection-exhaustion", "--json")
    assert exhausted.returncode == 2, exhausted.stdout + exhausted.stderr
    data = as_json(exhausted)
    conn = next(c for c in data["components"] if c["name"] == "Database connections")
    assert data["status"] == "CRITICAL" and conn["status"] == "CRITICAL"

    breach = health("--demo", "--scenario", "security-breach", "--json")
    failures = next(c for c in as_json(breach)["components"] if c["name"] == "Auth failures")
    assert breach.returncode == 2 and failures["status"] == "CRITICAL", breach.stdout  # the manual's Critical class

    text = health("--scenario", "function-failures")  # --scenario alone means the demo
    assert text.returncode == 1 and "⚠️ DEGRADED  Edge Functions" in text.stdout and "Status: WARNING (exit 1)" in text.stdout


def test_health_demo_platform_incident_names_the_incident() -> None:
    proc = health("--demo", "--scenario", "platform-incident", "--json")
    data = as_json(proc)
    lines = {c["name"]: c for c in data["components"]}
    platform = lines["Platform status"]
    assert platform["status"] == "DEGRADED" and platform["state"] == "WARNING"
    assert platform["detail"] == (
        "incident in eu-central-1: Elevated API latency and errors in eu-central-1 (identified, major impact) https://stspg.io/demo0in"
    )
    assert data["components"][0]["name"] == "Platform status"  # first: it changes how the rest is read
    # The platform's trouble shows in our own figures too; nothing is DOWN.
    assert lines["REST"]["status"] == "DEGRADED" and "p95" in lines["REST"]["detail"]
    assert not [c for c in data["components"] if c["status"] in ("DOWN", "CRITICAL")]
    assert proc.returncode == 1 and data["status"] == "WARNING"
    text = health("--demo", "--scenario", "platform-incident")
    assert "⚠️ DEGRADED  Platform status" in text.stdout and "https://stspg.io/demo0in" in text.stdout


def test_health_dsn_wrong_password_says_where_it_came_from(pg: PgServer) -> None:
    import uuid

    role = f"cs_pw_{uuid.uuid4().hex[:8]}"
    pg.psql(f"create role {role} login password '{SECRET}'")
    hba = pg.data / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + original)  # only this role needs a password
    pg.psql("select pg_reload_conf()")
    try:
        dsn = f"postgresql://{role}@127.0.0.1:{pg.port}/postgres"
        wrong = health("--dsn", dsn, env={"PGPASSWORD": "not-" + SECRET})
        assert wrong.returncode == 2 and wrong.stderr == ""
        line = next(x for x in wrong.stdout.splitlines() if "DOWN" in x)
        assert "authentication failed" in line and "(password from $PGPASSWORD)" in line
        right = health("--dsn", dsn, "--json", env={"PGPASSWORD": SECRET})
        assert right.returncode == 0, right.stdout
        for proc in (wrong, right):
            assert SECRET not in proc.stdout + proc.stderr
    finally:
        hba.write_text(original)
        pg.psql("select pg_reload_conf()")
        pg.psql(f"drop role if exists {role}")


def test_health_supabase_profile_reads_the_status_page(fake_supabase, tmp_path: Path) -> None:
    from tests import fake_statuspage as sp
    from tests.fake_statuspage import FakeStatusPage

    def config(url: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(
            '[profiles.prod]\nproject_ref = "csgnlprodabcdefghijk"\n'
            f'management_api_url = "{fake_supabase.url}"\nproject_url = "{fake_supabase.url}"\n'
            f'access_token_env = "CS_TEST_SB_TOKEN"\nservice_role_key_env = "CS_TEST_SB_KEY"\nstatus_page_url = "{url}"\n'
        )
        path.chmod(0o600)
        return path

    env = {"CS_TEST_SB_TOKEN": fake_supabase.token, "CS_TEST_SB_KEY": fake_supabase.service_key}
    with FakeStatusPage() as page:
        # The region is the Management API project's (us-east-1): an incident in Singapore is not ours.
        page.summary = sp.summary(incidents=[sp.incident("Storage slow in Singapore", ["ap-southeast-1/storage"])])
        data = as_json(health("--config", str(config(page.url)), "--json", env=env))
        line = next(c for c in data["components"] if c["name"] == "Platform status")
        assert line["status"] == "HEALTHY" and line["detail"] == "no incident for us-east-1; 1 elsewhere: Storage slow in Singapore"
        page.summary = sp.summary(incidents=[sp.incident("Auth errors in N. Virginia", ["us-east-1/auth"])])
        text = health("--config", str(config(page.url)), env=env).stdout
        assert "⚠️ DEGRADED  Platform status" in text and "Auth errors in N. Virginia (investigating, major impact) https://stspg.io/" in text
    # No page at all (nothing listens there): UNKNOWN with the reason, never DOWN.
    data = as_json(health("--config", str(config("http://127.0.0.1:9")), "--json", env=env))
    line = next(c for c in data["components"] if c["name"] == "Platform status")
    assert line["status"] == "UNKNOWN" and line["detail"].startswith("status page not read: cannot reach 127.0.0.1")
