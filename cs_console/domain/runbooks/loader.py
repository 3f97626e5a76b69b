"""Parse and validate runbook TOML into the schema's dataclasses.

``parse_runbook(text, source)`` is pure (the caller reads the file; see
``services/runbook_catalog.py``). Every problem is a :class:`RunbookError`
whose str() is one line::

    runbook error: <file>:<line>: <key>: <what was expected>

Keys name steps by id once known (``steps.kill_idle.risk``), else by
position (``steps[3]``, 1-based). Validation is strict: unknown keys are
errors (a typo in ``risk`` must not silently become ``read``).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from cs_console.domain.runbooks import expressions, templates
from cs_console.domain.runbooks.inputs import ENV_REF_RE, InputError, convert
from cs_console.domain.runbooks.schema import (
    END,
    GROUPS,
    READ_ONLY_KINDS,
    SUPPORTED_SCHEMAS,
    Action,
    Capture,
    Choice,
    Confirm,
    ConsoleAction,
    DemoAction,
    DryRun,
    FailurePolicy,
    HttpAction,
    InputSpec,
    InputType,
    OnFailure,
    Parse,
    Probe,
    Risk,
    Runbook,
    ShellAction,
    SqlAction,
    SqlWrap,
    Step,
    StepKind,
    Transaction,
)
from cs_console.domain.runbooks.toml_lines import key_lines, line_of

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RETRY_RE = re.compile(r"^retry\s+(\d+)$")

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

TOP_KEYS = {
    "schema", "id", "title", "group", "summary", "version", "tags", "severity_hint",
    "maintenance_windows", "manual_ref", "inputs", "steps",
}
INPUT_KEYS = {"name", "type", "prompt", "help", "required", "default", "pattern", "min", "max", "choices"}
ACTION_KEYS = {
    "sql", "params", "database", "transaction", "statement_timeout_ms", "lock_timeout_ms",
    "argv", "command", "script", "env", "cwd",
    "method", "url", "headers", "json", "body", "expect_status",
    "console", "demo",
}
PROBE_KEYS = ACTION_KEYS | {"expect", "parse"}
STEP_KEYS = ACTION_KEYS | {
    "id", "kind", "title", "why", "risk", "preconditions", "idempotent", "timeout_s", "on_failure",
    "retry_delay_s", "confirm", "dry_run", "preview", "verify", "rollback", "capture", "expect",
    "instructions", "answer", "choices", "default", "ask", "until", "interval_s",
}
CONSOLE_CALLS = ("health", "metrics", "logs", "functions", "backups")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")

# Names an expression may read besides inputs and captures.
EXPRESSION_ROOTS = frozenset({
    "value", "rows", "count", "rows_affected", "exit_code", "status", "output", "answer", "choice",
    "true", "false", *templates.BUILTIN_ROOTS,
})


class RunbookError(ValueError):
    """A broken runbook, phrased as one line for the operator."""

    def __init__(self, source: str, line: int | None, key: str, expected: str) -> None:
        self.source, self.line, self.key, self.expected = source, line, key, expected
        where = source or "<runbook>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"runbook error: {where}: {key}: {expected}")


class _Ctx:
    """Where we are in the document, for error messages."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = key_lines(text)

    def fail(self, path: str, display: str, expected: str) -> RunbookError:
        return RunbookError(self.source, line_of(self.lines, path), display, expected)


