"""`[[inputs]]` tables (and a manual step's `answer`) into InputSpecs."""

from __future__ import annotations

import re
from typing import Any

from cs_console.domain.runbooks import expressions, templates
from cs_console.domain.runbooks.inputs import ENV_REF_RE, InputError, convert
from cs_console.domain.runbooks.loader_errors import LoadContext
from cs_console.domain.runbooks.loader_fields import NAME_RE, read_str, read_str_list, reject_unknown
from cs_console.domain.runbooks.schema import InputSpec, InputSuggestion, InputType
from cs_console.domain.toml_lines import line_of

INPUT_KEYS = {"name", "type", "prompt", "help", "required", "default", "pattern", "min", "max", "choices", "suggest"}
SUGGEST_KEYS = {"console", "value", "why"}
# Calls whose result a suggestion may read: the console's own sources, read-only and quick.
SUGGEST_CALLS = ("metrics", "health", "functions", "backups")


def _parse_suggest(ctx: LoadContext, raw: Any, path: str, disp: str) -> InputSuggestion:
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table: console = \"metrics\", value = \"<expression over value>\", why = \"...\"")
    reject_unknown(ctx, raw, SUGGEST_KEYS, path, disp)
    call = raw.get("console")
    if call not in SUGGEST_CALLS:
        raise ctx.fail(f"{path}.console", f"{disp}.console", "one of " + ", ".join(SUGGEST_CALLS))
    value = raw.get("value")
    if not isinstance(value, str):
        raise ctx.fail(f"{path}.value", f"{disp}.value", "an expression string over `value` (the call's result)")
    try:
        unknown = expressions.names_used(value) - {"value", "true", "false"}
    except expressions.ExpressionError as exc:
        raise ctx.fail(f"{path}.value", f"{disp}.value", str(exc)) from None
    if unknown:
        raise ctx.fail(f"{path}.value", f"{disp}.value", f"an expression over `value` only (unknown: {', '.join(sorted(unknown))})")
    return InputSuggestion(console=call, value=value, why=read_str(ctx, raw, "why", path, disp))


def parse_input(ctx: LoadContext, raw: Any, i: int, *, path: str | None = None, disp: str | None = None, named: bool = True) -> InputSpec:
    path = path or f"inputs[{i}]"
    disp = disp or f"inputs[{i + 1}]"
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table")
    reject_unknown(ctx, raw, INPUT_KEYS, path, disp)
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
    choices = read_str_list(ctx, raw.get("choices", []), f"{path}.choices", f"{disp}.choices")
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
        name=name, type=itype, prompt=read_str(ctx, raw, "prompt", path, disp), help=read_str(ctx, raw, "help", path, disp),
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
    suggest = None
    if "suggest" in raw:
        if not named or itype is InputType.SECRET:
            raise ctx.fail(f"{path}.suggest", f"{disp}.suggest", "no suggestion here (only on a runbook's non-secret inputs)")
        suggest = _parse_suggest(ctx, raw["suggest"], f"{path}.suggest", f"{disp}.suggest")
    return InputSpec(**{**{f: getattr(spec, f) for f in spec.__slots__}, "default": default, "suggest": suggest})

