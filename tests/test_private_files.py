"""Files as private as what they hold: a real `manual-backup` run (pg_dump) leaves 0600 dumps in a
0700 folder even when the operator's umask is 022; step files written through the executor, incident
exports, the audit and the run state are 0600; `audit --json` gives every record by default and says
when a limit left some out."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cs_console.backends.executors.shell import ShellExecutor
from cs_console.config import state_dir
from cs_console.domain.runbooks.calls import ShellCall
from cs_console.stores.audit_log import LocalAuditLog, audit_record
from tests.runbook_helpers import write_config

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: str, config: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # The operator's shell has the usual umask 022: the console must not rely on it.
    env = {**os.environ, "PGPASSWORD": os.environ.get("PGPASSWORD", "unused-by-trust-auth")}
    return subprocess.run([sys.executable, "-m", "cs_console", *args, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env,
                          preexec_fn=lambda: os.umask(0o022))


@pytest.mark.postgres
def test_a_real_manual_backup_is_owner_only(tmp_path: Path, pg) -> None:
    config = write_config(tmp_path, pg.dsn)
    r = cli("runbook", "run", "manual-backup", "--answer", "offsite=kept locally on purpose", config=config)
    assert r.returncode in (0, 1), r.stdout + r.stderr  # platform_backups may fail (no Management API): on_failure continue
    backups = state_dir() / "backups"
    dumps = sorted(backups.glob("*.dump"))
    assert dumps, r.stdout + r.stderr
    assert mode(backups) == 0o700
    for f in backups.iterdir():
        assert mode(f) == 0o600, f"{f.name} is {oct(mode(f))}"
    for f in [state_dir() / "audit.jsonl", *(state_dir() / "runs").glob("*.json")]:
        assert mode(f) == 0o600, f"{f} is {oct(mode(f))}"

    r_audit = (state_dir() / "audit.jsonl").read_text(encoding="utf-8")
    assert "$ mkdir -p -m 700 " in r_audit and "$ chmod 600 " in r_audit  # the rendered commands, audited


@pytest.mark.postgres
def test_a_dump_in_the_teams_group_shared_backups_dir_is_group_readable(tmp_path: Path, pg) -> None:
    """backups_dir = a directory its group may use (the team's, 2770): the runbook's own step makes the
    dump and its checksum 640, so whoever takes the run over can read them; the directory keeps its mode."""
    shared = tmp_path / "team-backups"
    shared.mkdir()
    shared.chmod(0o2770)
    config = write_config(tmp_path, pg.dsn, extra=f'backups_dir = "{shared}"')
    r = cli("runbook", "run", "manual-backup", "--answer", "offsite=kept locally on purpose", config=config)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    files = sorted(shared.iterdir())
    assert any(f.suffix == ".dump" for f in files) and any(f.suffix == ".sha256" for f in files), files
    for f in files:
        assert mode(f) == 0o640, f"{f.name} is {oct(mode(f))}"
    assert mode(shared) == 0o2770 and not (state_dir() / "backups").exists()
    audit = (state_dir() / "audit.jsonl").read_text(encoding="utf-8")
    assert f"$ mkdir -p -m 2770 {shared}" in audit and f"$ chmod 640 {shared}/" in audit


def test_what_a_step_writes_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        r = asyncio.run(ShellExecutor().execute(
            ShellCall(argv=("sh", "-c", f"echo secret-ish > {tmp_path}/dump.sql; mkdir {tmp_path}/d")), timeout_s=10))
    finally:
        os.umask(old)
    assert r.ok, r.error
    assert mode(tmp_path / "dump.sql") == 0o600 and mode(tmp_path / "d") == 0o700


def test_incident_exports_are_private(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql://nobody@127.0.0.1:9/none")
    opened = cli("incident", "open", "--severity", "P2", "--title", "api down", config=config)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    ref = next(w for w in opened.stdout.split() if w.startswith("INC-")).strip(":,.")
    for fmt in ("md", "json"):
        out = tmp_path / f"pm.{fmt}"
        r = cli("incident", "export", ref, "--format", fmt, "--output", str(out), config=config)
        assert r.returncode == 0, r.stdout + r.stderr
        assert mode(out) == 0o600
    for f in (state_dir() / "incidents").rglob("*"):
        if f.is_file():
            assert mode(f) == 0o600, f


def _fill_audit(n: int) -> None:
    log = LocalAuditLog.in_state_dir(state_dir())
    for i in range(n):
        asyncio.run(log.append(audit_record(phase="before", run_id=f"run-{i:03d}", outcome="running")))


def test_audit_json_gives_every_record_by_default(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql://nobody@127.0.0.1:9/none")
    _fill_audit(70)
    r = cli("audit", "--json", config=config)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["run_id"] for line in r.stdout.splitlines()] == [f"run-{i:03d}" for i in range(70)]
    assert "note:" not in r.stderr

    r = cli("audit", "--json", "--limit", "10", config=config)
    assert [json.loads(line)["run_id"] for line in r.stdout.splitlines()] == [f"run-{i:03d}" for i in range(60, 70)]
    assert "only the newest 10 records" in r.stderr and "--limit 0" in r.stderr

    text = cli("audit", config=config)
    assert len(text.stdout.splitlines()) == 50 and "only the newest 50 records" in text.stderr
    exact = cli("audit", "--json", "--limit", "70", config=config)
    assert len(exact.stdout.splitlines()) == 70 and "note:" not in exact.stderr
