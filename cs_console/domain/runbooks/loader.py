"""Parse and validate runbook TOML into the schema's dataclasses.

``parse_runbook(text, source)`` is pure (the caller reads the file; see
``services/runbook_catalog.py``). Every problem is a :class:`RunbookError`
whose str() is one line::

    runbook error: <file>:<line>: <key>: <what was expected>

Keys name steps by id once known (``steps.kill_idle.risk``), else by
position (``steps[3]``, 1-based). Validation is strict: unknown keys are
errors (a typo in ``risk`` must not silently become ``read``).

This module reads the top-level table; the rest of the loader is in rooms:
``loader_errors`` (RunbookError and the key -> line context), ``loader_fields``
(typed reads, expression and template checks), ``loader_inputs``
(``[[inputs]]``), ``loader_actions`` (payloads and probes) and
``loader_steps`` (one ``[[steps]]`` table).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from typing import Any

from cs_console.domain.runbooks.loader_errors import LoadContext, RunbookError
from cs_console.domain.runbooks.loader_fields import ID_RE, read_str, read_str_list, reject_unknown
from cs_console.domain.runbooks.loader_inputs import parse_input
from cs_console.domain.runbooks.loader_steps import parse_step
from cs_console.domain.runbooks.schema import END, GROUPS, SUPPORTED_SCHEMAS, Runbook, Step

TOP_KEYS = {
    "schema", "id", "title", "group", "summary", "version", "tags", "severity_hint",
    "maintenance_windows", "manual_ref", "inputs", "steps",
}


def sha256_of(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def parse_runbook(text: str, source: str = "<runbook>", *, builtin: bool = False, sha256: str | None = None) -> Runbook:
    """Parse one runbook; raises RunbookError (never anything else for bad input)."""
    ctx = LoadContext(source, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg).rstrip(".") or "valid TOML"
        raise RunbookError(source, int(m.group(1)) if m else None, "toml", f"valid TOML ({what})") from None
    return _build(ctx, data, builtin, sha256 or sha256_of(text))


def _build(ctx: LoadContext, data: dict[str, Any], builtin: bool, sha: str) -> Runbook:
    reject_unknown(ctx, data, TOP_KEYS, "", "")
    schema = data.get("schema")
    if schema not in SUPPORTED_SCHEMAS:
        got = f" (got {schema!r})" if schema is not None else " (missing)"
        raise ctx.fail("schema", "schema", f'"{SUPPORTED_SCHEMAS[-1]}"{got}')
    rid = read_str(ctx, data, "id", "", "", required=True)
    if not ID_RE.match(rid):
        raise ctx.fail("id", "id", "lowercase letters, digits, - and _ (1-64 chars, e.g. db-connection-issues)")
    title = read_str(ctx, data, "title", "", "", required=True)
    group = read_str(ctx, data, "group", "", "", required=True)
    if group not in GROUPS:
        raise ctx.fail("group", "group", "one of " + ", ".join(repr(g) for g in GROUPS))
    version = data.get("version", "1")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str):
        raise ctx.fail("version", "version", "a string such as \"3\"")
    tags = read_str_list(ctx, data.get("tags", []), "tags", "tags")
    sev = read_str_list(ctx, data.get("severity_hint", []), "severity_hint", "severity_hint")
    for s in sev:
        if s not in ("P0", "P1", "P2", "P3"):
            raise ctx.fail("severity_hint", "severity_hint", "a list of P0, P1, P2, P3")
    windows = read_str_list(ctx, data.get("maintenance_windows", []), "maintenance_windows", "maintenance_windows")

    raw_inputs = data.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise ctx.fail("inputs", "inputs", "an array of tables ([[inputs]])")
    inputs = tuple(parse_input(ctx, raw, i) for i, raw in enumerate(raw_inputs))
    names = [i.name for i in inputs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ctx.fail(f"inputs[{names.index(dup)}]", f"inputs.{dup}", "unique input names")
    secret_inputs = {i.name for i in inputs if i.secret}
    ctx.secret_inputs = set(secret_inputs)

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
        steps.append(parse_step(ctx, raw, i, known, set(names), secret_inputs, steps))
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
        summary=read_str(ctx, data, "summary", "", ""), version=version, tags=tags, severity_hint=sev,
        maintenance_windows=windows, manual_ref=read_str(ctx, data, "manual_ref", "", ""),
        inputs=inputs, source=ctx.source, sha256=sha, builtin=builtin,
    )
