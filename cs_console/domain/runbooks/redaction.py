"""Redaction: secrets never leave the process in clear.

A :class:`Redactor` knows the secret values of one run (resolved env vars)
plus patterns that look like credentials (DSN passwords, bearer tokens,
Supabase keys, JWTs, ``password=...``) and replaces them with ``***`` in any
text or JSON-like value: what-will-run, captured output, audit records,
errors and the screen all go through it.

Secret values shorter than 4 characters are not redacted by value (they
would blank out ordinary text); such a secret is not a secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

REDACTED = "***"
MIN_SECRET_LEN = 4

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 ***"),
    (re.compile(r"\bsb_(secret|publishable)_[A-Za-z0-9_\-]{6,}"), "sb_\\1_***"),
    (re.compile(r"\bsbp_[A-Za-z0-9]{6,}"), "sbp_***"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}"), REDACTED),
    (re.compile(r"(?i)\b(password|passwd|pgpassword|secret|token|api_?key|apikey)(\s*[=:]\s*)(?!\*\*\*)[^\s,;&\"']+"), r"\1\2***"),
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = (), patterns: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        for s in secrets:
            self.add_secret(s)
        self._extra = [re.compile(p) for p in patterns]

    def add_secret(self, value: str | None) -> None:
        if not value or len(value) < MIN_SECRET_LEN:
            return
        variants = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
        for v in variants:
            if v and v not in self._values:
                self._values.append(v)
        # Longest first, so a secret containing another is replaced whole.
        self._values.sort(key=len, reverse=True)

    def with_patterns(self, patterns: Iterable[str]) -> "Redactor":
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
        for v in self._values:
            if v in text:
                text = text.replace(v, REDACTED)
        for rx, repl in _PATTERNS:
            text = rx.sub(repl, text)
        for rx in self._extra:
            text = rx.sub(REDACTED, text)
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
