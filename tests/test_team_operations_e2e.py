"""Issue 17's check, end to end: two real OS users (created with useradd, each console a real
`cs-console` subprocess running as that user, from its own SSH client) on one team database.

1. Alice starts restore-from-backup against a scratch database and reaches the guarded restore:
   it waits for a second person. Alice's own approval is refused. Bob approves (CLI). Alice's
   console runs the restore once; the team audit has both people.
2. Alice runs it again and is SIGKILLed in the middle of the restore. Bob sees the run (owner
   gone), takes it over (typed run id; audited with both names); the interrupted restore is
   `unknown`. Bob decides (not done), Alice approves Bob's re-run, the run finishes. The run's
   backups directory (`backups_dir`, a directory of the team's group) is the same for Bob: the
   restore's preconditions find Alice's safety backup there, nothing is copied.
"""

from __future__ import annotations

import importlib.metadata
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                 reason="needs root to create the two OS users (useradd)")]

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {"alice": ("csops-alice", "203.0.113.7"), "bob": ("csops-bob", "198.51.100.2")}
TEAM_GROUP = "csops-team"  # the engineers' group: it owns the shared backups directory


def _reachable_by_others(path: Path) -> bool:
    """Every directory above `path` lets other users through (o+x) and the file is o+x."""
    path = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


def _interpreter_for_others() -> str | None:
    """An interpreter another OS user can run, of this Python's minor version (it reads the same wheels).

    CI's interpreter lives under /root (0700); the system one of the same version then stands in.
    """
    if _reachable_by_others(Path(sys.executable)):
        return sys.executable
    candidate = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    return str(candidate) if candidate.exists() and _reachable_by_others(candidate) else None


def _runtime_distributions() -> list[importlib.metadata.Distribution]:
    """cs-console's runtime dependencies and theirs, transitively (no extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(r) for r in importlib.metadata.requires("cs-console") or []]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        dist = importlib.metadata.distribution(req.name)
        seen[name] = dist
        todo.extend(Requirement(r) for r in dist.requires or [])
    return list(seen.values())


def _site_for_others(scratch: Path) -> str:
    """A site-packages directory the other OS users can read: this one, or a copy of what cs-console needs.

    Without a venv (CI), pip installs under /root, which no other user may enter; the copy holds only the
    files of the runtime dependency closure, so it is small and exactly what the console imports.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    if _reachable_by_others(site):
        return str(site)
    target = scratch / "site-packages"
    if target.exists():
        return str(target)
    for dist in _runtime_distributions():
        for file in dist.files or []:
            source = Path(dist.locate_file(file)).resolve()
            if site not in source.parents or not source.is_file():
                continue  # console scripts and the like live outside site-packages
            dest = target / source.relative_to(site)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return str(target)


PYTHON = _interpreter_for_others()


def _ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
    subprocess.run(["usermod", "--append", "--groups", TEAM_GROUP, name], check=True, capture_output=True)
    return pwd.getpwnam(name)


class Console:
    """One engineer: an OS user with their own config and state dirs, connecting from their own SSH client."""

    def __init__(self, who: str, base: Path, db_dsn: str, team_dsn: str, backups: Path | None) -> None:
        login, self.ssh_client = PEOPLE[who]
        self.team_gid = _ensure_group(TEAM_GROUP)
        self.pw = _ensure_user(login)
        self.home = base / who
        self.home.mkdir(mode=0o700)
        (self.home / "config").mkdir()
        self.config = self.home / "config" / "config.toml"
        self.config.write_text(
            'default_profile = "prod"\n[profiles.prod]\nenvironment = "production"\n'
            f'db_dsn = "{db_dsn}"\nstore = "postgres"\nteam_dsn = "{team_dsn}"\n'
            + (f'backups_dir = "{backups}"\n' if backups else ""), encoding="utf-8")
        self.config.chmod(0o600)
        for path in [self.home, *self.home.rglob("*")]:
            os.chown(path, self.pw.pw_uid, self.pw.pw_gid)
        self.state = self.home / "state" / "cs-console"
        self.site = _site_for_others(base)

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": f"{ROOT}:{self.site}", "HOME": str(self.home),
            "LOGNAME": self.pw.pw_name, "USER": self.pw.pw_name, "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_STATE_HOME": str(self.home / "state"), "SSH_CLIENT": f"{self.ssh_client} 50022 22",
            "PGPASSWORD": "unused-trust-auth", "TERM": "xterm-256color", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        }

    def argv(self, *args: str) -> list[str]:
        return [PYTHON, "-m", "cs_console", *args, "--config", str(self.config)]

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=self.env(),
                              user=self.pw.pw_uid, group=self.pw.pw_gid, extra_groups=[self.team_gid])

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env(), user=self.pw.pw_uid, group=self.pw.pw_gid, extra_groups=[self.team_gid])


