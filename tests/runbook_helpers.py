"""Helpers for the runbook tests: a config with a profile on the test server, user runbooks, sessions."""

from __future__ import annotations

import textwrap
from pathlib import Path

from cs_console.config import config_dir
from cs_console.services.session import Session, session_from_args
from tests.sessions import session_args


def write_config(tmp_path: Path, dsn: str, *, environment: str = "production", extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(f"""\
        default_profile = "prod"
        [profiles.prod]
        environment = "{environment}"
        db_dsn = "{dsn}"
        {extra}
        """), encoding="utf-8")
    path.chmod(0o600)
    return path


def write_runbook(text: str, name: str) -> Path:
    d = config_dir() / "runbooks"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_session(config: Path, *, read_only: bool = False, demo: bool = False) -> Session:
    return session_from_args(session_args(config=config, read_only=read_only, demo=demo))


TERMINATE_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-terminate"
title = "Terminate test backends"
group = "Incident"

[[inputs]]
name = "app"
type = "identifier"

[[steps]]
id = "count"
kind = "check"
title = "Backends of the application"
sql = "select count(*)::int as n from pg_stat_activity where application_name = $1"
params = ["{{app}}"]
expect = "value.n >= 0"
[steps.capture]
save_as = "before"
parse = "row"

[[steps]]
id = "terminate"
kind = "sql"
title = "Terminate the application's backends"
risk = "destructive"
preconditions = ["count"]
sql = "select pg_terminate_backend(pid, 5000) as terminated from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()"
params = ["{{app}}"]
rollback = "Clients reconnect."
[steps.preview]
sql = "select pid, usename from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()"
params = ["{{app}}"]
[steps.confirm]
phrase = "{{preview.count}}"
show = ["len(preview)"]
[steps.dry_run]
sql_wrap = "explain"
[steps.verify]
sql = "select count(*)::int from pg_stat_activity where application_name = $1"
params = ["{{app}}"]
parse = "value"
expect = "value == 0"
"""
