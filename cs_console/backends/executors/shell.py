"""Shell steps: a subprocess from an argv list (no shell), or a script only when the step says so.

- argv runs directly (``pg_dump``, ``supabase functions deploy``); a
  ``script = true`` step runs ``/bin/sh -eu -c <command>``.
- stdout and stderr are merged and streamed line by line to the callback
  (the engine redacts before anyone sees them); the captured text is capped.
- The child is its own process group (a timeout kills the whole group:
  SIGTERM, then SIGKILL after a grace period) and, on Linux, is told to die
  with the console (PR_SET_PDEATHSIG), so a dropped session leaves no orphan
  half-way through a restore.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from collections.abc import Mapping

from cs_console.domain.runbooks.calls import Call, ExecResult, OutputCallback, ShellCall
from cs_console.domain.safe_text import decode_bytes

KILL_GRACE_S = 3.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
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
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=env, cwd=call.cwd or None,
                process_group=0, preexec_fn=_die_with_parent,
            )
        except FileNotFoundError:
            return ExecResult(False, error=f"program not found: {argv[0]}", exit_code=127)
        except PermissionError:
            return ExecResult(False, error=f"not executable: {argv[0]}", exit_code=126)
        except OSError as exc:
            return ExecResult(False, error=f"cannot start {argv[0]}: {exc.strerror or exc}")

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
            await self._kill(proc)
        except asyncio.CancelledError:
            await self._kill(proc)
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
    async def _kill(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(proc.wait(), timeout=KILL_GRACE_S)
        except asyncio.TimeoutError:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
