"""The team store's absence is never silent: with a real team PostgreSQL stopped, every step above
`read` is refused (nothing written), unless the profile allows a visible, audited degradation
(`allow_without_team_store = true`). Read steps still run. Through real `cs-console` subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cs_console.config import state_dir
from tests.runbook_helpers import write_config, write_runbook

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent

WRITE_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-team-write"
title = "A write step"
group = "Daily"

[[inputs]]
name = "marker"
type = "path"

[[steps]]
id = "look"
kind = "check"
title = "reachable"
sql = "select 1 as one"
expect = "count == 1"

[[steps]]
id = "touch"
kind = "shell"
title = "write the marker"
risk = "write"
argv = ["sh", "-c", "echo written > \\"$MARKER\\""]
env = { MARKER = "{{marker}}" }
"""


def cli(*args: str, config: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cs_console", *args, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def local_audit() -> list[dict]:
    path = state_dir() / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _team_config(tmp_path: Path, db_dsn: str, team_dsn: str, *, allow: bool) -> Path:
    extra = f'store = "postgres"\n        team_dsn = "{team_dsn}"\n'
    if allow:
        extra += "        allow_without_team_store = true\n"
    return write_config(tmp_path, db_dsn, extra=extra)


def test_a_write_step_is_refused_when_the_team_store_is_down(tmp_path: Path, pg, pg_factory) -> None:
    team = pg_factory()
    config = _team_config(tmp_path, pg.dsn, team.dsn, allow=False)
    write_runbook(WRITE_RUNBOOK, "t-team-write")
    marker = tmp_path / "marker.txt"

    r = cli("runbook", "run", "t-team-write", "--input", f"marker={marker}", config=config)
    assert r.returncode == 0, r.stdout + r.stderr  # team store up: nothing to say
    assert marker.read_text() == "written\n" and "degraded" not in r.stdout + r.stderr
    marker.unlink()
    seen = len(local_audit())

    team.stop()
    r = cli("runbook", "run", "t-team-write", "--input", f"marker={marker}", config=config)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refused: t-team-write/touch: the team store is unreachable" in r.stderr
    assert "allow_without_team_store = true" in r.stderr
    assert not marker.exists()
    records = local_audit()[seen:]
    look = [a for a in records if a.get("step_id") == "look" and a["phase"] == "after"]
    assert look and look[-1]["outcome"] == "succeeded"  # reading still works
    refused = [a for a in records if a["phase"] == "refused" and a.get("step_id") == "touch"]
    assert refused and "team store is unreachable" in refused[-1]["detail"]
    assert not any(a.get("step_id") == "touch" and a["phase"] == "before" for a in records)


def test_the_profile_may_allow_a_visible_audited_degradation(tmp_path: Path, pg, pg_factory) -> None:
    team = pg_factory()
    config = _team_config(tmp_path, pg.dsn, team.dsn, allow=True)
    write_runbook(WRITE_RUNBOOK, "t-team-write")
    marker = tmp_path / "marker.txt"
    team.stop()
    r = cli("runbook", "run", "t-team-write", "--input", f"marker={marker}", config=config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker.read_text() == "written\n"
    out = r.stdout + r.stderr
    assert "degraded: the team store is unreachable" in out and "allow_without_team_store = true" in out
    degraded = [a for a in local_audit() if a["phase"] == "degraded"]
    assert [a.get("step_id") for a in degraded] == ["touch"]
    assert degraded[0]["outcome"] == "team-store-down" and degraded[0]["risk"] == "write"


def test_manual_backup_writes_nothing_with_the_team_store_down(tmp_path: Path, pg, pg_factory) -> None:
    team = pg_factory()
    config = _team_config(tmp_path, pg.dsn, team.dsn, allow=False)
    team.stop()
    r = cli("runbook", "run", "manual-backup", config=config)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refused: manual-backup/backups_dir: the team store is unreachable" in r.stderr
    backups = state_dir() / "backups"
    assert not backups.exists() or not any(backups.iterdir())


def test_team_mode_without_a_team_dsn_is_not_a_silent_local_run(tmp_path: Path, pg) -> None:
    config = write_config(tmp_path, pg.dsn, extra='store = "postgres"\n')
    write_runbook(WRITE_RUNBOOK, "t-team-write")
    marker = tmp_path / "marker.txt"
    r = cli("runbook", "run", "t-team-write", "--input", f"marker={marker}", config=config)
    assert r.returncode == 2 and "the team store is not configured" in r.stderr, r.stdout + r.stderr
    assert not marker.exists()
