"""The parsed log filter: its terms, its canonical text and the matcher it compiles to.

The language itself (what a user types, `parse_filter`) is `log_filter.py`; the parser is
`log_filter_parser.py`. Pure domain code: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Union

from cs_console.domain.durations import unit_sum_text
from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.log_grouping import record_ip, record_user

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
    "ip": "ip",
    "client_ip": "ip",
    "remote_addr": "ip",
    "user": "user",
    "email": "user",
    "actor": "user",
    "since": "since",
    "until": "until",
}
FIELDS: tuple[str, ...] = ("level", "function", "status", "source", "request_id", "id", "ip", "user", "since", "until")
_ORDERED_FIELDS = {"level", "status"}
_STRING_FIELDS = {"function", "source", "request_id", "id", "ip", "user"}
# Fields looked up in a record's fields and text (log_grouping), not attributes of the record.
_LOOKED_UP: dict[str, Callable[[LogRecord], str | None]] = {"ip": record_ip, "user": record_user}
_TIME_FIELDS = {"since", "until"}

_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(==|!=|<=|>=|=|<|>)")
_OP_RE = re.compile(r"(==|!=|<=|>=|=|<|>)")
_MAX_AGO = 100 * 365 * 86400


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
        get = _LOOKED_UP.get(t.field) or attrgetter(t.field)
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


_FIELD_COST = {"level": 0, "since": 1, "until": 1, "status": 2, "source": 3, "function": 3, "request_id": 4, "id": 4, "ip": 6, "user": 6}


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