def _out(r: subprocess.CompletedProcess[str]) -> str:
    return r.stdout + r.stderr


def _run_id(r: subprocess.CompletedProcess[str]) -> str:
    line = next(l for l in r.stdout.splitlines() if l.startswith("run ") and " of restore-from-backup on " in l)
    return line.split()[1]


def _team_audit(pg, team_db: str, run_id: str) -> list[dict]:
    raw = pg.psql(f"select coalesce(json_agg(record order by id), '[]') from cs_console.runbook_audit where run_id = '{run_id}'",
                  db=team_db)
    return json.loads(raw)


def _steps(pg, team_db: str, run_id: str) -> dict[str, str]:
    raw = pg.psql(f"select state from cs_console.runbook_runs where run_id = '{run_id}'", db=team_db)
    return {s["step_id"]: s["state"] for s in json.loads(raw)["steps"]} if raw else {}


@pytest.fixture
def team(pg):
    if PYTHON is None:
        pytest.skip("no Python interpreter that the other OS users can run")
    tag = secrets.token_hex(3)
    names = {"team": f"team_e2e_{tag}", "src": f"rb_src_{tag}", "tgt": f"rb_tgt_{tag}"}
    for db in names.values():
        pg.psql(f"create database {db}")
    pg.psql("create table conversations (id int primary key, body text);"
            " insert into conversations select g, 'message ' || g from generate_series(1, 1234) g", db=names["src"])
    base = Path(tempfile.mkdtemp(prefix="cs-team-e2e-"))
    base.chmod(0o755)
    _site_for_others(base)
    backup = base / "conversations.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(backup), pg.dsn_for(names["src"])], check=True)
    backup.chmod(0o644)
    yield names, base, backup
    shutil.rmtree(base, ignore_errors=True)
    for db in names.values():
        pg.psql(f"drop database if exists {db} with (force)")


def _fill_target(pg, db: str) -> None:
    pg.psql("drop table if exists conversations; create table conversations (id int primary key, body text);"
            " insert into conversations values (1, 'today'), (2, 'today')", db=db)


