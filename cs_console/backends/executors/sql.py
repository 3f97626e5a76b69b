"""SQL steps over asyncpg.

- One short-lived connection per call (a runbook step is rare and must not
  share state with the monitoring pool), ``application_name`` = cs-console runbook.
- ``transaction = "single"``: the statement runs in BEGIN ... COMMIT;
  ``"none"``: autocommit through the simple query protocol, which is what
  VACUUM, CREATE INDEX CONCURRENTLY and CREATE DATABASE need.
- Parameters are converted to the types the server expects for each ``$n``
  (templates render text; ``$1::int`` gets an int).
- Dry runs: ``explain`` asks for the plan (estimated rows), ``rollback`` runs
  the statement and rolls back (real rows affected, nothing kept).
- The step timeout is enforced twice: ``statement_timeout`` on the server and
  a client-side deadline that cancels the query.
- Poolers (PgBouncer, Supavisor): ``application_name`` is the only startup
  parameter (a stock PgBouncer refuses any other), there is no statement cache,
  and the timeouts are ``SET LOCAL`` inside the step's transaction. An autocommit
  step through a pooler gets no session ``SET`` (it would stay on a server
  connection the application shares): its deadline is the client's, and the
  output says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import re
import time
import uuid
from typing import Any

import asyncpg

from cs_console.domain.row_table import format_rows
from cs_console.domain.runbooks.calls import Call, ExecResult, OutputCallback, SqlCall
from cs_console.domain.runbooks.schema import SqlWrap, Transaction

APPLICATION_NAME = "cs-console runbook"

_STATUS_ROWS = re.compile(r"^(?:INSERT \d+|UPDATE|DELETE|SELECT|MOVE|FETCH|COPY|MERGE)\s*(\d+)$")


class _Rollback(Exception):
    pass


def _rows_from_status(status: str | None) -> int | None:
    if not status:
        return None
    m = _STATUS_ROWS.match(status.strip())
    return int(m.group(1)) if m else None


def _json_safe(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    return str(v)


def rows_to_dicts(records: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{k: _json_safe(v) for k, v in r.items()} for r in records]


def _convert_param(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name in ("int2", "int4", "int8", "oid"):
        if isinstance(value, bool):
            return int(value)
        return int(value) if not isinstance(value, int) else value
    if type_name in ("float4", "float8"):
        return float(value)
    if type_name == "numeric":
        return decimal.Decimal(str(value))
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "t", "yes", "1", "on")
    if type_name in ("text", "varchar", "bpchar", "name", "unknown"):
        return value if isinstance(value, str) else str(value)
    if type_name == "interval" and not isinstance(value, dt.timedelta):
        return dt.timedelta(seconds=float(value))
    if type_name in ("_text", "_varchar") and isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if type_name in ("_int4", "_int8") and isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return value


class SqlExecutor:
    """Runs SqlCall against `dsn` (password given separately, never in the DSN)."""

    def __init__(self, dsn: str, password: str | None = None, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.password = password
        self.connect_timeout = connect_timeout

    async def aclose(self) -> None:
        return None

    async def _connect(self, call: SqlCall, timeout_s: float) -> asyncpg.Connection:
        kwargs: dict[str, Any] = {"timeout": min(self.connect_timeout, timeout_s), "statement_cache_size": 0,
                                  "server_settings": {"application_name": APPLICATION_NAME}}
        if self.password:
            kwargs["password"] = self.password
        if call.database:
            kwargs["database"] = call.database
        return await asyncpg.connect(self.dsn, **kwargs)

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int = 65536, on_output: OutputCallback | None = None) -> ExecResult:
        assert isinstance(call, SqlCall)
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(self._run(call, timeout_s, on_output), timeout=timeout_s + 2)
        except asyncio.TimeoutError:
            result = ExecResult(False, error=f"timed out after {timeout_s:g}s", timed_out=True)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            timed_out = isinstance(exc, asyncpg.QueryCanceledError)
            result = ExecResult(False, error=f"{type(exc).__name__}: {msg}", timed_out=timed_out)
        except (OSError, ConnectionError) as exc:
            result = ExecResult(False, error=f"cannot connect to the database: {exc.strerror or exc}")
        result.duration_ms = int((time.monotonic() - started) * 1000)
        text = result.output
        if len(text.encode("utf-8", "replace")) > max_bytes:
            result.output = text.encode("utf-8", "replace")[:max_bytes].decode("utf-8", "ignore") + "\n…[output cut]"
            result.truncated = True
        return result

    async def _run(self, call: SqlCall, timeout_s: float, on_output: OutputCallback | None) -> ExecResult:
        conn = await self._connect(call, timeout_s)
        timeouts = _timeouts(call, timeout_s)
        try:
            if call.wrap is SqlWrap.EXPLAIN:
                async with conn.transaction():
                    await conn.execute(_set_sql(timeouts, local=True))
                    return await self._explain(conn, call, on_output)
            if call.transaction is Transaction.NONE:
                pooled = conn.get_server_pid() != await conn.fetchval("select pg_backend_pid()")
                if not pooled:  # our own connection, closed after this step
                    await conn.execute(_set_sql(timeouts, local=False))
                result = await self._autocommit(conn, call, on_output)
                if pooled:
                    result.output += "\n(through a pooler: the timeout was the console's, not the server's)"
                return result
            try:
                async with conn.transaction():
                    # Everything inside the transaction: through a transaction pooler it is
                    # the one thing that keeps these statements on one server connection.
                    await conn.execute(_set_sql(timeouts, local=True))
                    prepared = await self._prepare_or_script(conn, call)
                    result = await self._fetch(conn, call, prepared, on_output)
                    if call.wrap is SqlWrap.ROLLBACK:
                        raise _Rollback(result)
            except _Rollback as rb:
                result = rb.args[0]
                result.output += "\n(dry run: rolled back)"
                return result
            return result
        finally:
            try:
                await asyncio.wait_for(conn.close(), timeout=5)
            except Exception:
                conn.terminate()

    async def _prepare_or_script(self, conn: asyncpg.Connection, call: SqlCall) -> Any:
        """The prepared statement, or None for a multi-statement script, which cannot be
        prepared and goes through the simple protocol (no params, no rows). The attempt
        sits in a savepoint so a script leaves the transaction usable."""
        try:
            async with conn.transaction():
                return await self._params(conn, call.query, call.params)
        except asyncpg.PostgresSyntaxError as exc:
            if "multiple commands" not in str(exc) or call.params:
                raise
            return None

    async def _params(self, conn: asyncpg.Connection, query: str, params: tuple[Any, ...]) -> tuple[Any, list[Any]]:
        stmt = await conn.prepare(query)
        types = [t.name for t in stmt.get_parameters()]
        if len(types) != len(params):
            raise asyncpg.InterfaceError(f"the SQL has {len(types)} $n parameter(s) but params has {len(params)}")
        return stmt, [_convert_param(v, t) for v, t in zip(params, types)]

    async def _fetch(self, conn: asyncpg.Connection, call: SqlCall, prepared: Any, on_output: OutputCallback | None) -> ExecResult:
        if prepared is None:
            status = await conn.execute(call.query)
            out = status or "OK"
            if on_output:
                on_output(out)
            return ExecResult(True, value=[], output=out, rows_affected=_rows_from_status(status))
        stmt, params = prepared
        records = await stmt.fetch(*params)
        rows = rows_to_dicts(records)
        status = stmt.get_statusmsg()
        lines = format_rows(rows) if stmt.get_attributes() else [status or "OK"]
        if on_output:
            for line in lines:
                on_output(line)
        return ExecResult(True, value=rows, output="\n".join(lines), rows_affected=_rows_from_status(status))

    async def _autocommit(self, conn: asyncpg.Connection, call: SqlCall, on_output: OutputCallback | None) -> ExecResult:
        if call.params:
            # Parameters need the extended protocol; still outside any transaction block.
            stmt, params = await self._params(conn, call.query, call.params)
            records = await stmt.fetch(*params)
            rows = rows_to_dicts(records)
            status = stmt.get_statusmsg()
        else:
            status = await conn.execute(call.query)
            rows = []
        out = "\n".join(format_rows(rows)) if rows else (status or "OK")
        if on_output:
            for line in out.splitlines():
                on_output(line)
        return ExecResult(True, value=rows, output=out, rows_affected=_rows_from_status(status))

    async def _explain(self, conn: asyncpg.Connection, call: SqlCall, on_output: OutputCallback | None) -> ExecResult:
        query = "EXPLAIN (FORMAT JSON) " + call.query.strip().rstrip(";")
        stmt, params = await self._params(conn, query, call.params)
        raw = await stmt.fetchval(*params)
        plan = json.loads(raw) if isinstance(raw, str) else raw
        top = plan[0]["Plan"] if plan else {}
        estimate = int(top.get("Plan Rows", 0))
        lines = [f"estimated rows: {estimate}", *_plan_lines(top)]
        if on_output:
            for line in lines:
                on_output(line)
        return ExecResult(True, value={"estimated_rows": estimate, "plan": top}, output="\n".join(lines), rows_affected=estimate)


def _timeouts(call: SqlCall, timeout_s: float) -> dict[str, str]:
    out = {"statement_timeout": str(call.statement_timeout_ms or int(timeout_s * 1000))}
    if call.lock_timeout_ms:
        out["lock_timeout"] = str(call.lock_timeout_ms)
    return out


def _set_sql(settings: dict[str, str], *, local: bool) -> str:
    scope = "set local" if local else "set"
    return "; ".join(f"{scope} {name} = {int(value)}" for name, value in settings.items())


def _plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    label = node.get("Node Type", "?")
    rel = node.get("Relation Name")
    line = "  " * depth + f"-> {label}" + (f" on {rel}" if rel else "") + f" (rows={node.get('Plan Rows')}, cost={node.get('Total Cost')})"
    out = [line]
    for child in node.get("Plans", []) or []:
        out += _plan_lines(child, depth + 1)
    return out
