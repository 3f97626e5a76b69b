"""Redaction: the one rule for keeping secrets out of everything shown or written.

What-will-run, captured output, audit records, error lines of every backend,
`config show` and the screen all pass through :class:`Redactor` (or
:func:`redact`, its one-shot form). It removes two kinds of secret:

- *known values* (the resolved env vars of a run, a DSN's password), in every
  spelling they take on the way out: raw, URL-encoded (``quote``,
  ``quote_plus``), JSON-escaped (once or twice), libpq key=value quoted;
- *credential shapes*, even when the value is unknown: passwords in URLs and
  ``password=``-style pairs, Authorization/apikey headers, bearer/basic
  credentials, Supabase tokens (``sbp_…``, ``sb_secret_…``) and JWTs (``eyJ…``).

Values shorter than :data:`MIN_SECRET_LEN` are not redacted by value: a
one-character "secret" would blank out ordinary text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import quote, quote_plus

REDACTED = "***"
# The PostgreSQL backend always scrubbed two-character passwords; that is the strictest rule of the three.
MIN_SECRET_LEN = 2

# (pattern, replacement): applied in order. Every replacement keeps ``***`` where the secret was, and
# leaves text that is already redacted unchanged (patterns are idempotent).
_SHAPES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # The password part of any URL (postgresql://user:PASS@host, https://user:PASS@host).
    (re.compile(r"(://[^:/@\s]*):[^@/\n]*@"), r"\1:***@"),
    # A PostgreSQL URL's password may also contain '/' (runbook DSNs are written by hand).
    (re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]+@"), r"\1***@"),
    # A query parameter password=... (libpq URLs), whatever its characters short of '&' and blanks.
    (re.compile(r"(?i)([?&]password=)(?!\*\*\*)[^&\s]*"), r"\1***"),
    # Authorization header: the whole credential after the scheme, whatever the scheme.
    (re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[=:]\s*[\"']?)((?:bearer|basic|token|digest)\s+)?+(?!\*\*\*)[^\s,;&\"']+"), r"\1\2***"),
    (re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 ***"),
    (re.compile(r"sb_(secret|publishable)_(?!\*\*\*)[^\s\"',;]+"), r"sb_\1_***"),
    (re.compile(r"sbp_[A-Za-z0-9_\-]+"), "sbp_***"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    # key=value and "key": "value" pairs whose key names a credential (access_token, PGPASSWORD, x-api-key...).
    (re.compile(r"(?i)\b([\w\-]*?(?:password|passwd|secret|token|api[_\-]?key))([\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)[^\s,;&\"']+"), r"\1\2***"),
)

# What an `*_env` setting holds when someone pasted the secret instead of the variable's name.
_SECRET_SHAPE = re.compile(r"^(sbp_|sb_secret_|sb_publishable_|eyJ)|^[A-Za-z0-9+/=_-]{32,}$")


def looks_like_secret(value: str) -> bool:
    """True for a value shaped like a Supabase token, key or JWT, or a long random string."""
    return bool(_SECRET_SHAPE.search(value))


def _spellings(value: str) -> set[str]:
    """Every way `value` is written when it leaves the process inside a URL, a DSN or JSON."""
    once = json.dumps(value)[1:-1]
    spellings = {
        value,
        quote(value, safe=""),
        quote(value),  # keeps '/', as in a URL path
        quote_plus(value),
        once,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(once)[1:-1],  # a JSON document quoted inside another (an error body in a message)
        value.replace("\\", "\\\\").replace("'", "\\'"),  # libpq key=value: password='it\'s'
    }
    return {s for s in spellings if len(s) >= MIN_SECRET_LEN}


class Redactor:
    """Known secret values plus credential shapes, replaced by ``***``."""

    def __init__(self, secrets: Iterable[str | None] = (), patterns: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        for s in secrets:
            self.add_secret(s)
        self._extra = [re.compile(p) for p in patterns]

    def add_secret(self, value: str | None) -> None:
        if not value or len(value) < MIN_SECRET_LEN:
            return
        for v in _spellings(value):
            if v not in self._values:
                self._values.append(v)
        # Longest first, so a secret containing another is replaced whole.
        self._values.sort(key=len, reverse=True)

    def with_patterns(self, patterns: Iterable[str]) -> "Redactor":
        """A copy that also blanks whatever the given regexes match (a runbook's capture.redact)."""
        clone = Redactor()
        clone._values = list(self._values)
        clone._extra = [*self._extra, *(re.compile(p) for p in patterns)]
        return clone

    @property
    def secret_count(self) -> int:
        return len(self._values)

    def text(self, text: str) -> str:
        if not text:
            return text
        text = self._scrub_values(text)
        for rx, repl in _SHAPES:
            text = rx.sub(repl, text)
        for rx in self._extra:
            text = rx.sub(REDACTED, text)
        # Again: a replacement next to other text may spell a known value anew.
        return self._scrub_values(text)

    def _scrub_values(self, text: str) -> str:
        for _ in range(8):
            if not any(v in text for v in self._values):
                return text
            text = _replace_spans(text, self._values, REDACTED)
        # A value the mask itself helps spell ("**", or "a***b" between "a" and "b"): drop it outright.
        # Each round shortens the text, so this ends.
        while any(v in text for v in self._values):
            text = _replace_spans(text, self._values, "")
        return text

    def value(self, value: Any) -> Any:
        """Redact inside JSON-like data (dict keys kept, values redacted)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def __call__(self, text: str) -> str:
        return self.text(text)


def _replace_spans(text: str, values: list[str], mask: str) -> str:
    """Every occurrence of any value (overlapping ones merged) replaced by `mask` in one pass."""
    spans: list[tuple[int, int]] = []
    for v in values:
        start = text.find(v)
        while start != -1:
            spans.append((start, start + len(v)))
            start = text.find(v, start + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    cur_start, cur_end = spans[0]
    for s, e in spans[1:]:
        if s < cur_end:  # overlapping: one secret run; touching ones stay two masks, as before
            cur_end = max(cur_end, e)
            continue
        out.append(text[pos:cur_start] + mask)
        pos, (cur_start, cur_end) = cur_end, (s, e)
    out.append(text[pos:cur_start] + mask)
    out.append(text[cur_end:])
    return "".join(out)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secret values or any credential shape."""
    return Redactor(secrets).text(text)
