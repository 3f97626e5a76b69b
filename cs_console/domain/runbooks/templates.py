"""`{{name}}` templates in runbook fields, with filters, and secret-aware rendering.

Syntax: ``{{ path }}`` or ``{{ path | filter }}`` where ``path`` is a dotted
name (``database``, ``preview.count``, ``profile.project_ref``,
``secret.service_role_key``). Filters:

- ``ident``   quote as a SQL identifier (``"my table"``, dotted names quoted per part)
- ``literal`` quote as a SQL string literal
- ``shell``   quote for /bin/sh (scripts)
- ``db:NAME`` a DSN with its database replaced by the value of ``NAME``
- ``default:TEXT`` TEXT when the value is missing or empty
- ``optional`` empty when the value (a secret not configured, say) is missing; an ``env``
  entry that renders empty this way is left out, so a program falls back to its own means
  (pg_dump without PGPASSWORD: trust, peer or ident auth, ~/.pgpass)
- ``apikey:N``  a Supabase API key name (``backend-jobs`` -> ``backend_jobs``), N characters
  kept free for a suffix the template appends

Rendering for display replaces every secret (``secret.*`` and inputs of type
secret) with ``***``; rendering for execution returns the real value, and the
engine hands the real values to the redactor so they never leave the process.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cs_console.domain.runbooks.expressions import ExpressionError
from cs_console.domain.supabase_names import normalise_api_key_name

TEMPLATE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|\s*([a-z]+)(?::([^}]*))?\s*)?\}\}")
FILTERS = ("ident", "literal", "shell", "db", "default", "optional", "apikey")
REDACTED = "***"

# Roots every runbook may reference without declaring them.
BUILTIN_ROOTS = frozenset({"profile", "environment", "secret", "run", "now", "preview", "paths"})


class TemplateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Placeholder:
    path: str
    filter: str | None
    arg: str | None

    @property
    def root(self) -> str:
        return self.path.split(".", 1)[0]


def placeholders(text: str) -> list[Placeholder]:
    """Every placeholder in `text`; malformed `{{` raise TemplateError."""
    found = [Placeholder(m.group(1), m.group(2), m.group(3)) for m in TEMPLATE_RE.finditer(text)]
    stripped = TEMPLATE_RE.sub("", text)
    if "{{" in stripped or "}}" in stripped:
        raise TemplateError("{{name}} or {{name|filter}} placeholders (found a malformed one)")
    for p in found:
        if p.filter is not None and p.filter not in FILTERS:
            raise TemplateError(f"a known filter ({', '.join(FILTERS)}), not {p.filter!r}")
    return found


def quote_ident(value: Any) -> str:
    text = str(value)
    if not text:
        raise TemplateError("a non-empty identifier")
    return ".".join('"' + part.replace('"', '""') + '"' for part in text.split("."))


def quote_literal(value: Any) -> str:
    text = str(value)
    if "\x00" in text:
        raise TemplateError("text without NUL characters")
    return "'" + text.replace("'", "''") + "'"


def dsn_with_database(dsn: str, database: str) -> str:
    """postgresql://user@host:port/db?opts -> same with another database."""
    m = re.match(r"^(postgres(?:ql)?://[^/?#]*)(/[^?#]*)?(\?.*)?$", dsn)
    if not m:
        raise TemplateError("a postgresql:// DSN")
    return f"{m.group(1)}/{database}{m.group(3) or ''}"


def lookup(path: str, context: Mapping[str, Any]) -> Any:
    parts = path.split(".")
    value: Any = context
    for i, part in enumerate(parts):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif part == "count" and isinstance(value, (list, tuple)):
            value = len(value)
        else:
            raise TemplateError(f"a value for {{{{{'.'.join(parts[: i + 1])}}}}} (not known at this point)")
    return value


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(
    text: str,
    context: Mapping[str, Any],
    *,
    is_secret: Callable[[str], bool] = lambda path: path.startswith("secret."),
    for_display: bool = False,
    default_filter: str | None = None,
) -> str:
    """Substitute placeholders. `for_display` shows secrets as ***."""

    def sub(m: re.Match[str]) -> str:
        path, flt, arg = m.group(1), m.group(2) or default_filter, m.group(3)
        secret = is_secret(path)
        if for_display and secret:
            return REDACTED
        try:
            value = lookup(path, context)
        except TemplateError:
            if flt in ("default", "optional"):
                return arg or "" if flt == "default" else ""
            raise
        if flt == "default":
            return _stringify(value) or (arg or "")
        if flt == "optional":
            return _stringify(value)
        if flt == "ident":
            return quote_ident(value)
        if flt == "literal":
            return quote_literal(value)
        if flt == "shell":
            return shlex.quote(_stringify(value))
        if flt == "apikey":
            try:
                return normalise_api_key_name(_stringify(value), reserve=int(arg or 0))
            except ValueError as exc:
                raise TemplateError(str(exc)) from None
        if flt == "db":
            if not arg:
                raise TemplateError("db:NAME naming the input with the database")
            return dsn_with_database(_stringify(value), _stringify(lookup(arg, context)))
        return _stringify(value)

    return TEMPLATE_RE.sub(sub, text)


def is_optional_and_empty(text: str, rendered: str) -> bool:
    """An `env` value that is only optional placeholders and came out empty: leave the variable out."""
    return rendered == "" and bool(found := placeholders(text)) and all(p.filter == "optional" for p in found)


def render_for_display(text: str, context: Mapping[str, Any], *, is_secret: Callable[[str], bool] = lambda path: path.startswith("secret.")) -> str:
    """Like render(for_display=True), but a value not known yet reads `<path: not known yet>`
    instead of failing: previews show what they can, never the raw template."""

    def sub(m: re.Match[str]) -> str:
        try:
            return render(m.group(0), context, is_secret=is_secret, for_display=True)
        except TemplateError:
            return f"<{m.group(1)}: not known yet>"

    return TEMPLATE_RE.sub(sub, text)


def render_value(value: Any, context: Mapping[str, Any], **kw: Any) -> Any:
    """Render templates inside strings, lists and tables (JSON bodies, demo args)."""
    if isinstance(value, str):
        # A whole-string placeholder keeps its type (a list stays a list for the demo/JSON).
        m = TEMPLATE_RE.fullmatch(value.strip())
        if m and not m.group(2) and not kw.get("for_display"):
            try:
                return lookup(m.group(1), context)
            except TemplateError:
                raise
        return render(value, context, **kw)
    if isinstance(value, Mapping):
        return {k: render_value(v, context, **kw) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_value(v, context, **kw) for v in value]
    return value


def roots_in(texts: Iterable[str]) -> set[str]:
    roots: set[str] = set()
    for t in texts:
        roots |= {p.root for p in placeholders(t)}
    return roots


__all__ = [
    "ExpressionError", "Placeholder", "TemplateError", "placeholders", "render", "render_value",
    "quote_ident", "quote_literal", "dsn_with_database", "lookup", "REDACTED", "BUILTIN_ROOTS",
]
