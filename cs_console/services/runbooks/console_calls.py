"""`console = { call = ... }` actions: the console's own sources, for live and demo alike.

- ``health``   → ``{"overall": "HEALTHY", "unhealthy": 0, "components": [{name, status, detail, latency_ms}]}``
- ``metrics``  → ``{"db_connections_pct": 42.0, ..., "functions": [{slug, status, error_rate_pct, ...}]}``
  (metric keys with ``.`` replaced by ``_``; missing values are None)
- ``logs``     → ``[{ts, level, source, message, function, status}]``; args ``source`` (function, edge,
  auth, postgres, all), ``since_minutes`` (60), ``min_level`` (e.g. "error"), ``contains``, ``limit`` (200)
- ``log_groups`` → ``[{<by>, records, per_min, last_seen}]``, most records first: the same records as
  ``logs`` counted per ``by`` (ip, user, function, status, level, source); ``limit`` (20) groups
- ``functions`` → the per-function stats from the metrics sources
- ``backups``  → ``{"age_h": <hours since the last good backup> | None}`` from the metrics sources
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cs_console.domain.row_table import format_rows
from cs_console.domain.runbooks.calls import Call, ConsoleCall, ExecResult, OutputCallback

if TYPE_CHECKING:
    from cs_console.services.environment import Environment


def _fn_dict(f: Any) -> dict[str, Any]:
    return {k: getattr(f, k) for k in getattr(f, "__dataclass_fields__", {})}


async def _metrics(env: "Environment") -> dict[str, Any]:
    out: dict[str, Any] = {}
    functions: list[dict[str, Any]] = []
    for source in env.metrics_sources:
        try:
            snap = await source.collect()
        except Exception as exc:  # a failing source is reported, not fatal
            out.setdefault("errors", []).append(f"{getattr(source, 'name', 'source')}: {type(exc).__name__}")
            continue
        for key, sample in snap.samples.items():
            if sample.value is not None or key.replace(".", "_") not in out:
                out[key.replace(".", "_")] = sample.value
        functions += [_fn_dict(f) for f in snap.functions]
    out["functions"] = functions
    return out


async def _health(env: "Environment") -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    for probe in env.health_probes:
        try:
            for c in await probe.check():
                components.append({"name": c.name, "status": str(c.status), "detail": c.detail, "latency_ms": c.latency_ms})
        except Exception as exc:
            components.append({"name": getattr(probe, "name", "probe"), "status": "UNKNOWN", "detail": type(exc).__name__, "latency_ms": None})
    rank = {"HEALTHY": 0, "DEGRADED": 1, "DOWN": 2, "UNKNOWN": 3}
    statuses = [c["status"] for c in components]
    overall = "UNKNOWN" if not statuses else max(statuses, key=lambda s: (rank.get(s, 3) if s != "UNKNOWN" else 0.5))
    if statuses and all(s == "UNKNOWN" for s in statuses):
        overall = "UNKNOWN"
    return {"overall": overall, "unhealthy": sum(1 for s in statuses if s != "HEALTHY"), "components": components}


async def _records(env: "Environment", args: dict[str, Any]) -> list[Any]:
    """The log records of `source` since `since_minutes`, at `min_level` or above, containing `contains`."""
    from cs_console.domain.log_record import Level

    source = env.log_source(str(args.get("source", "all")))
    since = env.clock.now() - timedelta(minutes=float(args.get("since_minutes", 60)))
    min_level = args.get("min_level")
    floor = Level[str(min_level).upper()] if min_level else None
    contains = str(args.get("contains", "")).lower()
    out: list[Any] = []
    async for batch in source.records(since, False):
        for r in batch:
            if floor is not None and r.level < floor:
                continue
            if contains and contains not in r.message.lower():
                continue
            out.append(r)
    return out


async def _logs(env: "Environment", args: dict[str, Any]) -> list[dict[str, Any]]:
    limit = int(args.get("limit", 200))
    return [{"ts": r.ts.isoformat(), "level": r.level.name.lower(), "source": r.source, "message": r.message,
             "function": r.function, "status": r.status} for r in (await _records(env, args))[-limit:]]


async def _log_groups(env: "Environment", args: dict[str, Any]) -> list[dict[str, Any]]:
    from cs_console.domain.log_grouping import GROUP_FIELDS, group_by

    by = str(args.get("by", "ip"))
    if by not in GROUP_FIELDS:
        raise ValueError(f"by: one of {', '.join(GROUP_FIELDS)} (got {by!r})")
    grouping = group_by(await _records(env, args), by)
    return [{by: g.value, "records": g.count, "per_min": round(g.per_min, 1), "last_seen": g.last.isoformat(timespec="seconds")}
            for g in grouping.groups[: int(args.get("limit", 20))]]


class ConsoleExecutor:
    """Runs ``console`` actions on the environment's own sources (the live ones, or the demo's)."""

    def __init__(self, environment: "Environment") -> None:
        self.environment = environment

    async def aclose(self) -> None:
        return None  # the environment belongs to whoever built it

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int = 65536,
                      on_output: OutputCallback | None = None) -> ExecResult:
        assert isinstance(call, ConsoleCall)
        return await run_console_call(self.environment, call, timeout_s=timeout_s, on_output=on_output)


async def run_console_call(env: "Environment", call: ConsoleCall, *, timeout_s: float, on_output: OutputCallback | None) -> ExecResult:
    started = time.monotonic()
    try:
        if call.call == "health":
            value: Any = await asyncio.wait_for(_health(env), timeout_s)
            lines = [f"overall: {value['overall']}"] + [f"{c['name']}: {c['status']} {c['detail']}".rstrip() for c in value["components"]]
        elif call.call == "metrics":
            value = await asyncio.wait_for(_metrics(env), timeout_s)
            lines = [f"{k} = {v}" for k, v in value.items() if k != "functions" and v is not None]
        elif call.call == "functions":
            value = (await asyncio.wait_for(_metrics(env), timeout_s))["functions"]
            lines = [f"{f.get('slug')}: {f.get('status')} errors {f.get('error_rate_pct')}%" for f in value]
        elif call.call == "backups":
            m = await asyncio.wait_for(_metrics(env), timeout_s)
            value = {"age_h": m.get("backup_age_h")}
            lines = [f"last good backup: {value['age_h']} h ago" if value["age_h"] is not None else "backup age unknown"]
        elif call.call == "log_groups":
            value = await asyncio.wait_for(_log_groups(env, dict(call.args)), timeout_s)
            lines = format_rows(value) if value else ["(no matching log records)"]
        elif call.call == "logs":
            value = await asyncio.wait_for(_logs(env, dict(call.args)), timeout_s)
            lines = [f"{r['ts']} {r['level']} {r['source']} {r['message']}" for r in value[-200:]] or ["(no matching log records)"]
        else:
            return ExecResult(False, error=f"unknown console call {call.call!r}")
    except asyncio.TimeoutError:
        return ExecResult(False, error=f"timed out after {timeout_s:g}s", timed_out=True)
    except Exception as exc:  # a source fault is a failed step, never a crash
        return ExecResult(False, error=f"{call.call}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "),
                          duration_ms=int((time.monotonic() - started) * 1000))
    if on_output:
        for line in lines:
            on_output(line)
    return ExecResult(True, value=value, output="\n".join(lines), duration_ms=int((time.monotonic() - started) * 1000),
                      rows_affected=len(value) if isinstance(value, list) else None)
