"""The built-in runbooks: every procedure of the manual, loadable, faithful, and runnable.

- every file loads with the engine's loader, and every procedure of the manual maps to one;
- the details the manual and the Supabase APIs dictate are there (the redeploy argv, the ban
  request and its undo, the phrases of the guarded steps, the manual steps where an API is missing);
- every runbook runs in dry-run on the demo, and every demo mapping names a call the demo has;
- every SQL check, preview and dry-run of every runbook runs on a real PostgreSQL;
- the manual backup of a `conversations` table and its verified restore, done by the runbooks'
  own commands (pg_dump, sha256sum, pg_restore, the row-count scripts) on a real server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cs_console.backends.executors.demo import DemoExecutor
from cs_console.domain.runbooks.guard import phrase_matches
from cs_console.domain.runbooks.run_state import RunStatus, StepState
from cs_console.domain.runbooks.schema import GROUPS, Risk, Runbook, StepKind
from cs_console.backends.demo.runbook_calls import DemoRunbookCalls
from cs_console.services.runbooks.catalog import BUILTIN_DIR, load_catalog
from cs_console.services.runbooks.engine import RunbookEngine
from cs_console.wiring.runbooks import open_engine
from cs_console.services.session import session_from_args
from tests.runbook_helpers import make_session, write_config
from tests.sessions import session_args

# The manual's procedures, the runbook that implements each, and a phrase of the runbook's own
# text (manual_ref, summary, step titles, why, instructions) that shows it.
MANUAL_PROCEDURES: list[tuple[str, str, str]] = [
    ("Daily Operations > Morning Health Check", "morning-health-check", "Database response time < 100 ms"),
    ("Daily Operations > Daily Metrics Review", "daily-metrics-review", "query average < 50 ms"),
    ("Daily Operations > Daily Tasks Checklist", "daily-tasks-checklist", "Verify backup completion"),
    ("Incident Response > Incident Response Procedures", "incident-response", "Supabase status page"),
    ("Incident Response > Post-incident activities", "post-incident-review", "Schedule the post-mortem review"),
    ("Common Incident Scenarios > Database Connection Issues", "db-connection-issues", "idle in a transaction"),
    ("Common Incident Scenarios > Edge Function Failures", "edge-function-failures", "supabase CLI"),
    ("Common Incident Scenarios > High Traffic Spikes", "high-traffic-spike", "Activate CDN caching"),
    ("Maintenance Procedures > Weekly Maintenance", "weekly-maintenance", "REINDEX INDEX CONCURRENTLY"),
    ("Maintenance Procedures > Monthly Maintenance", "monthly-maintenance", "Backup verification"),
    ("Maintenance Procedures > Pre-Maintenance Checklist", "pre-maintenance-checklist", "Prepare rollback procedures"),
    ("Maintenance Procedures > Database Maintenance", "weekly-maintenance", "retention"),
    ("Maintenance Procedures > Edge Functions Maintenance", "edge-functions-maintenance", "npm update"),
    ("Backup and Recovery > Automated Backups", "monthly-maintenance", "daily backups"),
    ("Backup and Recovery > Manual Backup Procedures", "manual-backup", "conversations"),
    ("Backup and Recovery > Point-in-Time Recovery", "point-in-time-recovery", "Database > Backups"),
    ("Backup and Recovery > Manual Recovery", "restore-from-backup", "safety backup"),
    ("Backup and Recovery > Disaster Recovery Plan", "disaster-recovery", "Validation"),
    ("Performance Optimization", "performance-review", "slow queries"),
    ("Security Operations > Daily Security Checks", "daily-security-checks", "TLS certificate"),
    ("Security Operations > Security Incident Response", "security-incident-containment", "Block the suspicious addresses"),
    ("Security Operations > Regular Security Tasks", "regular-security-tasks", "penetration test"),
    ("Scaling Procedures > Vertical Scaling", "scaling-review", "Memory usage < 85 %"),
    ("Scaling Procedures > Scaling Actions", "scaling-review", "read replicas"),
]

# Inputs the dry runs need (required inputs without a default).
DEMO_INPUTS: dict[str, dict[str, str]] = {
    "edge-function-failures": {"function_slug": "process-conversations"},
    "edge-functions-maintenance": {"function_slug": "process-conversations"},
    "restore-from-backup": {"backup_file": "/nonexistent/backup.dump", "target_database": "postgres"},
    "security-incident-containment": {"user_email": "dana.whitfield@brightpath.health", "key_name": "backend-jobs"},
    "post-incident-review": {"incident_ref": "INC-2026-0001"},
}

# Signs of a runbook bug (as opposed to a check that found something): a template or expression
# that cannot be evaluated, a demo call with the wrong arguments.
AUTHORING_ERRORS = re.compile(r"cannot render|cannot evaluate|unknown name|bad arguments|not evaluable|Traceback")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(user_dir=Path("/nonexistent"))


def _text_of(rb: Runbook) -> str:
    parts = [rb.manual_ref, rb.summary, rb.title]
    for s in rb.steps:
        parts += [s.title, s.why, s.instructions, s.rollback]
        if s.action is not None and s.action.sql is not None:
            parts.append(s.action.sql.query)
    return "\n".join(parts)


# ---------------------------------------------------------------- loading and coverage


def test_every_builtin_loads_and_ships_in_the_package(catalog) -> None:
    assert catalog.errors == []
    files = sorted(BUILTIN_DIR.glob("*.toml"))
    assert len(files) == len(catalog.runbooks) >= 21
    for rb in catalog.runbooks.values():
        assert rb.builtin and rb.source.startswith("<builtin>/")
        assert Path(rb.source).stem == rb.id  # one file per runbook, named by its id
        assert rb.manual_ref, rb.id
        assert all(s.title for s in rb.steps)
    assert {rb.group for rb in catalog.runbooks.values()} == set(GROUPS)


def test_every_procedure_of_the_manual_has_a_runbook(catalog) -> None:
    for procedure, runbook_id, evidence in MANUAL_PROCEDURES:
        rb = catalog.get(runbook_id)
        assert rb is not None, f"{procedure}: no runbook {runbook_id}"
        assert evidence.lower() in _text_of(rb).lower(), f"{procedure}: {runbook_id} does not mention {evidence!r}"
    mapped = {rid for _, rid, _ in MANUAL_PROCEDURES}
    assert mapped == set(catalog.runbooks), f"built-ins without a procedure: {set(catalog.runbooks) - mapped}"


def test_checklists_have_exactly_the_manuals_items(catalog) -> None:
    daily = [s.title for s in catalog.get("daily-tasks-checklist").steps]
    for item in ("Run health check script", "Review overnight alerts", "Check database performance metrics",
                 "Verify backup completion", "Monitor resource usage trends", "Review security logs for anomalies",
                 "Update operational dashboard"):
        assert any(t.lower().startswith(item.lower()) for t in daily), item
    pre = [s.title for s in catalog.get("pre-maintenance-checklist").steps]
    for item in ("Notify users of maintenance window", "Create a database backup", "Prepare rollback procedures",
                 "Test changes in staging environment", "Coordinate with team members"):
        assert any(t.lower().startswith(item.lower()) for t in pre), item
    assert "checklist" in catalog.get("daily-tasks-checklist").tags


def test_guarded_steps_confirm_their_target_and_say_how_to_undo(catalog) -> None:
    phrases = {}
    for rb in catalog.runbooks.values():
        for s in rb.steps:
            if s.risk.guarded:
                assert s.confirm is not None and s.confirm.phrase.strip(), f"{rb.id}.{s.id}"
                assert s.rollback, f"{rb.id}.{s.id}: no undo hint"
                phrases[(rb.id, s.id)] = s.confirm.phrase
    assert phrases[("db-connection-issues", "terminate_idle")] == "{{preview.count}}"  # the number of backends
    assert phrases[("edge-function-failures", "redeploy")] == "{{function_slug}}"
    assert phrases[("restore-from-backup", "restore")] == "{{target_database}}"
    assert phrases[("security-incident-containment", "ban_user")] == "{{user.email}}"  # the account the find step found


def test_connection_runbook_terminates_only_previewed_idle_backends(catalog) -> None:
    step = catalog.get("db-connection-issues").step("terminate_idle")
    assert step.risk is Risk.DESTRUCTIVE
    assert "pg_terminate_backend" in step.action.sql.query
    assert "idle in transaction" in step.action.sql.query and "idle in transaction" in step.preview.action.sql.query
    assert step.verify is not None and step.verify.expect == "value == 0"
    assert step.action.demo.call == "terminate_idle_in_transaction"


def test_redeploy_is_the_manuals_command_as_argv(catalog) -> None:
    step = catalog.get("edge-function-failures").step("redeploy")
    assert step.action.shell.argv == ("supabase", "functions", "deploy", "{{function_slug}}", "--project-ref", "{{profile.project_ref}}")
    assert step.action.shell.command is None  # no shell string
    assert dict(step.action.shell.env) == {"SUPABASE_ACCESS_TOKEN": "{{secret.access_token}}"}
    assert step.action.demo.call == "redeploy_function"


def test_ban_goes_through_the_auth_admin_api_with_the_undo_hint(catalog) -> None:
    rb = catalog.get("security-incident-containment")
    step = rb.step("ban_user")
    http = step.action.http
    assert http.method == "PUT" and http.url.endswith("/auth/v1/admin/users/{{user.id}}")
    assert http.json == {"ban_duration": "{{ban_duration}}"}
    assert rb.input("ban_duration").default == "876000h"
    assert '"none"' in step.rollback
    assert step.verify is not None and "banned_until" in step.verify.expect


def test_what_the_apis_cannot_do_are_manual_dashboard_steps(catalog) -> None:
    for rb in catalog.runbooks.values():
        for s in rb.steps:
            if s.action is not None and s.action.http is not None:
                # There is no public "back up now" endpoint, and no "add a network ban" verb.
                assert not re.search(r"/database/backups$", s.action.http.url) or s.action.http.method == "GET", f"{rb.id}.{s.id}"
                assert not (s.action.http.method in ("POST", "PUT") and "network-bans" in s.action.http.url
                            and "retrieve" not in s.action.http.url), f"{rb.id}.{s.id}"
    block = catalog.get("security-incident-containment").step("block_ips")
    assert block.kind is StepKind.MANUAL and "Network Restrictions" in block.instructions and "WAF" in block.instructions
    pitr = catalog.get("point-in-time-recovery")
    assert pitr.step("dashboard").kind is StepKind.MANUAL and "Database > Backups" in pitr.step("dashboard").instructions
    assert pitr.step("api_restore").risk is Risk.IRREVERSIBLE  # possible through the API, but guarded
    dump = catalog.get("manual-backup").step("dump_table").action.shell.argv
    assert dump[0] == "pg_dump" and "--format=custom" in dump and "--table" in dump


def test_maintenance_runbooks_check_their_window(catalog) -> None:
    weekly = catalog.get("weekly-maintenance")
    assert weekly.is_maintenance and "weekly" in weekly.maintenance_windows
    assert catalog.get("monthly-maintenance").maintenance_windows == ("monthly",)
    vacuum = weekly.step("vacuum_analyze").action.sql
    assert vacuum.query == "VACUUM (ANALYZE)" and vacuum.transaction.value == "none"
    assert weekly.step("reindex_1").action.sql.query.startswith("REINDEX INDEX CONCURRENTLY")


def test_scaling_review_uses_the_manuals_triggers(catalog) -> None:
    rb = catalog.get("scaling-review")
    assert "host_cpu_pct < 80" in rb.step("cpu").expect
    assert "host_memory_pct < 85" in rb.step("memory").expect
    assert "db_connections_pct < 80" in rb.step("connections").expect


# ---------------------------------------------------------------- the demo


def _demo_session(scenario: str = "calm"):
    return session_from_args(session_args(demo=True, scenario=scenario, seed=7), force_demo=True)


def test_every_demo_mapping_names_a_call_the_demo_has(catalog) -> None:
    from cs_console.backends.demo.model.project import DemoProject

    executor = DemoExecutor(DemoRunbookCalls(DemoProject("calm", 7, one_shot=True, real_time=False)))
    for rb in catalog.runbooks.values():
        for s in rb.steps:
            for action in (s.action, s.preview.action if s.preview else None, s.verify.action if s.verify else None):
                if action is not None and action.demo is not None:
                    assert executor.supports(action.demo.call), f"{rb.id}.{s.id}: demo has no {action.demo.call!r}"


async def _drive(engine: RunbookEngine, answers: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    seen = []
    while (step := engine.next_step()) is not None:
        out = await engine.execute(step.id, answer=(answers or {}).get(step.id))
        seen.append((step.id, out.state.value, out.detail))
        if out.stopped:
            break
    return seen


@pytest.mark.parametrize("runbook_id", sorted(p.stem for p in BUILTIN_DIR.glob("*.toml")))
async def test_each_runbook_runs_dry_on_the_demo(catalog, runbook_id: str) -> None:
    from cs_console.wiring.environment import build_environment

    session = _demo_session("security-breach" if "security" in runbook_id else "connection-exhaustion")
    env = build_environment(session, one_shot=True)
    rb = catalog.get(runbook_id)
    engine = open_engine(session, rb, environment=env)
    try:
        run = await engine.start(DEMO_INPUTS.get(runbook_id, {}), dry_run=True)
        seen = await _drive(engine)
    finally:
        await engine.close()
    assert run.status is RunStatus.SUCCEEDED, seen[-1:]
    assert [sid for sid, _, _ in seen] and all(state in ("succeeded", "failed", "skipped") for _, state, _ in seen)
    bugs = [(sid, detail) for sid, _, detail in seen if AUTHORING_ERRORS.search(detail)]
    assert bugs == []
    # Nothing changed in the simulation: a dry run acts on nothing.
    assert env.demo.actions() == []


# ---------------------------------------------------------------- real PostgreSQL

AUTH_STUB = """
create schema if not exists auth;
create table if not exists auth.users (id uuid primary key, email text, created_at timestamptz default now(),
  email_confirmed_at timestamptz, last_sign_in_at timestamptz, banned_until timestamptz);
