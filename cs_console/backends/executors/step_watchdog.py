"""The watchdog a shell step runs under: the step's processes never outlive the console.

    python -I step_watchdog.py <control-fd> -- <argv...>

The console starts this in a session of its own (a terminal hang-up does not
reach it) and keeps the other end of the socket `<control-fd>`. The watchdog
starts the step as the leader of a new process group (pgid = the step's pid,
shared by everything the step forks) and:

- tells the console on the socket how the start went (one JSON line:
  ``{"started": pid}`` or ``{"error": ..., "exit_code": 127}``); the console
  kills that group itself on a timeout or a cancel;
- when the socket reaches end-of-file (the console died: hang-up, SIGTERM,
  crash, even SIGKILL, since the kernel closes a dead process's files), when
  the console's thread that started it died (PR_SET_PDEATHSIG, Linux), or on
  SIGTERM/SIGINT/SIGHUP to the watchdog itself, it stops the whole group:
  SIGTERM, then SIGKILL after a grace period;
- when the step's first process ends, whatever it left in its group is killed
  (a step's processes live and die together; nothing runs on unseen);
- exits with the step's status (a step killed by signal N kills the watchdog
  with signal N, so the console sees the same return code).

Only the standard library, run with ``-I``: starting it costs a few tens of
milliseconds and does not depend on the step's PYTHONPATH.
A step that leaves its process group on purpose (setsid, a daemon) is outside
this rule: such a step must say so in its runbook and be verified by hand.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading

KILL_GRACE_S = 3.0
_PR_SET_PDEATHSIG = 1


def _send(sock: socket.socket, msg: dict[str, object]) -> None:
    try:
        sock.sendall((json.dumps(msg) + "\n").encode())
    except OSError:
        pass  # the console is gone; the control thread stops the step


def _stop_group(pgid: int, done: threading.Event) -> None:
    """SIGTERM to the step's group, SIGKILL after the grace period."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not done.wait(KILL_GRACE_S):
        _kill_rest(pgid)


def _kill_rest(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: nothing of the step is left


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: step_watchdog.py <control-fd> -- <argv...>", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(argv[0]))
    os.set_inheritable(sock.fileno(), False)  # the step must not hold the console's line
    console_pid = os.getppid()
    stopping = threading.Event()
    done = threading.Event()
    pgid = 0

    def stop_once() -> None:
        if pgid and not stopping.is_set():
            stopping.set()
            threading.Thread(target=_stop_group, args=(pgid, done), daemon=True).start()

    requested: list[bool] = []

    def on_signal(signum: int, _frame: object) -> None:
        # SIGHUP is the parent-death signal, which Linux also sends when only the console's
        # *thread* that started us ended: it counts only when the console itself is gone.
        if signum == signal.SIGHUP and os.getppid() == console_pid:
            return
        requested.append(True)
        stop_once()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGHUP)
        except Exception:
            pass
    if os.getppid() != console_pid:  # the console died before prctl took effect
        return 125

    program = argv[2:]
    os.umask(0o077)  # what a step writes (a dump, an export) is private: 0600 files, 0700 folders
    try:
        # Inherits stdout/stderr (the console's pipe); the Python handlers above are
        # reset to the defaults by exec.
        proc = subprocess.Popen(program, stdin=subprocess.DEVNULL, close_fds=True, process_group=0)
    except FileNotFoundError:
        _send(sock, {"error": f"program not found: {program[0]}", "exit_code": 127})
        return 127
    except PermissionError:
        _send(sock, {"error": f"not executable: {program[0]}", "exit_code": 126})
        return 126
    except OSError as exc:
        _send(sock, {"error": f"cannot start {program[0]}: {exc.strerror or exc}", "exit_code": 126})
        return 126
    pgid = proc.pid
    _send(sock, {"started": proc.pid})

    def watch_console() -> None:
        try:
            while sock.recv(64):
                pass
        except OSError:
            pass
        if not done.is_set():
            stop_once()

    threading.Thread(target=watch_console, daemon=True).start()
    if requested or os.getppid() != console_pid:
        stop_once()  # asked to stop before the step's group existed
    code = proc.wait()
    done.set()
    _kill_rest(pgid)
    if code < 0:  # die of the same signal, so the console sees the same status
        sys.stdout.flush()
        try:
            signal.signal(-code, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL / SIGSTOP cannot be caught anyway
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
