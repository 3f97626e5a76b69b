"""`cs-console runbook` / `audit` acceptance, through real subprocesses:
refused without / with a wrong --confirm / in read-only, done with the right phrase; a pg_dump +
pg_restore round trip of a `conversations` table; a run SIGKILLed mid-step and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from cs_console.config import state_dir
from tests.runbook_helpers import TERMINATE_RUNBOOK, write_config, write_runbook

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
APP = "rb-cli-victim"


def cli(*args: str, config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cs_console", *args, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def audit_records() -> list[dict]:
    path = state_dir() / "audit.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def victims_alive(pg) -> int:
    return int(pg.psql(f"select count(*) from pg_stat_activity where application_name = '{APP}'"))


async def test_destructive_runbook_from_the_cli(tmp_path: Path, pg) -> None:
    config = write_config(tmp_path, pg.dsn)
    write_runbook(TERMINATE_RUNBOOK, "t-terminate")
    conns = [await asyncpg.connect(pg.dsn, server_settings={"application_name": APP}) for _ in range(3)]
    try:
        listed = cli("runbook", "list", "--json", config=config)
        row = next(r for r in json.loads(listed.stdout) if r["id"] == "t-terminate")
        assert row["highest_risk"] == "destructive" and row["group"] == "Incident"

        # 1. No --confirm: refused by the engine, audited, nothing done.
        r = cli("runbook", "run", "t-terminate", "--input", f"app={APP}", config=config)
        assert r.returncode == 2, r.stderr
        refusal_lines = [l for l in r.stderr.splitlines() if l.startswith("refused:")]
        assert len(refusal_lines) == 1 and "needs a typed confirmation: '3'" in refusal_lines[0]
        assert victims_alive(pg) == 3
        assert any(a["phase"] == "refused" and a.get("step_id") == "terminate" for a in audit_records())

        # 2. Wrong phrase: refused.
        r = cli("runbook", "run", "t-terminate", "--input", f"app={APP}", "--confirm", "4", config=config)
        assert r.returncode == 2 and "did not match '3'" in r.stderr
        assert victims_alive(pg) == 3

        # 3. Read-only with the right phrase: refused.
        r = cli("runbook", "run", "t-terminate", "--read-only", "--input", f"app={APP}", "--confirm", "3", config=config)
        assert r.returncode == 2 and "read-only" in r.stderr
        assert victims_alive(pg) == 3

        # There is no --yes.
        r = cli("runbook", "run", "t-terminate", "--yes", config=config)
        assert r.returncode == 2 and "unrecognized arguments: --yes" in r.stderr

        # 4. The right phrase: done and audited before and after.
        r = cli("runbook", "run", "t-terminate", "--input", f"app={APP}", "--confirm", "3", config=config)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "succeeded" in r.stdout
        assert victims_alive(pg) == 0
        phases = [(a["phase"], a.get("step_id"), a.get("outcome")) for a in audit_records()]
        assert ("before", "terminate", "running") in phases and ("after", "terminate", "succeeded") in phases

        shown = cli("audit", "--limit", "5", config=config)
        assert shown.returncode == 0 and "t-terminate/terminate" in shown.stdout
        as_json = [json.loads(l) for l in cli("audit", "--json", "--limit", "0", config=config).stdout.splitlines()]
        assert len(as_json) == len(audit_records())
    finally:
        for c in conns:
            await c.close()


BACKUP_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-backup-restore"
title = "Backup conversations and restore into another database"
group = "Backup & Recovery"

[[inputs]]
name = "source_db"
type = "identifier"

[[inputs]]
name = "target_db"
type = "identifier"

[[steps]]
id = "count_source"
kind = "check"
title = "Rows in the source"
sql = "select count(*)::int from conversations"
database = "{{source_db}}"
expect = "value > 0"
[steps.capture]
save_as = "source_rows"
parse = "int"

[[steps]]
id = "dump"
kind = "shell"
title = "pg_dump (custom format)"
risk = "write"
argv = ["pg_dump", "--format=custom", "--table=conversations", "--file", "{{run.dir}}/backup.dump", "{{profile.db_dsn|db:source_db}}"]
timeout_s = 120

[[steps]]
id = "list"
kind = "check"
title = "The dump lists the table"
argv = ["pg_restore", "--list", "{{run.dir}}/backup.dump"]
expect = "'TABLE DATA public conversations' in value"

[[steps]]
id = "create_target"
kind = "sql"
title = "Create the target database"
risk = "write"
sql = "create database {{target_db|ident}}"

[[steps]]
id = "restore"
kind = "shell"
title = "pg_restore into the target"
risk = "irreversible"
argv = ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", "{{profile.db_dsn|db:target_db}}", "{{run.dir}}/backup.dump"]
rollback = "Drop the target database."
[steps.confirm]
phrase = "{{target_db}}"

[[steps]]
id = "verify_rows"
kind = "check"
title = "Row counts match"
sql = "select count(*)::int from conversations"
database = "{{target_db}}"
expect = "value == source_rows"
[steps.capture]
parse = "int"
"""


