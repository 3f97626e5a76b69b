"""A step's payload (sql, argv/command, url, console, and the demo mapping) and its probes.

Each payload family has its own keys; a key of another family, or SQL that a
read-only step or a probe must not run, is an error pointing at that key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cs_console.domain.runbooks.loader_errors import LoadContext
from cs_console.domain.runbooks.loader_fields import (
    check_expr,
    check_no_secret_on_command_line,
    check_template,
    read_number,
    read_str_list,
    reject_unknown,
)
from cs_console.domain.runbooks.schema import (
    Action,
    ConsoleAction,
    DemoAction,
    HttpAction,
    Parse,
    Probe,
    ShellAction,
    SqlAction,
    Transaction,
)
from cs_console.domain.toml_lines import line_of

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Statements PostgreSQL refuses inside a transaction block: they run with transaction = "none".
NO_TRANSACTION_RE = re.compile(
    r"^\s*(vacuum\b|reindex\b.*\bconcurrently\b|create\s+(unique\s+)?index\s+concurrently\b|"
    r"drop\s+index\s+concurrently\b|alter\s+system\b|create\s+database\b|drop\s+database\b|cluster\b)",
    re.IGNORECASE | re.DOTALL,
)
# Effects a ROLLBACK does not undo: such SQL cannot be dry-run with sql_wrap = "rollback".
NOT_ROLLED_BACK_RE = re.compile(
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|nextval|setval|dblink|"
    r"pg_advisory|\bvacuum\b|\bconcurrently\b|pg_notify|\bnotify\b|lo_export|copy\s.*\bto\b",
    re.IGNORECASE | re.DOTALL,
)

ACTION_KEYS = {
    "sql", "params", "database", "transaction", "statement_timeout_ms", "lock_timeout_ms",
    "argv", "command", "script", "env", "cwd",
    "method", "url", "headers", "json", "body", "expect_status",
    "console", "demo",
}
PROBE_KEYS = ACTION_KEYS | {"expect", "parse"}
CONSOLE_CALLS = ("health", "metrics", "logs", "log_groups", "functions", "backups")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def parse_action(ctx: LoadContext, raw: Mapping[str, Any], path: str, disp: str, known: set[str], *, demo_only_ok: bool = False) -> Action | None:
    """The live payload (exactly one) plus the optional demo mapping."""
    present = [k for k in ("sql", "argv", "command", "url", "console") if k in raw]
    if len(present) > 1:
        raise ctx.fail(f"{path}.{present[1]}", f"{disp}.{present[1]}",
                       "exactly one of sql, argv, command (script = true), url, console")
    demo = None
    if "demo" in raw:
        demo = _demo(ctx, raw["demo"], f"{path}.demo", f"{disp}.demo", known)
    if not present:
        if demo is not None and demo_only_ok:
            return Action(demo=demo)
        if demo is not None:
            raise ctx.fail(f"{path}.demo", f"{disp}", "a live payload (sql, argv, command, url or console) besides demo")
        return None
    kind = present[0]
    # Keys that belong to another payload are a mistake worth pointing at.
    families = {
        "sql": {"sql", "params", "database", "transaction", "statement_timeout_ms", "lock_timeout_ms"},
        "argv": {"argv", "env", "cwd"},
        "command": {"command", "script", "env", "cwd"},
        "url": {"method", "url", "headers", "json", "body", "expect_status"},
        "console": {"console"},
    }
    for k in raw:
        if k in ACTION_KEYS and k != "demo" and k not in families[kind]:
            raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", f"no {k} with a {kind} payload")
    if kind == "sql":
        query = raw["sql"]
        if not isinstance(query, str) or not query.strip():
            raise ctx.fail(f"{path}.sql", f"{disp}.sql", "SQL text")
        check_template(ctx, query, f"{path}.sql", f"{disp}.sql", known, sql=True)
        params = read_str_list(ctx, raw.get("params", []), f"{path}.params", f"{disp}.params")
        for p in params:
            check_template(ctx, p, f"{path}.params", f"{disp}.params", known)
        database = raw.get("database")
        if database is not None:
            if not isinstance(database, str) or not database:
                raise ctx.fail(f"{path}.database", f"{disp}.database", "a database name (template)")
            check_template(ctx, database, f"{path}.database", f"{disp}.database", known)
        needs_none = bool(NO_TRANSACTION_RE.match(query))
        tx_raw = raw.get("transaction")
        if tx_raw is None:
            tx = Transaction.NONE if needs_none else Transaction.SINGLE
        else:
            try:
                tx = Transaction(tx_raw)
            except ValueError:
                raise ctx.fail(f"{path}.transaction", f"{disp}.transaction", "\"single\" or \"none\"") from None
            if needs_none and tx is Transaction.SINGLE:
                raise ctx.fail(f"{path}.transaction", f"{disp}.transaction",
                               "\"none\": this statement cannot run inside a transaction block")
        timeouts = {}
        for k in ("statement_timeout_ms", "lock_timeout_ms"):
            if k in raw:
                timeouts[k] = int(read_number(ctx, raw[k], f"{path}.{k}", f"{disp}.{k}", lo=1, hi=86_400_000))
        return Action(sql=SqlAction(query, params, database, tx, **timeouts), demo=demo)
    if kind in ("argv", "command"):
        env: list[tuple[str, str]] = []
        if "env" in raw:
            if not isinstance(raw["env"], dict):
                raise ctx.fail(f"{path}.env", f"{disp}.env", "a table of NAME = \"value\"")
            for k, v in raw["env"].items():
                if not ENV_NAME_RE.match(k) or not isinstance(v, str):
                    raise ctx.fail(f"{path}.env.{k}", f"{disp}.env.{k}", "NAME = \"string\"")
                check_template(ctx, v, f"{path}.env.{k}", f"{disp}.env.{k}", known)
                env.append((k, v))
        cwd = raw.get("cwd")
        if cwd is not None:
            if not isinstance(cwd, str):
                raise ctx.fail(f"{path}.cwd", f"{disp}.cwd", "a directory (template)")
            check_template(ctx, cwd, f"{path}.cwd", f"{disp}.cwd", known)
        if kind == "argv":
            argv = read_str_list(ctx, raw["argv"], f"{path}.argv", f"{disp}.argv")
            if not argv or not argv[0]:
                raise ctx.fail(f"{path}.argv", f"{disp}.argv", "a non-empty list: program, then arguments")
            for a in argv:
                check_template(ctx, a, f"{path}.argv", f"{disp}.argv", known)
                check_no_secret_on_command_line(ctx, a, f"{path}.argv", f"{disp}.argv")
            return Action(shell=ShellAction(argv=argv, env=tuple(env), cwd=cwd), demo=demo)
        if raw.get("script") is not True:
            raise ctx.fail(f"{path}.command", f"{disp}.command",
                           "script = true beside a shell command string (or use argv = [...])")
        command = raw["command"]
        if not isinstance(command, str) or not command.strip():
            raise ctx.fail(f"{path}.command", f"{disp}.command", "shell script text")
        check_template(ctx, command, f"{path}.command", f"{disp}.command", known)
        check_no_secret_on_command_line(ctx, command, f"{path}.command", f"{disp}.command")  # sh -c <script> is a command line too
        return Action(shell=ShellAction(command=command, env=tuple(env), cwd=cwd), demo=demo)
    if kind == "url":
        url = raw["url"]
        if not isinstance(url, str) or not re.match(r"^(https?://|\{\{)", url):
            raise ctx.fail(f"{path}.url", f"{disp}.url", "an http(s) URL (template)")
        check_template(ctx, url, f"{path}.url", f"{disp}.url", known)
        method = str(raw.get("method", "GET")).upper()
        if method not in HTTP_METHODS:
            raise ctx.fail(f"{path}.method", f"{disp}.method", "one of " + ", ".join(HTTP_METHODS))
        headers: list[tuple[str, str]] = []
        if "headers" in raw:
            if not isinstance(raw["headers"], dict):
                raise ctx.fail(f"{path}.headers", f"{disp}.headers", "a table of Header = \"value\"")
            for k, v in raw["headers"].items():
                if not isinstance(v, str):
                    raise ctx.fail(f"{path}.headers.{k}", f"{disp}.headers.{k}", "a string")
                check_template(ctx, v, f"{path}.headers.{k}", f"{disp}.headers.{k}", known)
                headers.append((k, v))
        if "json" in raw and "body" in raw:
            raise ctx.fail(f"{path}.body", f"{disp}.body", "json or body, not both")
        body = raw.get("body")
        if body is not None and not isinstance(body, str):
            raise ctx.fail(f"{path}.body", f"{disp}.body", "a string")
        for text in _strings_in(raw.get("json")):
            check_template(ctx, text, f"{path}.json", f"{disp}.json", known)
        expect = raw.get("expect_status", [200])
        if isinstance(expect, int) and not isinstance(expect, bool):
            expect = [expect]
        if not isinstance(expect, list) or not expect or not all(isinstance(x, int) and 100 <= x <= 599 for x in expect):
            raise ctx.fail(f"{path}.expect_status", f"{disp}.expect_status", "a list of HTTP status codes")
        return Action(http=HttpAction(method, url, tuple(headers), raw.get("json"), body, tuple(expect)), demo=demo)
    console = raw["console"]
    call, args = _call_table(ctx, console, f"{path}.console", f"{disp}.console", known)
    if call not in CONSOLE_CALLS:
        raise ctx.fail(f"{path}.console", f"{disp}.console.call", "one of " + ", ".join(CONSOLE_CALLS))
    return Action(console=ConsoleAction(call, args), demo=demo)


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def _call_table(ctx: LoadContext, raw: Any, path: str, disp: str, known: set[str]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    if isinstance(raw, str):
        raw = {"call": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("call"), str) or set(raw) - {"call", "args"}:
        raise ctx.fail(path, disp, "a table { call = \"name\", args = { ... } } (or just \"name\")")
    call = raw["call"]
    if not re.match(r"^[a-z][a-z0-9_]*$", call):
        raise ctx.fail(path, f"{disp}.call", "a method name of lowercase letters, digits and _")
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise ctx.fail(path, f"{disp}.args", "a table")
    for text in _strings_in(args):
        check_template(ctx, text, path, f"{disp}.args", known)
    return call, tuple(args.items())


def _demo(ctx: LoadContext, raw: Any, path: str, disp: str, known: set[str]) -> DemoAction:
    call, args = _call_table(ctx, raw, path, disp, known)
    return DemoAction(call, args)


def default_parse(action: Action | None) -> Parse:
    if action is None:
        return Parse.TEXT
    kind = action.payload_kind
    return {"sql": Parse.ROWS, "shell": Parse.TEXT, "http": Parse.JSON, "console": Parse.JSON, "demo": Parse.JSON}.get(kind, Parse.TEXT)


def read_parse_mode(ctx: LoadContext, v: Any, path: str, disp: str) -> Parse:
    try:
        return Parse(v)
    except ValueError:
        raise ctx.fail(path, disp, "one of " + ", ".join(p.value for p in Parse)) from None


def parse_probe(ctx: LoadContext, raw: Any, path: str, disp: str, known: set[str], *, need_expect: bool) -> Probe:
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table with a read-only action (sql, argv, url, console) and expect")
    reject_unknown(ctx, raw, PROBE_KEYS, path, disp)
    action = parse_action(ctx, raw, path, disp, known)
    if action is None:
        raise ctx.fail(path, disp, "a read-only action: one of sql, argv, command (script = true), url, console")
    if action.sql and NOT_ROLLED_BACK_RE.search(action.sql.query):
        raise ctx.fail(f"{path}.sql", f"{disp}.sql", "read-only SQL (a probe must not change anything)")
    if action.http and action.http.method not in ("GET", "HEAD") and not (action.http.method == "POST" and "retrieve" in action.http.url):
        raise ctx.fail(f"{path}.method", f"{disp}.method", "GET or HEAD (a probe must not change anything)")
    expect = raw.get("expect")
    if expect is None and need_expect:
        raise ctx.fail(path, f"{disp}.expect", "an expression the captured value must satisfy")
    if expect is not None:
        check_expr(ctx, expect, f"{path}.expect", f"{disp}.expect", known)
    parse = read_parse_mode(ctx, raw["parse"], f"{path}.parse", f"{disp}.parse") if "parse" in raw else default_parse(action)
    return Probe(action, expect, parse, line_of(ctx.lines, path))