def sha256_of(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def parse_runbook(text: str, source: str = "<runbook>", *, builtin: bool = False, sha256: str | None = None) -> Runbook:
    """Parse one runbook; raises RunbookError (never anything else for bad input)."""
    ctx = _Ctx(source, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg).rstrip(".") or "valid TOML"
        raise RunbookError(source, int(m.group(1)) if m else None, "toml", f"valid TOML ({what})") from None
    return _build(ctx, data, builtin, sha256 or sha256_of(text))


# ---------------------------------------------------------------- helpers


def _str(ctx: _Ctx, table: Mapping[str, Any], key: str, path: str, disp: str, *, required: bool = False, default: str = "") -> str:
    if key not in table:
        if required:
            raise ctx.fail(path, f"{disp}.{key}" if disp else key, "a string (it is required)")
        return default
    v = table[key]
    if not isinstance(v, str):
        raise ctx.fail(f"{path}.{key}" if path else key, f"{disp}.{key}" if disp else key, "a string")
    if required and not v.strip():
        raise ctx.fail(f"{path}.{key}" if path else key, f"{disp}.{key}" if disp else key, "a non-empty string")
    return v


def _str_list(ctx: _Ctx, v: Any, path: str, disp: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ctx.fail(path, disp, "a list of strings")
    return tuple(v)


def _number(ctx: _Ctx, v: Any, path: str, disp: str, *, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ctx.fail(path, disp, f"a number from {lo:g} to {hi:g}")
    return float(v)


def _bool(ctx: _Ctx, v: Any, path: str, disp: str) -> bool:
    if not isinstance(v, bool):
        raise ctx.fail(path, disp, "true or false")
    return v


def _unknown(ctx: _Ctx, table: Mapping[str, Any], allowed: set[str], path: str, disp: str) -> None:
    for key in table:
        if key not in allowed:
            raise ctx.fail(f"{path}.{key}" if path else key, f"{disp}.{key}" if disp else key,
                           "a known key (one of " + ", ".join(sorted(allowed)) + ")")


def _expr(ctx: _Ctx, v: Any, path: str, disp: str, known: set[str]) -> str:
    if not isinstance(v, str):
        raise ctx.fail(path, disp, "an expression string")
    try:
        names = expressions.names_used(v)
    except expressions.ExpressionError as exc:
        raise ctx.fail(path, disp, str(exc)) from None
    unknown = names - known - EXPRESSION_ROOTS
    if unknown:
        raise ctx.fail(path, disp, f"names that are inputs, captures (save_as) or built-ins (unknown: {', '.join(sorted(unknown))})")
    return v


def _tmpl(ctx: _Ctx, v: str, path: str, disp: str, known: set[str], *, sql: bool = False) -> str:
    try:
        found = templates.placeholders(v)
    except templates.TemplateError as exc:
        raise ctx.fail(path, disp, str(exc)) from None
    for p in found:
        if p.root not in known and p.root not in templates.BUILTIN_ROOTS:
            raise ctx.fail(path, disp, f"placeholders naming inputs, captures or built-ins (unknown: {{{{{p.path}}}}})")
        if sql and p.filter not in ("ident", "literal"):
            raise ctx.fail(path, disp, f"{{{{{p.path}|ident}}}} or {{{{{p.path}|literal}}}} in SQL text (or a $n parameter), never a bare placeholder")
    return v


# ---------------------------------------------------------------- building


def _build(ctx: _Ctx, data: dict[str, Any], builtin: bool, sha: str) -> Runbook:
    _unknown(ctx, data, TOP_KEYS, "", "")
    schema = data.get("schema")
    if schema not in SUPPORTED_SCHEMAS:
        got = f" (got {schema!r})" if schema is not None else " (missing)"
        raise ctx.fail("schema", "schema", f'"{SUPPORTED_SCHEMAS[-1]}"{got}')
    rid = _str(ctx, data, "id", "", "", required=True)
    if not ID_RE.match(rid):
        raise ctx.fail("id", "id", "lowercase letters, digits, - and _ (1-64 chars, e.g. db-connection-issues)")
    title = _str(ctx, data, "title", "", "", required=True)
    group = _str(ctx, data, "group", "", "", required=True)
    if group not in GROUPS:
        raise ctx.fail("group", "group", "one of " + ", ".join(repr(g) for g in GROUPS))
    version = data.get("version", "1")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str):
        raise ctx.fail("version", "version", "a string such as \"3\"")
    tags = _str_list(ctx, data.get("tags", []), "tags", "tags")
    sev = _str_list(ctx, data.get("severity_hint", []), "severity_hint", "severity_hint")
    for s in sev:
        if s not in ("P0", "P1", "P2", "P3"):
            raise ctx.fail("severity_hint", "severity_hint", "a list of P0, P1, P2, P3")
    windows = _str_list(ctx, data.get("maintenance_windows", []), "maintenance_windows", "maintenance_windows")

    raw_inputs = data.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise ctx.fail("inputs", "inputs", "an array of tables ([[inputs]])")
    inputs = tuple(_input(ctx, raw, i) for i, raw in enumerate(raw_inputs))
    names = [i.name for i in inputs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ctx.fail(f"inputs[{names.index(dup)}]", f"inputs.{dup}", "unique input names")
    secret_inputs = {i.name for i in inputs if i.secret}

    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ctx.fail("steps", "steps", "at least one [[steps]] table")
    # Captures are known by name everywhere (a later step may read an earlier capture).
    captures: set[str] = set()
    for i, raw in enumerate(raw_steps):
        if isinstance(raw, dict) and isinstance(raw.get("capture"), dict):
            sa = raw["capture"].get("save_as")
            if isinstance(sa, str):
                captures.add(sa)
    known = set(names) | captures
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        steps.append(_step(ctx, raw, i, known, set(names), secret_inputs, steps))
    ids = [s.id for s in steps]
    # Forward references (goto) checked once all ids are known.
    for i, s in enumerate(steps):
        disp = f"steps.{s.id}"
        targets = [c.goto for c in s.choices] + ([s.default] if s.default else [])
        for t in targets:
            if t != END and (t not in ids or ids.index(t) <= i):
                raise ctx.fail(f"steps[{i}].choices", disp + ".choices",
                               f"goto naming a LATER step id or \"end\" (got {t!r})")
    return Runbook(
        id=rid, title=title, group=group, steps=tuple(steps), schema=schema,
        summary=_str(ctx, data, "summary", "", ""), version=version, tags=tags, severity_hint=sev,
        maintenance_windows=windows, manual_ref=_str(ctx, data, "manual_ref", "", ""),
        inputs=inputs, source=ctx.source, sha256=sha, builtin=builtin,
    )


def _input(ctx: _Ctx, raw: Any, i: int, *, path: str | None = None, disp: str | None = None, named: bool = True) -> InputSpec:
    path = path or f"inputs[{i}]"
    disp = disp or f"inputs[{i + 1}]"
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table")
    _unknown(ctx, raw, INPUT_KEYS, path, disp)
    name = raw.get("name", "answer" if not named else None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ctx.fail(f"{path}.name", f"{disp}.name", "a name of lowercase letters, digits and _")
    if named and name in templates.BUILTIN_ROOTS:
        raise ctx.fail(f"{path}.name", f"{disp}.name", "a name that is not a built-in (" + ", ".join(sorted(templates.BUILTIN_ROOTS)) + ")")
    if named:
        disp = f"inputs.{name}"
    try:
        itype = InputType(raw.get("type", "string"))
    except ValueError:
        raise ctx.fail(f"{path}.type", f"{disp}.type", "one of " + ", ".join(t.value for t in InputType)) from None
    choices = _str_list(ctx, raw.get("choices", []), f"{path}.choices", f"{disp}.choices")
    if itype is InputType.CHOICE and not choices:
        raise ctx.fail(f"{path}.choices", f"{disp}.choices", "a non-empty list (type = \"choice\")")
    pattern = raw.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise ctx.fail(f"{path}.pattern", f"{disp}.pattern", "a regular expression string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ctx.fail(f"{path}.pattern", f"{disp}.pattern", f"a valid regular expression ({exc})") from None
    lo = raw.get("min")
    hi = raw.get("max")
    for k, v in (("min", lo), ("max", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", "a number")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise ctx.fail(f"{path}.required", f"{disp}.required", "true or false")
    spec = InputSpec(
        name=name, type=itype, prompt=_str(ctx, raw, "prompt", path, disp), help=_str(ctx, raw, "help", path, disp),
        required=required, default=None, pattern=pattern, min=lo, max=hi, choices=choices,
        line=line_of(ctx.lines, path),
    )
    if itype is InputType.SECRET:
        default = raw.get("default")
        if not isinstance(default, str) or not ENV_REF_RE.match(default):
            raise ctx.fail(f"{path}.default", f"{disp}.default",
                           "\"env:NAME\": a secret input only names the environment variable that holds it")
        if pattern or lo is not None or hi is not None or choices:
            raise ctx.fail(path, disp, "no pattern/min/max/choices on a secret input")
    default = raw.get("default")
    if default is not None:
        try:
            convert(spec, default)
        except InputError as exc:
            raise ctx.fail(f"{path}.default", f"{disp}.default", exc.expected) from None
    return InputSpec(**{**{f: getattr(spec, f) for f in spec.__slots__}, "default": default})


def _action(ctx: _Ctx, raw: Mapping[str, Any], path: str, disp: str, known: set[str], *, demo_only_ok: bool = False) -> Action | None:
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
        _tmpl(ctx, query, f"{path}.sql", f"{disp}.sql", known, sql=True)
        params = _str_list(ctx, raw.get("params", []), f"{path}.params", f"{disp}.params")
        for p in params:
            _tmpl(ctx, p, f"{path}.params", f"{disp}.params", known)
        database = raw.get("database")
        if database is not None:
            if not isinstance(database, str) or not database:
                raise ctx.fail(f"{path}.database", f"{disp}.database", "a database name (template)")
            _tmpl(ctx, database, f"{path}.database", f"{disp}.database", known)
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
                timeouts[k] = int(_number(ctx, raw[k], f"{path}.{k}", f"{disp}.{k}", lo=1, hi=86_400_000))
        return Action(sql=SqlAction(query, params, database, tx, **timeouts), demo=demo)
    if kind in ("argv", "command"):
        env: list[tuple[str, str]] = []
        if "env" in raw:
            if not isinstance(raw["env"], dict):
                raise ctx.fail(f"{path}.env", f"{disp}.env", "a table of NAME = \"value\"")
            for k, v in raw["env"].items():
                if not ENV_NAME_RE.match(k) or not isinstance(v, str):
                    raise ctx.fail(f"{path}.env.{k}", f"{disp}.env.{k}", "NAME = \"string\"")
                _tmpl(ctx, v, f"{path}.env.{k}", f"{disp}.env.{k}", known)
                env.append((k, v))
        cwd = raw.get("cwd")
        if cwd is not None:
            if not isinstance(cwd, str):
                raise ctx.fail(f"{path}.cwd", f"{disp}.cwd", "a directory (template)")
            _tmpl(ctx, cwd, f"{path}.cwd", f"{disp}.cwd", known)
        if kind == "argv":
            argv = _str_list(ctx, raw["argv"], f"{path}.argv", f"{disp}.argv")
            if not argv or not argv[0]:
                raise ctx.fail(f"{path}.argv", f"{disp}.argv", "a non-empty list: program, then arguments")
            for a in argv:
                _tmpl(ctx, a, f"{path}.argv", f"{disp}.argv", known)
            return Action(shell=ShellAction(argv=argv, env=tuple(env), cwd=cwd), demo=demo)
        if raw.get("script") is not True:
            raise ctx.fail(f"{path}.command", f"{disp}.command",
                           "script = true beside a shell command string (or use argv = [...])")
        command = raw["command"]
        if not isinstance(command, str) or not command.strip():
            raise ctx.fail(f"{path}.command", f"{disp}.command", "shell script text")
        _tmpl(ctx, command, f"{path}.command", f"{disp}.command", known)
        return Action(shell=ShellAction(command=command, env=tuple(env), cwd=cwd), demo=demo)
    if kind == "url":
        url = raw["url"]
        if not isinstance(url, str) or not re.match(r"^(https?://|\{\{)", url):
            raise ctx.fail(f"{path}.url", f"{disp}.url", "an http(s) URL (template)")
        _tmpl(ctx, url, f"{path}.url", f"{disp}.url", known)
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
                _tmpl(ctx, v, f"{path}.headers.{k}", f"{disp}.headers.{k}", known)
                headers.append((k, v))
        if "json" in raw and "body" in raw:
            raise ctx.fail(f"{path}.body", f"{disp}.body", "json or body, not both")
        body = raw.get("body")
        if body is not None and not isinstance(body, str):
            raise ctx.fail(f"{path}.body", f"{disp}.body", "a string")
        for text in _strings_in(raw.get("json")):
            _tmpl(ctx, text, f"{path}.json", f"{disp}.json", known)
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


def _call_table(ctx: _Ctx, raw: Any, path: str, disp: str, known: set[str]) -> tuple[str, tuple[tuple[str, Any], ...]]:
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
        _tmpl(ctx, text, path, f"{disp}.args", known)
    return call, tuple(args.items())


def _demo(ctx: _Ctx, raw: Any, path: str, disp: str, known: set[str]) -> DemoAction:
    call, args = _call_table(ctx, raw, path, disp, known)
    return DemoAction(call, args)


def _default_parse(action: Action | None) -> Parse:
    if action is None:
        return Parse.TEXT
    kind = action.payload_kind
    return {"sql": Parse.ROWS, "shell": Parse.TEXT, "http": Parse.JSON, "console": Parse.JSON, "demo": Parse.JSON}.get(kind, Parse.TEXT)


def _parse_enum(ctx: _Ctx, v: Any, path: str, disp: str) -> Parse:
    try:
        return Parse(v)
    except ValueError:
        raise ctx.fail(path, disp, "one of " + ", ".join(p.value for p in Parse)) from None


def _probe(ctx: _Ctx, raw: Any, path: str, disp: str, known: set[str], *, need_expect: bool) -> Probe:
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table with a read-only action (sql, argv, url, console) and expect")
    _unknown(ctx, raw, PROBE_KEYS, path, disp)
    action = _action(ctx, raw, path, disp, known)
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
        _expr(ctx, expect, f"{path}.expect", f"{disp}.expect", known)
    parse = _parse_enum(ctx, raw["parse"], f"{path}.parse", f"{disp}.parse") if "parse" in raw else _default_parse(action)
    return Probe(action, expect, parse, line_of(ctx.lines, path))


def _step(ctx: _Ctx, raw: Any, i: int, known: set[str], input_names: set[str], secret_inputs: set[str], earlier: list[Step]) -> Step:
    path = f"steps[{i}]"
    disp = f"steps[{i + 1}]"
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table ([[steps]])")
    sid = raw.get("id")
    if not isinstance(sid, str) or not ID_RE.match(sid) or sid == END:
        raise ctx.fail(f"{path}.id", f"{disp}.id", "a step id of lowercase letters, digits, - and _ (not \"end\")")
    disp = f"steps.{sid}"
    if any(s.id == sid for s in earlier):
        raise ctx.fail(f"{path}.id", f"{disp}.id", "a unique step id (used twice)")
    _unknown(ctx, raw, STEP_KEYS, path, disp)
    try:
        kind = StepKind(raw.get("kind"))
    except ValueError:
        raise ctx.fail(f"{path}.kind", f"{disp}.kind", "one of " + ", ".join(k.value for k in StepKind)) from None
    title = _str(ctx, raw, "title", path, disp, required=True)
    try:
        risk = Risk(raw.get("risk", "read"))
    except ValueError:
        raise ctx.fail(f"{path}.risk", f"{disp}.risk", "one of " + ", ".join(r.value for r in Risk)) from None
    if kind in READ_ONLY_KINDS and risk is not Risk.READ:
        raise ctx.fail(f"{path}.risk", f"{disp}.risk", f"\"read\" (a {kind.value} step never changes anything)")

    # The payload must agree with the kind.
    action: Action | None = None
    if kind in (StepKind.CHECK, StepKind.SQL, StepKind.SHELL, StepKind.HTTP, StepKind.WAIT_UNTIL):
        action = _action(ctx, raw, path, disp, known)
        wanted = {
            StepKind.SQL: ("sql",), StepKind.SHELL: ("shell",), StepKind.HTTP: ("http",),
            StepKind.CHECK: ("sql", "shell", "http", "console"), StepKind.WAIT_UNTIL: ("sql", "shell", "http", "console"),
        }[kind]
        if action is None or action.payload_kind not in wanted:
            names = {"sql": "sql", "shell": "argv (or command with script = true)", "http": "url", "console": "console"}
            raise ctx.fail(path, disp, f"a {kind.value} step with " + " or ".join(names[w] for w in wanted))
        if kind in (StepKind.CHECK, StepKind.WAIT_UNTIL):
            if action.sql and NOT_ROLLED_BACK_RE.search(action.sql.query):
                raise ctx.fail(f"{path}.sql", f"{disp}.sql", f"read-only SQL (a {kind.value} step must not change anything; use kind = \"sql\")")
            if action.http and action.http.method not in ("GET", "HEAD") and "retrieve" not in action.http.url:
                raise ctx.fail(f"{path}.method", f"{disp}.method", f"GET or HEAD (a {kind.value} step must not change anything)")
    else:
        stray = [k for k in raw if k in ACTION_KEYS]
        if stray:
            raise ctx.fail(f"{path}.{stray[0]}", f"{disp}.{stray[0]}", f"no action keys on a {kind.value} step")

    idempotent_default = risk is Risk.READ
    idempotent = _bool(ctx, raw["idempotent"], f"{path}.idempotent", f"{disp}.idempotent") if "idempotent" in raw else idempotent_default
    timeout_s = _number(ctx, raw["timeout_s"], f"{path}.timeout_s", f"{disp}.timeout_s", lo=0.1, hi=86400) if "timeout_s" in raw else 60.0

    policy = FailurePolicy()
    if "on_failure" in raw:
        of = raw["on_failure"]
        m = RETRY_RE.match(of.strip()) if isinstance(of, str) else None
        if of in ("abort", "continue"):
            policy = FailurePolicy(OnFailure(of))
        elif m and 1 <= int(m.group(1)) <= 10:
            if not idempotent and risk is not Risk.READ:
                raise ctx.fail(f"{path}.on_failure", f"{disp}.on_failure",
                               "abort or continue (retry only for idempotent or read steps)")
            policy = FailurePolicy(OnFailure.RETRY, int(m.group(1)))
        else:
            raise ctx.fail(f"{path}.on_failure", f"{disp}.on_failure", "\"abort\", \"continue\" or \"retry N\" (N from 1 to 10)")
    if "retry_delay_s" in raw:
        policy = FailurePolicy(policy.action, policy.retries,
                               _number(ctx, raw["retry_delay_s"], f"{path}.retry_delay_s", f"{disp}.retry_delay_s", lo=0, hi=3600))

    preconditions = _str_list(ctx, raw.get("preconditions", []), f"{path}.preconditions", f"{disp}.preconditions")
    for pre in preconditions:
        target = next((s for s in earlier if s.id == pre), None)
        if target is None or target.kind is not StepKind.CHECK:
            raise ctx.fail(f"{path}.preconditions", f"{disp}.preconditions",
                           f"ids of EARLIER check steps (got {pre!r})")

    confirm = None
    if "confirm" in raw:
        c = raw["confirm"]
        if not risk.guarded:
            raise ctx.fail(f"{path}.confirm", f"{disp}.confirm", "no confirm table on a read/write step (only destructive and irreversible steps are guarded)")
        if not isinstance(c, dict) or set(c) - {"phrase", "show"} or not isinstance(c.get("phrase"), str) or not c["phrase"].strip():
            raise ctx.fail(f"{path}.confirm", f"{disp}.confirm", "a table with phrase = \"{{target}}\" (and optional show = [...])")
        phrase = _tmpl(ctx, c["phrase"], f"{path}.confirm.phrase", f"{disp}.confirm.phrase", known)
        for p in templates.placeholders(phrase):
            if p.root == "secret" or p.root in secret_inputs:
                raise ctx.fail(f"{path}.confirm.phrase", f"{disp}.confirm.phrase", "a phrase without secrets (the operator types it in clear)")
        show = _str_list(ctx, c.get("show", []), f"{path}.confirm.show", f"{disp}.confirm.show")
        for s in show:
            _expr(ctx, s, f"{path}.confirm.show", f"{disp}.confirm.show", known)
        confirm = Confirm(phrase, show)
    elif risk.guarded:
        raise ctx.fail(path, f"{disp}.confirm",
                       "a [steps.confirm] table with the phrase the operator types (the target: \"{{database}}\", "
                       "\"{{user_email}}\", \"{{preview.count}}\", or \"{{environment}}\")")

    dry = DryRun()
    if "dry_run" in raw:
        d = raw["dry_run"]
        if not isinstance(d, dict) or set(d) - {"sql_wrap", "argv"} or len(d) != 1:
            raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run", "a table with sql_wrap = \"explain\"|\"rollback\" or argv = [...]")
        if "sql_wrap" in d:
            if action is None or action.sql is None:
                raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run.sql_wrap", "an sql step (sql_wrap wraps its SQL)")
            try:
                wrap = SqlWrap(d["sql_wrap"])
            except ValueError:
                raise ctx.fail(f"{path}.dry_run.sql_wrap", f"{disp}.dry_run.sql_wrap", "\"explain\" or \"rollback\"") from None
            if wrap is SqlWrap.ROLLBACK and (NOT_ROLLED_BACK_RE.search(action.sql.query) or action.sql.transaction is Transaction.NONE):
                raise ctx.fail(f"{path}.dry_run.sql_wrap", f"{disp}.dry_run.sql_wrap",
                               "\"explain\": this SQL has effects a ROLLBACK does not undo")
            dry = DryRun(sql_wrap=wrap)
        else:
            if action is None or action.shell is None:
                raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run.argv", "a shell step (argv is its dry-run command)")
            argv = _str_list(ctx, d["argv"], f"{path}.dry_run.argv", f"{disp}.dry_run.argv")
            if not argv:
                raise ctx.fail(f"{path}.dry_run.argv", f"{disp}.dry_run.argv", "a non-empty list")
            for a in argv:
                _tmpl(ctx, a, f"{path}.dry_run.argv", f"{disp}.dry_run.argv", known)
            dry = DryRun(argv=argv)

    preview = _probe(ctx, raw["preview"], f"{path}.preview", f"{disp}.preview", known, need_expect=False) if "preview" in raw else None
    verify = _probe(ctx, raw["verify"], f"{path}.verify", f"{disp}.verify", known, need_expect=True) if "verify" in raw else None
    rollback = _str(ctx, raw, "rollback", path, disp)

    capture = Capture(parse=_default_parse(action))
    if "capture" in raw:
        c = raw["capture"]
        if not isinstance(c, dict) or set(c) - {"save_as", "parse", "max_bytes", "redact"}:
            raise ctx.fail(f"{path}.capture", f"{disp}.capture", "a table with save_as, parse, max_bytes, redact")
        save_as = c.get("save_as")
        if save_as is not None and (not isinstance(save_as, str) or not NAME_RE.match(save_as)
                                    or save_as in input_names or save_as in EXPRESSION_ROOTS):
            raise ctx.fail(f"{path}.capture.save_as", f"{disp}.capture.save_as",
                           "a new name of lowercase letters, digits and _ (not an input or built-in)")
        if save_as is not None and any(s.capture.save_as == save_as for s in earlier):
            raise ctx.fail(f"{path}.capture.save_as", f"{disp}.capture.save_as", "a name not saved by an earlier step")
        parse = _parse_enum(ctx, c["parse"], f"{path}.capture.parse", f"{disp}.capture.parse") if "parse" in c else capture.parse
        max_bytes = int(_number(ctx, c["max_bytes"], f"{path}.capture.max_bytes", f"{disp}.capture.max_bytes", lo=256, hi=16 * 1024 * 1024)) if "max_bytes" in c else 65536
        redact = _str_list(ctx, c.get("redact", []), f"{path}.capture.redact", f"{disp}.capture.redact")
        for rx in redact:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ctx.fail(f"{path}.capture.redact", f"{disp}.capture.redact", f"valid regular expressions ({exc})") from None
        capture = Capture(save_as, parse, max_bytes, redact)

    expect = None
    if "expect" in raw:
        if kind is not StepKind.CHECK:
            raise ctx.fail(f"{path}.expect", f"{disp}.expect", "expect only on check steps (use verify for the others)")
        expect = _expr(ctx, raw["expect"], f"{path}.expect", f"{disp}.expect", known)

    instructions = _str(ctx, raw, "instructions", path, disp)
    answer = None
    if kind is StepKind.MANUAL:
        if not instructions.strip():
            raise ctx.fail(f"{path}.instructions", f"{disp}.instructions", "the instructions the operator follows (required for manual steps)")
        if "answer" in raw:
            answer = _input(ctx, raw["answer"], 0, path=f"{path}.answer", disp=f"{disp}.answer", named=False)
            if answer.secret:
                raise ctx.fail(f"{path}.answer.type", f"{disp}.answer.type", "a non-secret type (answers are audited)")
    elif "answer" in raw:
        raise ctx.fail(f"{path}.answer", f"{disp}.answer", "answer only on manual steps")
    elif instructions and kind is not StepKind.MANUAL:
        pass  # extra guidance shown in the wizard is fine on any step

    choices: tuple[Choice, ...] = ()
    default = None
    ask = False
    if kind is StepKind.DECISION:
        ask = _bool(ctx, raw["ask"], f"{path}.ask", f"{disp}.ask") if "ask" in raw else False
        rc = raw.get("choices")
        if not isinstance(rc, list) or not rc:
            raise ctx.fail(f"{path}.choices", f"{disp}.choices", "a non-empty list of { when = \"expr\", goto = \"step\", label = \"...\" }")
        built = []
        for n, ch in enumerate(rc):
            cpath = f"{path}.choices"
            if not isinstance(ch, dict) or set(ch) - {"when", "goto", "label"} or not isinstance(ch.get("goto"), str):
                raise ctx.fail(cpath, f"{disp}.choices[{n + 1}]", "a table { when = \"expr\", goto = \"step id\", label = \"...\" }")
            when = ch.get("when")
            if ask:
                if when is not None:
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].when", "no when with ask = true (the operator chooses)")
                if not isinstance(ch.get("label"), str) or not ch["label"].strip():
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].label", "a label the operator chooses (ask = true)")
            else:
                if when is None:
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].when", "an expression (or ask = true on the step)")
                _expr(ctx, when, cpath, f"{disp}.choices[{n + 1}].when", known)
            label = ch.get("label", "")
            if not isinstance(label, str):
                raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].label", "a string")
            built.append(Choice(ch["goto"], label, when))
        choices = tuple(built)
        default = raw.get("default")
        if default is None and not ask:
            raise ctx.fail(path, f"{disp}.default", "the step id to go to when no choice holds (or \"end\")")
        if default is not None and not isinstance(default, str):
            raise ctx.fail(f"{path}.default", f"{disp}.default", "a step id or \"end\"")
    else:
        for k in ("choices", "default", "ask"):
            if k in raw:
                raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", f"{k} only on decision steps")

    until = None
    interval_s = 5.0
    if kind is StepKind.WAIT_UNTIL:
        if "until" not in raw:
            raise ctx.fail(path, f"{disp}.until", "an expression that ends the wait when true")
        until = _expr(ctx, raw["until"], f"{path}.until", f"{disp}.until", known)
        if "interval_s" in raw:
            interval_s = _number(ctx, raw["interval_s"], f"{path}.interval_s", f"{disp}.interval_s", lo=0.05, hi=3600)
        if "timeout_s" not in raw:
            timeout_s = 300.0
    else:
        for k in ("until", "interval_s"):
            if k in raw:
                raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", f"{k} only on wait_until steps")

    return Step(
        id=sid, kind=kind, title=title, why=_str(ctx, raw, "why", path, disp), risk=risk, action=action,
        expect=expect, preconditions=preconditions, idempotent=idempotent, timeout_s=timeout_s,
        on_failure=policy, confirm=confirm, dry_run=dry, preview=preview, verify=verify, rollback=rollback,
        capture=capture, instructions=instructions, answer=answer, choices=choices, default=default, ask=ask,
        until=until, interval_s=interval_s, line=line_of(ctx.lines, path),
    )