def test_two_people_one_restore_then_a_take_over(pg, team) -> None:
    names, base, backup = team
    tgt = names["tgt"]
    backups = base / "team-backups"  # the team's: group-owned, setgid, no access for others
    alice = Console("alice", base, pg.dsn, pg.dsn_for(names["team"]), backups)
    # Bob's own profile names no backups_dir (his would be his state dir): a run keeps the directory it started with.
    bob = Console("bob", base, pg.dsn, pg.dsn_for(names["team"]), None)
    backups.mkdir()
    os.chown(backups, 0, alice.team_gid)
    backups.chmod(0o2770)
    inputs = ("--input", f"backup_file={backup}", "--input", f"target_database={tgt}", "--answer", "stop_writers=target is not in use")

    # ---- 1. Alice reaches the guarded step: it waits for a second person.
    _fill_target(pg, tgt)
    r = alice.run("runbook", "run", "restore-from-backup", *inputs, "--confirm", tgt)
    assert r.returncode == 3, _out(r)
    run_id = _run_id(r)
    assert "waiting for a second person's approval" in r.stderr and f"runbook approve {run_id} restore" in r.stderr
    assert pg.psql("select count(*) from conversations", db=tgt) == "2", "nothing was restored"
    listed = bob.run("runbook", "runs", "--team")
    assert listed.returncode == 0, _out(listed)
    assert run_id in listed.stdout and "by csops-alice@203.0.113.7" in listed.stdout and "waiting for approval: restore" in listed.stdout

    # Alice cannot approve her own step; Bob's wrong phrase is refused; Bob approves with the phrase.
    r = alice.run("runbook", "approve", run_id, "restore", "--confirm", tgt)
    assert r.returncode == 2 and "the same OS user" in r.stderr, _out(r)
    r = bob.run("runbook", "approve", run_id, "restore", "--confirm", "production")
    assert r.returncode == 2 and "phrase does not match" in r.stderr, _out(r)
    r = bob.run("runbook", "approve", run_id, "restore", "--confirm", tgt)
    assert r.returncode == 0, _out(r)
    assert "csops-alice@203.0.113.7 asks to run restore-from-backup/restore" in r.stdout and "pg_restore" in r.stdout

    r = alice.run("runbook", "run", "restore-from-backup", "--resume", run_id, "--confirm", tgt, "--answer", "resume_writers=resumed")
    assert r.returncode == 0, _out(r)
    assert pg.psql("select count(*) from conversations", db=tgt) == "1234"
    audit = _team_audit(pg, names["team"], run_id)
    befores = [a for a in audit if a["phase"] == "before" and a.get("step_id") == "restore"]
    assert len(befores) == 1, "the restore ran once"
    assert befores[0]["user"] == "csops-alice" and befores[0]["approved_by"] == "csops-bob"
    people = {(a.get("outcome"), a.get("user")) for a in audit if a["phase"] == "approval"}
    assert {("approval-requested", "csops-alice"), ("approval-refused", "csops-alice"), ("approval-refused", "csops-bob"),
            ("approved", "csops-bob"), ("approval-used", "csops-alice")} <= people
    assert _steps(pg, names["team"], run_id)["restore"] == "succeeded"

    # ---- 2. Alice again; Bob approves; Alice is SIGKILLed in the middle of the restore.
    _fill_target(pg, tgt)
    r = alice.run("runbook", "run", "restore-from-backup", *inputs, "--confirm", tgt)
    assert r.returncode == 3, _out(r)
    run2 = _run_id(r)
    assert bob.run("runbook", "approve", run2, "restore", "--confirm", tgt).returncode == 0
    # A session holding the target's table makes pg_restore wait: the step is running when the kill comes.
    locker = subprocess.Popen(["psql", "-X", "-q", "-d", pg.dsn_for(tgt), "-c",
                               "begin; lock table conversations in access exclusive mode; select pg_sleep(120)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while pg.psql("select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
                      " where c.relname = 'conversations' and l.granted and l.mode = 'AccessExclusiveLock'", db=tgt) != "1":
            assert time.monotonic() < deadline, "the locker never took its lock"
            time.sleep(0.1)
        proc = alice.popen("runbook", "run", "restore-from-backup", "--resume", run2, "--confirm", tgt,
                           "--answer", "resume_writers=resumed")
        deadline = time.monotonic() + 60
        while not (_steps(pg, names["team"], run2).get("restore") == "running"
                   and pg.psql("select count(*) from pg_stat_activity where application_name = 'pg_restore'"
                               f" and datname = '{tgt}' and wait_event_type = 'Lock'") == "1"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the restore never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while pg.psql(f"select count(*) from pg_stat_activity where application_name = 'pg_restore' and datname = '{tgt}'") != "0":
            assert time.monotonic() < deadline, "the killed console's pg_restore outlived it"
            time.sleep(0.1)
    finally:
        locker.kill()
        locker.wait(timeout=10)
    assert pg.psql("select count(*) from conversations", db=tgt) == "2", "the interrupted restore rolled back"

    listed = bob.run("runbook", "runs", "--team")
    line = next(l for l in listed.stdout.splitlines() if l.startswith(run2))
    assert "by csops-alice@203.0.113.7  at restore" in line and f"OWNER GONE: cs-console runbook takeover {run2}" in line
    r = bob.run("runbook", "takeover", run2)
    assert r.returncode == 2 and f"--confirm {run2}" in r.stderr, _out(r)
    r = bob.run("runbook", "takeover", run2, "--confirm", run2)
    assert r.returncode == 0, _out(r)
    assert "outcome unknown for restore" in r.stdout and "taken over from csops-alice@203.0.113.7" in r.stdout
    assert "backups directory" not in r.stdout, "Bob's account can use the run's backups directory"
    assert _steps(pg, names["team"], run2)["restore"] == "unknown"
    # Alice, back, can no longer write to what is now Bob's run.
    r = alice.run("runbook", "run", "restore-from-backup", "--resume", run2)
    assert r.returncode == 2 and "belongs to csops-bob" in r.stderr, _out(r)

    # Alice's safety backup is where the run keeps its backups, the team's directory: Bob's console uses it
    # (the restore's preconditions read it), not his own state dir's, and nothing is copied.
    safety = backups / f"safety-{tgt}-{run2}.dump"
    assert safety.stat().st_uid == alice.pw.pw_uid
    # pg_dump writes its file 0600; the runbook's own step made it readable by the team's group (nothing by hand),
    # and the audit has the rendered command.
    assert stat.S_IMODE(safety.stat().st_mode) == 0o640
    shared = [a for a in _team_audit(pg, names["team"], run2) if a["phase"] == "before" and a.get("step_id") == "safety_access"]
    assert len(shared) == 1 and f"chmod 640 {safety}" in json.dumps(shared[0]), shared

    # Bob decides: not done (it rolled back). Its re-run needs a second person again: Alice.
    r = bob.run("runbook", "run", "restore-from-backup", "--resume", run2, "--mark", "restore=not-done", "--confirm", tgt)
    assert r.returncode == 3 and "waiting for a second person's approval" in r.stderr, _out(r)
    assert bob.run("runbook", "approve", run2, "restore", "--confirm", tgt).returncode == 2  # Bob cannot approve himself
    assert alice.run("runbook", "approve", run2, "restore", "--confirm", tgt).returncode == 0
    r = bob.run("runbook", "run", "restore-from-backup", "--resume", run2, "--confirm", tgt, "--answer", "resume_writers=resumed")
    assert r.returncode == 0, _out(r)
    assert pg.psql("select count(*) from conversations", db=tgt) == "1234"
    steps = _steps(pg, names["team"], run2)
    assert steps["restore"] == "succeeded" and steps["verify_rows"] == "succeeded" and steps["safety_verified"] == "succeeded"
    assert not (bob.state / "backups").exists(), "Bob's console used the run's backups directory, never his own"
    audit = _team_audit(pg, names["team"], run2)
    took = [a for a in audit if a["phase"] == "takeover"]
    assert len(took) == 1 and took[0]["user"] == "csops-bob" and took[0]["previous_owner"] == "csops-alice"
    marks = [a for a in audit if a["phase"] == "mark" and a.get("step_id") == "restore"]
    assert [(m["outcome"], m["user"]) for m in marks] == [("marked-not-done", "csops-bob")]
    befores = [(a["user"], a.get("approved_by")) for a in audit if a["phase"] == "before" and a.get("step_id") == "restore"]
    assert befores == [("csops-alice", "csops-bob"), ("csops-bob", "csops-alice")]
    assert bob.run("runbook", "runs", "--team").stdout.strip() == "no team runs in progress"
