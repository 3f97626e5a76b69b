"""The log filter language: text typed in the filter bar or given to `--filter`.

Public API (the Logs pane and `cs-console logs` use only this):

    parse_filter(text) -> Filter        raises FilterError(message, position) and nothing else
    str(filter)                         canonical text; parse_filter(str(f)) == f
    Filter.compile(now) -> Matcher      since=/until= are taken relative to `now`
    Matcher.match(record) -> bool       a small closure: ~0.1-0.3 µs per record
    Matcher.spans(text) -> [(start, end)]  what to highlight in a (displayed) message
    Filter.pushdown() -> Pushdown       the conditions a server-side query may apply
    parse_since(text, now) -> datetime  `--since 1h` / `--since 2026-11-27T03:00Z`
    FILTER_HELP                         help text for the filter bar and the help screen

FilterError.position is a 0-based index into the filter text (FilterError.column is
1-based); str(error) is "at column N: what is wrong".
Pure domain code: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Union

from cs_console.domain.durations import parse_unit_sum, unit_sum_text
from cs_console.domain.log_record import Level, LogRecord

FILTER_HELP = """\
Filter: terms separated by spaces; a record must match every term (AND).

  word  "quoted phrase"   message contains it (case-insensitive)
  /regex/   /regex/i      message matches the regular expression (i: ignore case)
  level=error             also level>=warn, level<error, level=warn,error
  function=send-email     also function_name=…; * is a wildcard: function=send-*
  status>=500             = != < <= > >= ; status=5xx for a class; status=500,502
  source=auth             function, edge, auth, postgres, file, stdin, …
  request_id=…  id=…      exact (case-insensitive)
  since=15m  until=1h     relative to now: s m h d w (1h30m), or a UTC time:
  since=2026-11-27T03:00Z
  -word  -"phrase"  -/re/  -field=value      exclude what matches
  a!=b is the same as -a=b: it also keeps records that have no such field.

Quote text that looks like a field or starts with - or /: "a=b", "-x", "/rest/v1".
Examples:  level>=warn function=monitor-keywords since=1h
           status>=500 -/health(check)?/ "connection refused"
