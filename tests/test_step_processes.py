"""A step's processes never outlive the console: the console (a real `cs-console runbook run`
subprocess) is killed mid-step by a terminal hang-up, SIGHUP, SIGTERM or SIGKILL, and no process of
the step (the `sleep` its `sh -c` started) is left; the resumed run finds the step `unknown` and
never re-runs it. Plus the executor's own rules: timeouts and leftovers kill the whole group."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from cs_console.backends.executors.shell import ShellExecutor
from cs_console.config import state_dir
from cs_console.domain.runbooks.calls import ShellCall
from tests.runbook_helpers import write_config, write_runbook

ROOT = Path(__file__).resolve().parent.parent

SLEEP_RUNBOOK = """\
schema = "cs-console.runbook/v1"
id = "t-sleep"
title = "A step that sleeps"
group = "Daily"

[[steps]]
id = "nap"
kind = "shell"
title = "start, sleep, end"
risk = "write"
argv = ["sh", "-c", "echo start; sleep {seconds}; echo end"]
timeout_s = 60
"""


def sleeps(seconds: str) -> list[int]:
    """Live processes running `sleep <seconds>` (the value is unique to the test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            pass
    return found


def _start_console(config: Path, how: str) -> tuple[subprocess.Popen[bytes], int | None]:
    cmd = [sys.executable, "-m", "cs_console", "runbook", "run", "t-sleep", "--config", str(config)]
    if how != "hangup":
        return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()), None
    # The SSH case: the console's terminal is a pty whose master side goes away.
    master, slave = os.openpty()

    def take_tty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=take_tty, env=os.environ.copy())
    os.close(slave)
    return proc, master


def _wait_running(seconds: str, proc: subprocess.Popen[bytes]) -> str:
    runs = state_dir() / "runs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the console ended before the step ran"
        for f in runs.glob("*.json") if runs.exists() else []:
            data = json.loads(f.read_text())
            if any(s["step_id"] == "nap" and s["state"] == "running" for s in data["steps"]) and sleeps(seconds):
                return str(data["run_id"])
        time.sleep(0.05)
    raise AssertionError("the step never started")


@pytest.mark.parametrize("how", ["hangup", "SIGHUP", "SIGTERM", "SIGKILL"])
def test_no_process_of_the_step_outlives_the_console(tmp_path: Path, how: str) -> None:
    seconds = f"15.{secrets.randbelow(10**6):06d}"
    config = write_config(tmp_path, "postgresql://nobody@127.0.0.1:9/none")
    write_runbook(SLEEP_RUNBOOK.format(seconds=seconds), "t-sleep")
    proc, master = _start_console(config, how)
    try:
        run_id = _wait_running(seconds, proc)
        if how == "hangup":
            assert master is not None
            os.close(master)
            master = None
        else:
            proc.send_signal(getattr(signal, how))
        proc.wait(timeout=10)
        # The watchdog stops the group (SIGTERM, SIGKILL after 3 s): well before the sleep would end.
        deadline = time.monotonic() + 6
        while sleeps(seconds):
            assert time.monotonic() < deadline, f"the step's sleep outlived the console ({how}): {sleeps(seconds)}"
            time.sleep(0.05)
    finally:
        if master is not None:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
        for pid in sleeps(seconds):
            os.kill(pid, signal.SIGKILL)

    r = subprocess.run([sys.executable, "-m", "cs_console", "runbook", "run", "t-sleep", "--resume", run_id, "--config", str(config)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert r.returncode == 3, r.stdout + r.stderr
    assert "outcome unknown for nap" in r.stderr
    state = json.loads((state_dir() / "runs" / f"{run_id}.json").read_text())
    nap = next(s for s in state["steps"] if s["step_id"] == "nap")
    assert nap["state"] == "unknown"
    assert not sleeps(seconds), "the unknown step was re-run"


def _run(call: ShellCall, timeout_s: float = 10) -> tuple:
    lines: list[str] = []
    result = asyncio.run(ShellExecutor().execute(call, timeout_s=timeout_s, on_output=lines.append))
    return result, lines


def test_what_a_step_leaves_behind_is_killed_when_it_ends() -> None:
    seconds = f"16.{secrets.randbelow(10**6):06d}"
    started = time.monotonic()
    result, lines = _run(ShellCall(script=f"echo a; sleep {seconds} & echo b"))
    assert result.ok and lines == ["a", "b"]
    assert time.monotonic() - started < 5  # the background sleep did not hold the output open
    deadline = time.monotonic() + 3
    while sleeps(seconds):
        assert time.monotonic() < deadline, "a background process of the step kept running"
        time.sleep(0.05)


def test_a_timeout_kills_the_whole_group_even_when_it_ignores_sigterm() -> None:
    seconds = f"17.{secrets.randbelow(10**6):06d}"
    result, lines = _run(ShellCall(script=f"trap '' TERM; echo up; sleep {seconds}; echo never"), timeout_s=1)
    assert result.timed_out and not result.ok and lines == ["up"]
    assert result.exit_code == -signal.SIGKILL
    assert not sleeps(seconds)


def test_exit_status_signals_and_start_errors_are_the_steps_own() -> None:
    assert _run(ShellCall(argv=("sh", "-c", "exit 7")))[0].exit_code == 7
    r, _ = _run(ShellCall(script="kill -TERM $$"))
    assert r.exit_code == -signal.SIGTERM and "signal 15" in r.error
    r, _ = _run(ShellCall(argv=("no-such-program-here",)))
    assert (r.ok, r.exit_code, r.error) == (False, 127, "program not found: no-such-program-here")
    r, _ = _run(ShellCall(argv=("true",), cwd="/no/such/dir"))
    assert not r.ok and "no such directory" in r.error
    r, lines = _run(ShellCall(argv=("sh", "-c", "echo $CS_T"), env=(("CS_T", "x y"),)))
    assert r.ok and lines == ["x y"]


def test_the_step_does_not_hold_the_consoles_line() -> None:
    # Only the watchdog holds the socket: the step's own open files are its stdio.
    r, lines = _run(ShellCall(argv=("sh", "-c", "ls /proc/$$/fd")))
    assert r.ok and sorted(lines, key=int) == ["0", "1", "2"]
