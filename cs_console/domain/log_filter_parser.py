"""The log filter's parser: text -> Filter, with the position of the first problem."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from cs_console.domain.durations import parse_unit_sum
from cs_console.domain.log_filter_model import (  # the model's field tables, shared with the parser
    _FIELD_ALIASES, _FIELD_RE, _MAX_AGO, _OP_RE, _ORDERED_FIELDS, _TIME_FIELDS,
    FIELDS, Ago, FieldTerm, FieldValue, FilterError, RegexTerm, StatusRange, Term, TextTerm,
    _resolve_time,
)
from cs_console.domain.log_record import Level

# ----------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def terms(self) -> Iterable[Term]:
        i = 0
        while True:
            while i < self.n and self.text[i].isspace():
                i += 1
            if i >= self.n:
                return
            term, i = self._term(i)
            yield term

    def _term(self, i: int) -> tuple[Term, int]:
        text, n = self.text, self.n
        negate = False
        if text[i] == "-":
            if i + 1 >= n or text[i + 1].isspace():
                raise FilterError("'-' must be followed by what to exclude, with no space (-word, -level=info)", i)
            if text[i + 1] == "-":
                raise FilterError('text starting with "-" must be quoted, e.g. "--verbose"', i, i + 2)
            negate = True
            i += 1
        c = text[i]
        if c == '"':
            value, end = self._quoted(i)
            self._expect_space(end, "closing quote")
            return TextTerm(value, negate), end
        if c == "/":
            return self._regex(i, negate)
        j = i
        while j < n and not text[j].isspace():
            j += 1
        m = _FIELD_RE.match(text, i, j)
        if m:
            return self._field(m, negate)
        op = _OP_RE.match(text, i, j)
        if op:
            raise FilterError(
                f"{op.group(1)!r} needs a field name before it, with no spaces (status>=500); quote it to search for it",
                i, op.end(),
            )
        return TextTerm(text[i:j], negate), j

    def _expect_space(self, i: int, after: str) -> None:
        if i < self.n and not self.text[i].isspace():
            raise FilterError(f"expected a space after the {after}", i)

    def _quoted(self, i: int) -> tuple[str, int]:
        """A "…" string starting at i (backslash escapes the next character)."""
        text, n = self.text, self.n
        out: list[str] = []
        j = i + 1
        while j < n:
            c = text[j]
            if c == "\\":
                if j + 1 >= n:
                    break
                out.append(text[j + 1])
                j += 2
            elif c == '"':
                return "".join(out), j + 1
            else:
                out.append(c)
                j += 1
        raise FilterError('unclosed quote: add a closing "', i, n)

    def _regex(self, i: int, negate: bool) -> tuple[Term, int]:
        text, n = self.text, self.n
        chars: list[str] = []
        offsets: list[int] = []  # position in the filter text of each pattern character
        j = i + 1
        while True:
            if j >= n:
                raise FilterError("unclosed regex: add a closing / (quote text that starts with /)", i, n)
            c = text[j]
            if c == "\\":
                if j + 1 >= n:
                    raise FilterError("unclosed regex: add a closing / (quote text that starts with /)", i, n)
                if text[j + 1] == "/":
                    chars.append("/")
                    offsets.append(j)
                else:
                    chars.extend((c, text[j + 1]))
                    offsets.extend((j, j + 1))
                j += 2
            elif c == "/":
                break
            else:
                chars.append(c)
                offsets.append(j)
                j += 1
        close = j
        pattern = "".join(chars)
        if not pattern:
            raise FilterError("empty regex", i, close + 1)
        ignore_case = False
        k = close + 1
        while k < n and not text[k].isspace():
            if text[k] != "i":
                raise FilterError(
                    f"unexpected {text[k]!r} after the regex (only the flag i may follow; quote a path: \"/rest/v1\")",
                    k,
                )
            ignore_case = True
            k += 1
        try:
            re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            pos = exc.pos if exc.pos is not None else 0
            at = offsets[pos] if 0 <= pos < len(offsets) else close
            raise FilterError(f"bad regex: {exc.msg}", at) from None
        except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
            raise FilterError(f"bad regex: {exc}", i, close + 1) from None
        return RegexTerm(pattern, ignore_case, negate), k

    def _field(self, m: re.Match[str], negate: bool) -> tuple[Term, int]:
        text, n = self.text, self.n
        name_start = m.start(1)
        name = m.group(1).lower()
        op = "=" if m.group(2) == "==" else m.group(2)
        canonical = _FIELD_ALIASES.get(name)
        if canonical is None:
            raise FilterError(
                f"unknown field {m.group(1)!r} (fields: {', '.join(FIELDS)}); quote text to search for it",
                name_start, m.end(1),
            )
        k = m.end()
        if k < n and text[k] == '"':
            raw, end = self._quoted(k)
            self._expect_space(end, "closing quote")
        else:
            end = k
            while end < n and not text[end].isspace():
                end += 1
            raw = text[k:end]
        if raw == "":
            raise FilterError(f"missing value after {m.group(0)!r}", k)
        if op not in ("=", "!=") and canonical not in _ORDERED_FIELDS:
            allowed = "=" if canonical in _TIME_FIELDS else "= or !="
            raise FilterError(f"{canonical} takes {allowed}, not {op}", m.start(2), m.end(2))
        if canonical in _TIME_FIELDS and op != "=":
            raise FilterError(f"{canonical} takes =, not {op} (negate with -{canonical}=…)", m.start(2), m.end(2))
        parts = raw.split(",") if op in ("=", "!=") and canonical not in _TIME_FIELDS else [raw]
        values: list[FieldValue] = []
        for part in parts:
            if part == "":
                raise FilterError(f"empty value in the list after {m.group(0)!r}", k, end)
            values.append(self._value(canonical, op, part, k, end))
        return FieldTerm(canonical, op, tuple(values), negate), end

    def _value(self, field_name: str, op: str, raw: str, k: int, end: int) -> FieldValue:
        if field_name == "level":
            level = Level.parse(raw)
            if level is None:
                raise FilterError(f"unknown level {raw!r} (debug, info, warn, error, fatal)", k, end)
            return level
        if field_name == "status":
            low = raw.lower()
            if len(low) == 3 and low[0] in "12345" and low[1:] == "xx":
                if op not in ("=", "!="):
                    raise FilterError(f"a status class like {raw} takes = or !=, not {op}", k, end)
                base = int(low[0]) * 100
                return StatusRange(base, base + 99)
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
                raise FilterError(f"expected an HTTP status like 500 or 5xx, got {raw!r}", k, end)
            code = int(raw)
            return StatusRange(code, code)
        if field_name in _TIME_FIELDS:
            return _parse_time(raw, k, end)
        return raw.lower()


def _parse_time(raw: str, k: int, end: int) -> Ago | datetime:
    low = raw.lower()
    total = parse_unit_sum(low)
    if total is not None:
        seconds = int(total)
        if seconds > _MAX_AGO:
            raise FilterError(f"duration {raw!r} is too long (at most 100 years)", k, end)
        return Ago(seconds)
    if raw[:1].isdigit():
        try:
            at = datetime.fromisoformat(raw)
            at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
            return at
        except (ValueError, OverflowError):
            pass
    raise FilterError(
        f"expected a duration like 15m, 1h, 2d or a UTC time like 2026-11-27T03:00Z, got {raw!r}", k, end
    )


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`15m`, `1h30m`, `2d` before `now`, or an ISO time (no zone = UTC); FilterError if neither."""
    raw = text.strip()
    value = _parse_time(raw, 0, max(len(raw), 1))
    return _resolve_time(value, now or datetime.now(timezone.utc))