"""

# ----------------------------------------------------------------- errors


class FilterError(ValueError):
    """A filter that cannot be parsed; `position` points at the culprit (0-based)."""

    def __init__(self, message: str, position: int, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, position)
        self.end = end if end is not None and end > self.position else self.position + 1

    @property
    def column(self) -> int:
        return self.position + 1

    def __str__(self) -> str:
        return f"at column {self.column}: {self.message}"


# ----------------------------------------------------------------- the parsed filter

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class TextTerm:
    text: str  # as typed; matched case-insensitively
    negate: bool = False


@dataclass(frozen=True, slots=True)
class RegexTerm:
    pattern: str
    ignore_case: bool = False
    negate: bool = False


@dataclass(frozen=True, slots=True)
class StatusRange:
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Ago:
    """A time relative to now (since=1h)."""

    seconds: int


FieldValue = Union[Level, StatusRange, str, Ago, datetime]


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str  # canonical name: level, function, status, source, request_id, id, since, until
    op: str  # one of OPERATORS
    values: tuple[FieldValue, ...]  # several only for = and != (comma list: any of them)
    negate: bool = False


Term = Union[TextTerm, RegexTerm, FieldTerm]


@dataclass(frozen=True, slots=True)
class Pushdown:
    """Conditions a server-side query may apply before the local filter (a superset of matches)."""

    min_level: Level | None = None
    functions: tuple[str, ...] | None = None  # exact names (lower case), no wildcards
    min_status: int | None = None
    sources: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    terms: tuple[Term, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        return " ".join(_format_term(t) for t in self.terms)

    def compile(self, now: datetime | None = None) -> "Matcher":
        return Matcher(self, now or datetime.now(timezone.utc))

    def pushdown(self, now: datetime | None = None) -> Pushdown:
        """What a log store query can safely pre-filter (only positive, simple terms)."""
        now = now or datetime.now(timezone.utc)
        min_level: Level | None = None
        functions: tuple[str, ...] | None = None
        min_status: int | None = None
        sources: tuple[str, ...] | None = None
        since: datetime | None = None
        until: datetime | None = None
        for t in self.terms:
            if not isinstance(t, FieldTerm) or t.negate or t.op == "!=":
                continue
            if t.field == "level":
                floor: Level | None = None
                if t.op == "=":
                    floor = min(t.values)  # type: ignore[type-var]
                elif t.op in (">", ">="):
                    lv = t.values[0]
                    assert isinstance(lv, Level)
                    floor = lv if t.op == ">=" else _next_level(lv)
                if floor is not None and (min_level is None or floor > min_level):
                    min_level = floor
            elif t.field == "function" and t.op == "=" and all(isinstance(v, str) and "*" not in v for v in t.values):
                functions = tuple(str(v) for v in t.values)
            elif t.field == "source" and t.op == "=" and all("*" not in str(v) for v in t.values):
                sources = tuple(str(v) for v in t.values)
            elif t.field == "status" and t.op in ("=", ">=", ">"):
                ranges = [v for v in t.values if isinstance(v, StatusRange)]
                low = min(r.low for r in ranges) + (1 if t.op == ">" else 0)
                min_status = low if min_status is None else max(min_status, low)
            elif t.field in ("since", "until"):
                at = _resolve_time(t.values[0], now)
                if t.field == "since":
                    since = at if since is None else max(since, at)
                else:
                    until = at if until is None else min(until, at)
        return Pushdown(min_level, functions, min_status, sources, since, until)


def _next_level(level: Level) -> Level | None:
    higher = [lv for lv in Level if lv > level]
    return min(higher) if higher else None


# ----------------------------------------------------------------- fields

_FIELD_ALIASES: dict[str, str] = {
    "level": "level",
    "severity": "level",
    "function": "function",
    "function_name": "function",
    "fn": "function",
    "status": "status",
    "status_code": "status",
    "source": "source",
    "type": "source",
    "request_id": "request_id",
    "execution_id": "request_id",
    "id": "id",
    "since": "since",
    "until": "until",
}
FIELDS: tuple[str, ...] = ("level", "function", "status", "source", "request_id", "id", "since", "until")
_ORDERED_FIELDS = {"level", "status"}
_STRING_FIELDS = {"function", "source", "request_id", "id"}
_TIME_FIELDS = {"since", "until"}

_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(==|!=|<=|>=|=|<|>)")
_OP_RE = re.compile(r"(==|!=|<=|>=|=|<|>)")
_MAX_AGO = 100 * 365 * 86400


# ----------------------------------------------------------------- parser


def parse_filter(text: str) -> Filter:
    """Parse filter text. Raises FilterError (and nothing else) when it is not valid."""
    return Filter(tuple(_Parser(text).terms()))


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


# ----------------------------------------------------------------- printing

_BARE_UNSAFE_START = set('-"/=<>!')


def _needs_quotes(word: str) -> bool:
    return (
        word == ""
        or word[0] in _BARE_UNSAFE_START
        or '"' in word
        or "\\" in word
        or any(c.isspace() for c in word)
        or _FIELD_RE.match(word) is not None
    )


def _quote(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append("\\/" if c == "/" else c)
        i += 1
    return "/" + "".join(out) + "/"


def _format_value(v: FieldValue) -> str:
    if isinstance(v, Level):
        return v.label
    if isinstance(v, StatusRange):
        if v.low == v.high:
            return str(v.low)
        return f"{v.low // 100}xx"
    if isinstance(v, Ago):
        return unit_sum_text(v.seconds)
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    return v


def _format_term(t: Term) -> str:
    prefix = "-" if t.negate else ""
    if isinstance(t, TextTerm):
        return prefix + (_quote(t.text) if _needs_quotes(t.text) else t.text)
    if isinstance(t, RegexTerm):
        return prefix + _format_regex(t.pattern) + ("i" if t.ignore_case else "")
    value = ",".join(_format_value(v) for v in t.values)
    if value == "" or value[0] == '"' or '"' in value or "\\" in value or any(c.isspace() for c in value):
        value = _quote(value)
    return f"{prefix}{t.field}{t.op}{value}"


# ----------------------------------------------------------------- matching

Predicate = Callable[[LogRecord], bool]


def _true(_: LogRecord) -> bool:
    return True


def _resolve_time(v: FieldValue, now: datetime) -> datetime:
    if isinstance(v, Ago):
        try:
            return now - timedelta(seconds=v.seconds)
        except OverflowError:
            return datetime.min.replace(tzinfo=timezone.utc)
    assert isinstance(v, datetime)
    return v


def _wildcard(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in value.split("*")), re.DOTALL)


def _field_predicate(t: FieldTerm, now: datetime) -> Predicate:
    op, values = t.op, t.values
    if t.field == "level":
        if op in ("=", "!="):
            levels = frozenset(values)
            pred: Predicate = lambda r: r.level in levels  # noqa: E731
        else:
            lv = int(values[0])  # type: ignore[arg-type]
            pred = {
                "<": lambda r: r.level < lv,
                "<=": lambda r: r.level <= lv,
                ">": lambda r: r.level > lv,
                ">=": lambda r: r.level >= lv,
            }[op]
    elif t.field == "status":
        ranges = tuple((v.low, v.high) for v in values if isinstance(v, StatusRange))
        if op in ("=", "!="):
            if len(ranges) == 1:
                lo, hi = ranges[0]
                pred = lambda r: (s := r.status) is not None and lo <= s <= hi  # noqa: E731
            else:
                pred = lambda r: (s := r.status) is not None and any(lo <= s <= hi for lo, hi in ranges)  # noqa: E731
        else:
            code = ranges[0][0]
            pred = {
                "<": lambda r: (s := r.status) is not None and s < code,
                "<=": lambda r: (s := r.status) is not None and s <= code,
                ">": lambda r: (s := r.status) is not None and s > code,
                ">=": lambda r: (s := r.status) is not None and s >= code,
            }[op]
    elif t.field in _TIME_FIELDS:
        at = _resolve_time(values[0], now)
        pred = (lambda r: r.ts >= at) if t.field == "since" else (lambda r: r.ts <= at)
    else:
        get = attrgetter(t.field)
        exact = frozenset(str(v) for v in values if "*" not in str(v))
        patterns = tuple(_wildcard(str(v)).fullmatch for v in values if "*" in str(v))
        if not patterns:
            pred = lambda r: (v := get(r)) is not None and v.lower() in exact  # noqa: E731
        else:
            def pred(r: LogRecord) -> bool:
                v = get(r)
                if v is None:
                    return False
                v = v.lower()
                return v in exact or any(p(v) is not None for p in patterns)
    if op == "!=":
        inner = pred
        pred = lambda r: not inner(r)  # noqa: E731
    return pred


def _text_predicate(positive: tuple[str, ...], negative: tuple[str, ...]) -> Predicate:
    """All text terms share one lower() of the message."""
    if len(positive) == 1 and not negative:
        needle = positive[0]
        return lambda r: needle in r.message.lower()
    if not positive and len(negative) == 1:
        needle = negative[0]
        return lambda r: needle not in r.message.lower()

    def pred(r: LogRecord) -> bool:
        m = r.message.lower()
        for p in positive:
            if p not in m:
                return False
        for q in negative:
            if q in m:
                return False
        return True

    return pred


def _and(preds: list[Predicate]) -> Predicate:
    if not preds:
        return _true
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda r: a(r) and b(r)
    if len(preds) == 3:
        a, b, c = preds
        return lambda r: a(r) and b(r) and c(r)
    head = _and(preds[:3])
    rest = _and(preds[3:])
    return lambda r: head(r) and rest(r)


_FIELD_COST = {"level": 0, "since": 1, "until": 1, "status": 2, "source": 3, "function": 3, "request_id": 4, "id": 4}


class Matcher:
    """A compiled filter: `match(record)` plus highlighting spans."""

    __slots__ = ("filter", "match", "accepts_all", "_needles", "_regexes")

    def __init__(self, flt: Filter, now: datetime) -> None:
        self.filter = flt
        fields = sorted((t for t in flt.terms if isinstance(t, FieldTerm)), key=lambda t: _FIELD_COST[t.field])
        preds: list[Predicate] = []
        for t in fields:
            p = _field_predicate(t, now)
            if t.negate:
                preds.append(_negate(p))
            else:
                preds.append(p)
        texts = [t for t in flt.terms if isinstance(t, TextTerm)]
        if texts:
            preds.append(
                _text_predicate(
                    tuple(t.text.lower() for t in texts if not t.negate),
                    tuple(t.text.lower() for t in texts if t.negate),
                )
            )
        regexes = [t for t in flt.terms if isinstance(t, RegexTerm)]
        for t in regexes:
            search = re.compile(t.pattern, re.IGNORECASE if t.ignore_case else 0).search
            if t.negate:
                preds.append(lambda r, s=search: s(r.message) is None)
            else:
                preds.append(lambda r, s=search: s(r.message) is not None)
        self.match: Predicate = _and(preds)
        self.accepts_all = not preds
        self._needles = tuple({t.text.lower() for t in texts if not t.negate and t.text})
        self._regexes = tuple(
            re.compile(t.pattern, re.IGNORECASE if t.ignore_case else 0) for t in regexes if not t.negate
        )

    def spans(self, text: str, limit: int = 200) -> list[tuple[int, int]]:
        """Sorted, merged (start, end) spans of `text` matched by the positive text/regex terms.

        Call it on the text as displayed (after safe_text), so offsets line up.
        """
        found: list[tuple[int, int]] = []
        if self._needles:
            low = text.lower()
            if len(low) == len(text):
                for needle in self._needles:
                    start = low.find(needle)
                    while start >= 0 and len(found) < limit:
                        found.append((start, start + len(needle)))
                        # Step by one: overlapping occurrences ("aa" in "aaa") are all highlighted.
                        start = low.find(needle, start + 1)
            else:  # lower() changed lengths (rare scripts): let re map the offsets
                for needle in self._needles:
                    for m in re.finditer(re.escape(needle), text, re.IGNORECASE):
                        found.append(m.span())
                        if len(found) >= limit:
                            break
        for rx in self._regexes:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    found.append(m.span())
                if len(found) >= 2 * limit:
                    break
        if not found:
            return found
        found.sort()
        merged = [found[0]]
        for s, e in found[1:]:
            ls, le = merged[-1]
            if s <= le:
                if e > le:
                    merged[-1] = (ls, e)
            else:
                merged.append((s, e))
        return merged[:limit]


def _negate(p: Predicate) -> Predicate:
    return lambda r: not p(r)


def matches(text: str, record: LogRecord, now: datetime | None = None) -> bool:
    """Convenience for one-off checks (tests, CLI): parse, compile, match."""
    return parse_filter(text).compile(now).match(record)


__all__ = [
    "FILTER_HELP",
    "FIELDS",
    "Ago",
    "FieldTerm",
    "Filter",
    "FilterError",
    "Matcher",
    "Pushdown",
    "RegexTerm",
    "StatusRange",
    "TextTerm",
    "matches",
    "parse_filter",
    "parse_since",
]

