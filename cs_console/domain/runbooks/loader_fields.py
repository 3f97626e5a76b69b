"""Typed reads of TOML values for the runbook loader, each failing as a RunbookError.

Also the checks every part of a runbook shares: names and ids, and the
expressions and templates that may only name inputs, captures or built-ins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cs_console.domain.runbooks import expressions, templates
from cs_console.domain.runbooks.loader_errors import LoadContext

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")

# Names an expression may read besides inputs and captures.
EXPRESSION_ROOTS = frozenset({
    "value", "rows", "count", "rows_affected", "exit_code", "status", "output", "answer", "choice",
    "true", "false", *templates.BUILTIN_ROOTS,
})


def read_str(ctx: LoadContext, table: Mapping[str, Any], key: str, path: str, disp: str, *, required: bool = False, default: str = "") -> str:
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


def read_str_list(ctx: LoadContext, v: Any, path: str, disp: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ctx.fail(path, disp, "a list of strings")
    return tuple(v)


def read_number(ctx: LoadContext, v: Any, path: str, disp: str, *, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ctx.fail(path, disp, f"a number from {lo:g} to {hi:g}")
    return float(v)


def read_bool(ctx: LoadContext, v: Any, path: str, disp: str) -> bool:
    if not isinstance(v, bool):
        raise ctx.fail(path, disp, "true or false")
    return v


def reject_unknown(ctx: LoadContext, table: Mapping[str, Any], allowed: set[str], path: str, disp: str) -> None:
    for key in table:
        if key not in allowed:
            raise ctx.fail(f"{path}.{key}" if path else key, f"{disp}.{key}" if disp else key,
                           "a known key (one of " + ", ".join(sorted(allowed)) + ")")


def check_expr(ctx: LoadContext, v: Any, path: str, disp: str, known: set[str]) -> str:
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


def check_no_secret_on_command_line(ctx: LoadContext, v: str, path: str, disp: str) -> None:
    """A command line is readable by every local user (/proc/*/cmdline): secrets go through `env`."""
    for p in templates.placeholders(v):
        if p.root == "secret" or p.root in ctx.secret_inputs:
            raise ctx.fail(path, disp, f"no secret on a command line ({{{{{p.path}}}}} would be readable in /proc/*/cmdline): "
                           f"pass it in env = {{ NAME = \"{{{{{p.path}}}}}\" }} and read $NAME")


def check_template(ctx: LoadContext, v: str, path: str, disp: str, known: set[str], *, sql: bool = False) -> str:
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