def test_backup_and_verified_restore_of_conversations(tmp_path: Path, pg) -> None:
    pg.psql("drop database if exists rb_src")
    pg.psql("drop database if exists rb_restored")
    pg.psql("create database rb_src")
    pg.psql("create table conversations (id bigserial primary key, body text not null, created_at timestamptz default now())", db="rb_src")
    pg.psql("insert into conversations (body) select 'message ' || g from generate_series(1, 1234) g", db="rb_src")
    # One machine, no team store: the two-person rule for irreversible steps in production is waived (audited).
    config = write_config(tmp_path, pg.dsn, extra='second_person_approval = "off"')
    write_runbook(BACKUP_RUNBOOK, "t-backup-restore")
    common = ("runbook", "run", "t-backup-restore", "--input", "source_db=rb_src", "--input", "target_db=rb_restored")
    r = cli(*common, config=config, timeout=180)
    assert r.returncode == 2 and "needs a typed confirmation: 'rb_restored'" in r.stderr
    run_id = r.stdout.split()[1]
    # The same run, resumed with the phrase: the restore runs, the counts are verified.
    r = cli("runbook", "run", "t-backup-restore", "--resume", run_id, "--confirm", "rb_restored", config=config, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert pg.psql("select count(*) from conversations", db="rb_restored") == "1234"
    dump = state_dir() / "runs" / run_id / "backup.dump"
    assert dump.exists() and dump.stat().st_size > 0
    state = json.loads((state_dir() / "runs" / f"{run_id}.json").read_text())
    assert {s["step_id"]: s["state"] for s in state["steps"]} == {
        "count_source": "succeeded", "dump": "succeeded", "list": "succeeded", "create_target": "succeeded",
        "restore": "succeeded", "verify_rows": "succeeded"}
    assert any(a["phase"] == "approval" and a["outcome"] == "approval-waived" and a["step_id"] == "restore" for a in audit_records())
    pg.psql("drop database rb_restored")
    pg.psql("drop database rb_src")


LONG_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-long"
title = "A long non-idempotent step"
group = "Maintenance"

[[inputs]]
name = "marker"
type = "path"

[[steps]]
id = "first"
kind = "check"
title = "reachable"
sql = "select 1"

[[steps]]
id = "long"
kind = "shell"
title = "a long non-idempotent write"
risk = "write"
idempotent = false
script = true
command = "echo started >> {{marker}}; sleep 30; echo finished >> {{marker}}"
timeout_s = 60
[steps.verify]
argv = ["grep", "-c", "finished", "{{marker}}"]
parse = "int"
expect = "value >= 1"

[[steps]]
id = "last"
kind = "check"
title = "after"
sql = "select 2"
"""


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (zombies have an empty one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_sigkill_mid_step_then_resume(tmp_path: Path, pg) -> None:
    config = write_config(tmp_path, pg.dsn)
    write_runbook(LONG_RUNBOOK, "t-long")
    marker = tmp_path / "marker.txt"
    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "runbook", "run", "t-long", "--input", f"marker={marker}",
                             "--config", str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    runs = state_dir() / "runs"
    deadline = time.monotonic() + 30
    run_id = None
    while time.monotonic() < deadline:
        for f in runs.glob("*.json") if runs.exists() else []:
            data = json.loads(f.read_text())
            # The shell creates the file before it writes "started": wait for the line itself.
            if any(s["step_id"] == "long" and s["state"] == "running" for s in data["steps"]) and marker.exists() and marker.read_text().strip():
                run_id = data["run_id"]
        if run_id:
            break
        time.sleep(0.1)
    assert run_id, "the long step never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # The step's watchdog stops its process group when the console's socket closes: wait until no process runs it.
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(marker)):
        assert time.monotonic() < deadline, f"the step's shell outlived the killed runner: {_processes_mentioning(str(marker))}"
        time.sleep(0.02)
    assert marker.read_text().splitlines() == ["started"]

    listed = cli("runbook", "runs", config=config)
    assert "INTERRUPTED" in listed.stdout and run_id in listed.stdout
    fresh = cli("runbook", "run", "t-long", "--dry-run", "--input", f"marker={marker}", config=config)
    assert f"--resume {run_id}" in fresh.stderr

    r = cli("runbook", "run", "t-long", "--resume", run_id, config=config)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "outcome unknown for long" in r.stderr
    state = json.loads((runs / f"{run_id}.json").read_text())
    assert {s["step_id"]: s["state"] for s in state["steps"]}["long"] == "unknown"
    assert marker.read_text().splitlines() == ["started"], "the unknown step was never re-run"

    # Verify says it did not finish; the operator marks it done; the run completes without re-running it.
    r = cli("runbook", "run", "t-long", "--resume", run_id, "--mark", "long=verify", config=config)
    assert r.returncode == 3 and "verification failed" in r.stdout + r.stderr
    r = cli("runbook", "run", "t-long", "--resume", run_id, "--mark", "long=done", config=config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker.read_text().splitlines() == ["started"]
    state = json.loads((runs / f"{run_id}.json").read_text())
    assert [s["state"] for s in state["steps"]] == ["succeeded", "succeeded", "succeeded"]
    marks = [a for a in audit_records() if a["phase"] == "mark" and a.get("step_id") == "long"]
    assert [m["outcome"] for m in marks] == ["verify-failed", "marked-done"]
    assert any(a["phase"] == "before" and a.get("step_id") == "long" for a in audit_records())
