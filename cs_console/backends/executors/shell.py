"""Shell steps: a subprocess from an argv list (no shell), or a script only when the step says so.

- argv runs directly (``pg_dump``, ``supabase functions deploy``); a
  ``script = true`` step runs ``/bin/sh -eu -c <command>``.
- stdout and stderr are merged and streamed line by line to the callback
  (the engine redacts before anyone sees them); the captured text is capped.
- The step runs under a tiny watchdog (`step_watchdog.py`, its own session)
  that holds a socket to the console. The step is the leader of its own
  process group; everything it forks is in it. One rule: **a step's processes
  never outlive the console.** A timeout or a cancel kills the group (SIGTERM,
  then SIGKILL after a grace period); when the console dies in any way
  (hang-up, SIGTERM, crash, SIGKILL) the socket closes and the watchdog stops
  the group the same way; when the step's first process ends, what it left in
  its group is killed. A resumed run then finds the step `unknown` (or pending
  again when idempotent) with nothing of it still running.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from collections.abc import Mapping

from cs_console.domain.runbooks.calls import Call, ExecResult, OutputCallback, ShellCall
from cs_console.domain.safe_text import decode_bytes

KILL_GRACE_S = 3.0
_PR_SET_PDEATHSIG = 1
WATCHDOG = str(Path(__file__).with_name("step_watchdog.py"))


def _die_with_parent() -> None:  # runs in the watchdog between fork and exec
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGHUP)  # the watchdog stops the step's group on it
        except Exception:
            pass


class ShellExecutor:
    def __init__(self, base_env: Mapping[str, str] | None = None) -> None:
        self.base_env = dict(base_env if base_env is not None else os.environ)

    async def aclose(self) -> None:
        return None

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int = 65536, on_output: OutputCallback | None = None) -> ExecResult:
        assert isinstance(call, ShellCall)
        argv = ["/bin/sh", "-eu", "-c", call.script] if call.script is not None else list(call.argv)
        env = {**self.base_env, **dict(call.env)}
        if call.cwd and not os.path.isdir(call.cwd):
            return ExecResult(False, error=f"cannot start {argv[0]}: no such directory {call.cwd}", exit_code=126)
        started = time.monotonic()
        mine, theirs = socket.socketpair()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", WATCHDOG, str(theirs.fileno()), "--", *argv,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=env, cwd=call.cwd or None,
                start_new_session=True, pass_fds=(theirs.fileno(),), preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            mine.close()
            return ExecResult(False, error=f"cannot start {argv[0]}: {exc.strerror or exc}")
        finally:
            theirs.close()
        try:
            return await self._supervise(proc, mine, argv, timeout_s=timeout_s, max_bytes=max_bytes,
                                         on_output=on_output, started=started)
        finally:
            mine.close()  # the watchdog sees end-of-file and stops whatever is left

    async def _supervise(self, proc: asyncio.subprocess.Process, control: socket.socket, argv: list[str], *,
                         timeout_s: float, max_bytes: int, on_output: OutputCallback | None, started: float) -> ExecResult:
        try:
            hello = await asyncio.wait_for(self._hello(control), timeout=max(timeout_s, 10.0))
        except (asyncio.TimeoutError, OSError, ValueError):
            hello = {}
        except asyncio.CancelledError:
            self._kill_watchdog(proc)
            raise
        if "error" in hello:
            await proc.wait()
            return ExecResult(False, error=str(hello["error"]), exit_code=int(hello.get("exit_code", 126)))
        pgid = hello.get("started")
        if not isinstance(pgid, int):
            self._kill_watchdog(proc)
            await proc.wait()
            return ExecResult(False, error=f"cannot start {argv[0]}: the step watchdog did not answer")

        captured = bytearray()
        truncated = False

        async def pump() -> None:
            nonlocal truncated
            assert proc.stdout is not None
            while True:
                line = await proc.stdout.readline()
                if not line:
                    return
                if len(captured) < max_bytes:
                    captured.extend(line[: max_bytes - len(captured)])
                    if len(captured) >= max_bytes:
                        truncated = True
                else:
                    truncated = True
                if on_output:
                    on_output(decode_bytes(line).rstrip("\r\n"))

        timed_out = False
        try:
            await asyncio.wait_for(asyncio.gather(pump(), proc.wait()), timeout=timeout_s)
        except asyncio.TimeoutError:
            timed_out = True
            await self._kill(proc, pgid)
        except asyncio.CancelledError:
            await self._kill(proc, pgid)
            raise
        code = proc.returncode
        text = decode_bytes(bytes(captured))
        if truncated:
            text += "\n…[output cut]"
        duration = int((time.monotonic() - started) * 1000)
        if timed_out:
            return ExecResult(False, value=text, output=text, exit_code=code, error=f"timed out after {timeout_s:g}s (killed)",
                              duration_ms=duration, truncated=truncated, timed_out=True)
        ok = code == 0
        err = "" if ok else f"exit code {code}" + (f" (signal {-code})" if code is not None and code < 0 else "")
        return ExecResult(ok, value=text, output=text, exit_code=code, error=err, duration_ms=duration, truncated=truncated)

    @staticmethod
    async def _hello(line: socket.socket) -> dict[str, object]:
        """The watchdog's one JSON line: {"started": pid} or {"error": ..., "exit_code": n}."""
        loop = asyncio.get_running_loop()
        line.setblocking(False)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = await loop.sock_recv(line, 4096)
            if not chunk:
                raise ValueError("watchdog closed its line")
            buf += chunk
        msg = json.loads(buf.decode())
        if not isinstance(msg, dict):
            raise ValueError("watchdog said something else")
        return msg

    @staticmethod
    def _kill_watchdog(proc: asyncio.subprocess.Process) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the watchdog's own session, before any step exists
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    async def _kill(proc: asyncio.subprocess.Process, pgid: int) -> None:
        """The step's whole group: SIGTERM, SIGKILL after the grace period; the watchdog reports and exits."""
        if proc.returncode is not None:
            return
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), timeout=KILL_GRACE_S)
        except asyncio.TimeoutError:
            for target in (pgid, proc.pid):
                try:
                    os.killpg(target, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            await proc.wait()
