"""A backup where the server asks for no password: pg_dump runs without PGPASSWORD.

Real PostgreSQL (tests/pg_server.py, trust on loopback) and real pg_dump / pg_restore
subprocesses. `{{secret.db_password|optional}}` leaves PGPASSWORD out when the profile's
password variable is unset, so libpq uses what the host has: trust, peer or ident auth, or
a password file (~/.pgpass, PGPASSFILE).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cs_console.domain.runbooks.run_state import RunStatus
from cs_console.services.runbooks.catalog import load_catalog
from cs_console.wiring.runbooks import open_engine
from tests.runbook_helpers import make_session, write_config

pytestmark = pytest.mark.postgres


async def _backup(session, table: str) -> tuple[object, list[tuple[str, str, str]]]:
    from cs_console.wiring.environment import build_environment

    engine = open_engine(session, load_catalog(user_dir=Path("/nonexistent")).get("manual-backup"), environment=build_environment(session, one_shot=True))
    seen: list[tuple[str, str, str]] = []
    try:
        run = await engine.start({"table": table})
        while (step := engine.next_step()) is not None:
            out = await engine.execute(step.id, answer="kept locally on purpose" if step.id == "offsite" else None)
            seen.append((step.id, out.state.value, out.detail))
            if out.stopped:
                break
    finally:
        await engine.close()
    return run, seen


def _make_db(pg, name: str, owner: str = "postgres") -> None:
    pg.psql(f"drop database if exists {name}")
    pg.psql(f"create database {name} owner {owner}")
    pg.psql("create table public.conversations (id serial primary key, title text); "
            "insert into public.conversations (title) select 'c' || g from generate_series(1, 321) g", db=name)
    if owner != "postgres":
        pg.psql(f"alter table public.conversations owner to {owner}", db=name)


async def test_backup_runs_pg_dump_without_a_password_on_a_trusting_server(pg, tmp_path, monkeypatch) -> None:
    assert shutil.which("pg_dump") and shutil.which("pg_restore")
    monkeypatch.delenv("PGPASSWORD", raising=False)  # the profile's db_password_env: not set
    _make_db(pg, "nopw_source")
    session = make_session(write_config(tmp_path, pg.dsn_for("nopw_source"), environment="staging"))
    run, seen = await _backup(session, "public.conversations")
    states = {sid: state for sid, state, _ in seen}
    assert run.status is RunStatus.SUCCEEDED, seen
    assert states["dump_table"] == states["checksum"] == states["verify"] == "succeeded", seen
    assert not any("secret not set" in detail for _, _, detail in seen)
    dump = next((session.state_dir / "backups").glob("nopw_source-public.conversations-*.dump"))
    assert dump.stat().st_size > 0


async def test_a_password_file_serves_a_role_that_needs_a_password(pg, tmp_path, monkeypatch) -> None:
    """No PGPASSWORD, a role the server asks a password of, and a PGPASSFILE: pg_dump finds it there.
    Without the file the run stops at its first database step with the server's own reason,
    never a hang or a prompt."""
    password = "pw-for-the-backup-role-7"
    pg.psql("do $$ begin if not exists (select from pg_roles where rolname = 'backup_pw') then "
            f"create role backup_pw login password '{password}'; end if; end $$")
    hba = pg.data / "pg_hba.conf"
    rule = "host all backup_pw 127.0.0.1/32 scram-sha-256\n"
    text = hba.read_text()
    if rule not in text:
        hba.write_text(rule + text)  # first match wins: only this role needs a password
        pg.psql("select pg_reload_conf()")
    _make_db(pg, "pw_source", owner="backup_pw")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg.port}:*:backup_pw:{password}\n")
    passfile.chmod(0o600)

    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-file"))
    session = make_session(write_config(tmp_path, pg.dsn_for("pw_source", user="backup_pw"), environment="staging"))
    run, seen = await _backup(session, "public.conversations")
    failed = [(sid, detail) for sid, state, detail in seen if state == "failed"]
    assert failed and run.status is not RunStatus.SUCCEEDED and "dump_table" not in {sid for sid, _, _ in seen if _ == "succeeded"}
    assert "password authentication failed" in failed[0][1] and password not in str(seen)

    monkeypatch.setenv("PGPASSFILE", str(passfile))
    run, seen = await _backup(session, "public.conversations")
    assert run.status is RunStatus.SUCCEEDED, seen
    assert {sid: state for sid, state, _ in seen}["verify"] == "succeeded"
