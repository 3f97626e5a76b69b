"""Runbook steps on the demo: each step's ``demo = { call = ..., args = ... }`` mapping
calls that method of the simulated project (``backends/demo/model/project.py``
``DemoProject``: terminate_backend, redeploy_function, ban_user,
vacuum_analyze, ...), so the simulation reacts to what the runbook does.

Only public methods are callable, and a project that declares
``RUNBOOK_CALLS`` (a set of names) restricts the mapping to those. A call the
project does not have is reported honestly (``not_simulated``), never faked.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any

from cs_console.domain.row_table import format_rows, is_rows
from cs_console.domain.runbooks.calls import Call, DemoCall, ExecResult, OutputCallback


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (str, int)):
        return value.value
    return str(value)


class DemoExecutor:
    def __init__(self, project: Any) -> None:
        self.project = project

    async def aclose(self) -> None:
        return None

    def supports(self, call: str) -> bool:
        if call.startswith("_"):
            return False
        allowed = getattr(self.project, "RUNBOOK_CALLS", None)
        if allowed is not None and call not in allowed:
            return False
        return callable(getattr(self.project, call, None))

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int = 65536, on_output: OutputCallback | None = None) -> ExecResult:
        assert isinstance(call, DemoCall)
        started = time.monotonic()
        if not self.supports(call.call):
            return ExecResult(False, error=f"the demo has no simulation for {call.call!r}", not_simulated=True)
        fn = getattr(self.project, call.call)
        try:
            result = fn(**call.args)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, timeout=timeout_s)
        except TypeError as exc:
            return ExecResult(False, error=f"demo {call.call}: bad arguments ({exc})")
        except asyncio.TimeoutError:
            return ExecResult(False, error=f"timed out after {timeout_s:g}s", timed_out=True)
        except (ValueError, KeyError, LookupError, RuntimeError) as exc:
            return ExecResult(False, error=f"demo {call.call}: {exc}", duration_ms=int((time.monotonic() - started) * 1000))
        value = _jsonable(result)
        if isinstance(value, str):
            text = value
        elif is_rows(value):
            text = "\n".join(format_rows(value))  # rows read as the SQL executor shows them
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        truncated = len(text) > max_bytes
        text = text[:max_bytes]
        if on_output:
            for line in text.splitlines()[:200]:
                on_output(line)
        rows_affected = None
        if isinstance(value, int) and not isinstance(value, bool):
            rows_affected = value
        elif isinstance(value, list):
            rows_affected = len(value)
        elif isinstance(value, dict):
            for key in ("terminated", "affected", "rows_affected", "count"):
                if isinstance(value.get(key), int):
                    rows_affected = value[key]
                    break
        # A bare False (terminate_backend on a gone pid) or {"ok": false} is the simulation saying no.
        ok = value is not False and not (isinstance(value, dict) and value.get("ok") is False)
        err = "" if ok else (str(value.get("error") or value.get("message") or "the simulation refused")
                             if isinstance(value, dict) else f"demo {call.call}: nothing done")
        return ExecResult(ok, value=value, output=text, rows_affected=rows_affected, error=err,
                          duration_ms=int((time.monotonic() - started) * 1000), truncated=truncated)