create table if not exists auth.sessions (id uuid primary key, user_id uuid references auth.users on delete cascade,
  created_at timestamptz default now(), updated_at timestamptz default now());
create table if not exists auth.audit_log_entries (id uuid primary key, payload json, created_at timestamptz default now(),
  ip_address varchar(64));
insert into auth.users values ('0b1f6a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', 'ops@customersignal.io', now(), now(), now(), null)
  on conflict do nothing;
create table if not exists public.conversations (id bigserial primary key, org_id int not null, title text,
  status text default 'open', created_at timestamptz not null default now());
create index if not exists conversations_org_idx on public.conversations (org_id, created_at);
create extension if not exists pg_stat_statements;
"""

PG_INPUTS: dict[str, dict[str, str]] = {
    **DEMO_INPUTS,
    "security-incident-containment": {"user_email": "ops@customersignal.io", "key_name": "backend-jobs"},
    "weekly-maintenance": {"retention_table": "public.conversations", "bloat_threshold_pct": "5", "min_index_mb": "0"},
}

SQL_ERRORS = re.compile(r"syntax error|does not exist|invalid input|permission denied|operator does not|"
                        r"cannot cast|function .* is not unique|missing FROM|ambiguous", re.IGNORECASE)


@pytest.fixture(scope="module")
def builtins_db(pg):
    """A database on the test server shaped like Supabase where the runbooks look (auth schema, a conversations table)."""
    pg.psql("drop database if exists rb_builtins")
    pg.psql("create database rb_builtins")
    pg.psql(AUTH_STUB, db="rb_builtins")
    pg.psql("insert into public.conversations (org_id, title, created_at) "
            "select g % 7, 'conversation ' || g, now() - make_interval(days => g % 200) from generate_series(1, 3000) g",
            db="rb_builtins")
    pg.psql("analyze", db="rb_builtins")
    yield pg.dsn_for("rb_builtins")


@pytest.mark.postgres
async def test_every_sql_of_every_builtin_runs_on_postgres(catalog, builtins_db, tmp_path) -> None:
    """Dry runs on a live profile: checks run for real, SQL steps are EXPLAINed or rolled back."""
    session = make_session(write_config(tmp_path, builtins_db, environment="staging"))
    problems: list[str] = []
    ran_sql = 0
    for rb in catalog.ordered():
        if not any(s.action is not None and s.action.sql is not None for s in rb.steps):
            continue
        engine = open_engine(session, rb, environment=None)
        try:
            await engine.start(PG_INPUTS.get(rb.id, {}), dry_run=True)
            seen = await _drive(engine)
        finally:
            await engine.close()
        for sid, state, detail in seen:
            step = rb.step(sid)
            if step.action is None or step.action.sql is None:
                continue
            ran_sql += 1
            if SQL_ERRORS.search(detail) or AUTHORING_ERRORS.search(detail):
                problems.append(f"{rb.id}.{sid}: {detail}")
    assert problems == []
    assert ran_sql >= 30


# ---------------------------------------------------------------- backup and verified restore


def _has_binaries() -> bool:
    import shutil

    return all(shutil.which(b) for b in ("pg_dump", "pg_restore", "psql", "sha256sum", "awk"))


@pytest.mark.postgres
async def test_manual_backup_and_verified_restore_of_conversations(pg, tmp_path, monkeypatch) -> None:
    # The test server trusts loopback; the runbooks pass the profile's password to pg_dump/psql all the same.
    monkeypatch.setenv("PGPASSWORD", "unused-on-a-trusting-server")
    assert _has_binaries(), "pg_dump, pg_restore, psql, sha256sum and awk are part of the test machine"
    pg.psql("drop database if exists rb_source")
    pg.psql("drop database if exists rb_target")
    pg.psql("create database rb_source")
    pg.psql("create database rb_target")
    pg.psql("create table public.conversations (id bigserial primary key, org_id int, title text, body text); "
            "insert into public.conversations (org_id, title, body) select g % 5, 'c' || g, "
            "E'line one\\nline two\\ttab \\\\ backslash' from generate_series(1, 1234) g", db="rb_source")
    # The target holds something else that the restore replaces.
    pg.psql("create table public.conversations (id bigserial primary key, org_id int, title text, body text); "
            "insert into public.conversations (org_id, title) values (1, 'stale')", db="rb_target")
    session = make_session(write_config(tmp_path, pg.dsn_for("rb_source"), environment="staging"))
    catalog = load_catalog(user_dir=Path("/nonexistent"))

    from cs_console.wiring.environment import build_environment

    env = build_environment(session, one_shot=True)
    backup = open_engine(session, catalog.get("manual-backup"), environment=env)
    try:
        run = await backup.start({"table": "public.conversations"})
        seen = await _drive(backup, {"offsite": "kept locally on purpose"})
    finally:
        await backup.close()
    states = {sid: rec.state.value for sid, rec in run.steps.items()}
    assert run.status is RunStatus.SUCCEEDED, seen
    assert states["dump_table"] == "succeeded" and states["dump_database"] == "skipped"
    assert states["checksum"] == states["verify"] == states["rows"] == "succeeded"
    dumps = sorted((session.state_dir / "backups").glob("rb_source-public.conversations-*.dump"))
    assert len(dumps) == 1
    dump = dumps[0]
    assert Path(f"{dump}.sha256").read_text().split()[0] == __import__("hashlib").sha256(dump.read_bytes()).hexdigest()
    rows_line = next(detail for sid, _, detail in seen if sid == "rows")
    assert run.steps["rows"].captured == ["public.conversations 1234"], rows_line

    restore = open_engine(session, catalog.get("restore-from-backup"), environment=env)
    try:
        await restore.start({"backup_file": str(dump), "target_database": "rb_target"})
        answers = {"stop_writers": "target is not in use", "resume_writers": "resumed"}
        seen = await _drive(restore, answers)
        # The irreversible step stops at its gate: the phrase is the database name.
        assert seen[-1][0] == "restore" and seen[-1][1] == "refused"
        plan = await restore.prepare("restore")
        assert plan.gate.phrase == "rb_target" and not phrase_matches(plan.gate.phrase, "rb_source")
        out = await restore.execute("restore", confirmation=plan.gate.confirm("rb_target"))
        assert out.state is StepState.SUCCEEDED, out.detail
        seen = await _drive(restore, answers)
    finally:
        await restore.close()
    states = {sid: rec.state.value for sid, rec in restore.run.steps.items()}
    assert states["verify_rows"] == "succeeded", seen
    assert restore.run.status is RunStatus.SUCCEEDED
    assert "OK    public.conversations 1234 rows" in restore.run.steps["verify_rows"].output_excerpt
    assert pg.psql("select count(*) from public.conversations", db="rb_target").strip() == "1234"
    assert pg.psql("select count(*) from public.conversations where title = 'stale'", db="rb_target").strip() == "0"
    safety = list((session.state_dir / "backups").glob("safety-rb_target-*.dump"))
    assert len(safety) == 1 and safety[0].stat().st_size > 0


@pytest.mark.parametrize("runbook_id", ["db-connection-issues", "manual-backup", "security-incident-containment", "weekly-maintenance"])
def test_cli_dry_run_on_the_demo(runbook_id: str, capsys) -> None:
    """`cs-console runbook run ID --demo --dry-run` as the operator types it: done, exit 0."""
    from cs_console.cli import main

    argv = ["runbook", "run", runbook_id, "--demo", "--dry-run"]
    for key, value in DEMO_INPUTS.get(runbook_id, {}).items():
        argv += ["--input", f"{key}={value}"]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    # (Without the demo facade some checks have no simulation, so a decision reading their capture
    # is "not evaluable" and takes its default: honest, not an authoring error.)
    assert "succeeded" in out.out and not re.search(r"cannot render|cannot evaluate|bad arguments|Traceback", out.out + out.err)
