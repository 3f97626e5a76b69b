"""The log filter language: parsing, errors with positions, printing, matching semantics."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cs_console.domain.log_filter import (
    FILTER_HELP,
    Ago,
    FieldTerm,
    Filter,
    FilterError,
    RegexTerm,
    StatusRange,
    TextTerm,
    parse_filter,
    parse_since,
)
from cs_console.domain.log_record import Level, LogRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def rec(message: str = "hello", level: Level = Level.INFO, **kw: object) -> LogRecord:
    kw.setdefault("ts", NOW - timedelta(minutes=5))
    kw.setdefault("source", "function")
    return LogRecord(level=level, message=message, **kw)  # type: ignore[arg-type]


def match(text: str, record: LogRecord) -> bool:
    return parse_filter(text).compile(NOW).match(record)


# ----------------------------------------------------------------- examples


def test_the_manuals_filters() -> None:
    f = parse_filter("level=error function=monitor-keywords")
    assert f.terms == (
        FieldTerm("level", "=", (Level.ERROR,)),
        FieldTerm("function", "=", ("monitor-keywords",)),
    )
    assert parse_filter("function_name=monitor-keywords") == parse_filter("function=monitor-keywords")
    assert match("level=error function=monitor-keywords", rec("x", Level.ERROR, function="monitor-keywords"))
    assert not match("level=error function=monitor-keywords", rec("x", Level.ERROR, function="send-email"))
    assert not match("level=error function=monitor-keywords", rec("x", Level.WARN, function="monitor-keywords"))


def test_levels_compare() -> None:
    assert match("level>=warn", rec(level=Level.WARN))
    assert match("level>=warn", rec(level=Level.FATAL))
    assert not match("level>=warn", rec(level=Level.INFO))
    assert match("level<error", rec(level=Level.WARN))
    assert match("level=warning,error", rec(level=Level.ERROR))
    assert not match("level!=info", rec(level=Level.INFO))
    assert match("-level=info", rec(level=Level.DEBUG))


def test_status() -> None:
    assert match("status>=500", rec(status=503))
    assert not match("status>=500", rec(status=404))
    assert not match("status>=500", rec(status=None))
    assert match("status=5xx", rec(status=599))
    assert match("status=404,500", rec(status=500))
    assert match("status!=500", rec(status=None)), "!= is the negation of =: records without status pass"
    assert not match("status<400", rec(status=None))


def test_text_phrase_regex_and_exclusion() -> None:
    r = rec("Upstream CRM returned 503: connection refused")
    assert match("crm", r)
    assert match('"connection refused"', r)
    assert not match('"refused connection"', r)
    assert match("/returned \\d{3}/", r)
    assert not match("/crm/", r)
    assert match("/crm/i", r)
    assert not match("-crm", r)
    assert match("-timeout", r)
    assert not match("-/\\d+/", r)
    assert match('-"x y"', r)


def test_string_fields_and_wildcards() -> None:
    r = rec(function="send-email", request_id="AbC-123", source="auth", id="e1")
    assert match("function=SEND-EMAIL", r)
    assert match("function=send-*", r)
    assert not match("function=send-", r)
    assert match("request_id=abc-123", r)
    assert match("source=auth,edge", r)
    assert match("id=e1", r)
    assert not match("function=x", rec(function=None))
    assert match("function!=x", rec(function=None))


def test_since_until_relative_and_absolute() -> None:
    old = rec(ts=NOW - timedelta(hours=3))
    new = rec(ts=NOW - timedelta(minutes=10))
    assert match("since=1h", new) and not match("since=1h", old)
    assert match("since=3h30m", old)
    assert match("until=1h", old) and not match("until=1h", new)
    assert match("since=2026-11-27T11:00Z", new)
    assert not match("since=2026-11-27T11:00Z", old)
    assert match("since=2026-11-27T12:00+01:00", new), "offsets are converted to UTC"
    assert parse_since("15m", NOW) == NOW - timedelta(minutes=15)
    assert parse_since("2026-11-27T03:00Z") == datetime(2026, 11, 27, 3, tzinfo=timezone.utc)


def test_empty_filter_matches_everything() -> None:
    f = parse_filter("   ")
    assert f.is_empty and str(f) == ""
    m = f.compile(NOW)
    assert m.accepts_all and m.match(rec())


@pytest.mark.parametrize(
    "text, column, fragment",
    [
        ('level=error "unclosed', 13, "unclosed quote"),
        ("/a(b/", 3, "bad regex"),
        ("/abc", 1, "unclosed regex"),
        ("msg=timeout", 1, "unknown field 'msg'"),
        ("level=loud", 7, "unknown level"),
        ("status>=abc", 9, "HTTP status"),
        ("status>5xx", 8, "status class"),
        ("function>x", 9, "takes = or !="),
        ("since>1h", 6, "takes ="),
        ("since=yesterday", 7, "duration"),
        ("level=", 7, "missing value"),
        ("- x", 1, "must be followed"),
        (">=500", 1, "needs a field name"),
        ("/rest/v1", 7, "quote a path"),
        ("//", 1, "empty regex"),
        ('"a"b', 4, "expected a space"),
        ("--verbose", 1, "must be quoted"),
        ("level=warn,", 7, "empty value"),
    ],
)
def test_errors_point_at_the_problem(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    err = info.value
    assert err.column == column, str(err)
    assert fragment in err.message
    assert str(err).startswith(f"at column {column}: ")


def test_quoting_rescues_lookalikes() -> None:
    assert parse_filter('"msg=timeout" "/rest/v1" "--verbose"').terms == (
        TextTerm("msg=timeout"), TextTerm("/rest/v1"), TextTerm("--verbose"),
    )


def test_help_mentions_every_field() -> None:
    for name in ("level", "function", "status", "source", "request_id", "since", "until", "/regex/", "-word"):
        assert name in FILTER_HELP


def test_spans_for_highlighting() -> None:
    m = parse_filter('crm "returned 5" /\\d{2}ms/ -nothing level=error').compile(NOW)
    text = "CRM said: crm returned 503 in 45ms"
    assert m.spans(text) == [(0, 3), (10, 13), (14, 24), (30, 34)]
    assert [text[a:b] for a, b in m.spans(text)] == ["CRM", "crm", "returned 5", "45ms"]
    assert parse_filter("level=error").compile(NOW).spans(text) == []


def test_pushdown_only_takes_safe_positive_terms() -> None:
    p = parse_filter("level>=warn function=a,b status>=500 -source=auth since=1h").pushdown(NOW)
    assert p.min_level == Level.WARN
    assert p.functions == ("a", "b")
    assert p.min_status == 500
    assert p.sources is None
    assert p.since == NOW - timedelta(hours=1)
    assert parse_filter("function=send-* level>error").pushdown(NOW).functions is None
    assert parse_filter("level>error").pushdown(NOW).min_level == Level.FATAL


# ----------------------------------------------------------------- properties

FILTERISH = st.lists(
    st.sampled_from([
        " ", "-", '"', "\\", "/", "i", "=", "!=", ">=", "<", ">", ",", "level", "status", "function", "source",
        "since", "until", "id", "request_id", "error", "warn", "5xx", "500", "1h", "30m", "2026-11-27T03:00Z",
        "*", "(", ")", "[", "a", "Z", "\t", "\n", "é", "İ", "\x1b", "msg",
    ]) | st.text(max_size=3),
    max_size=12,
).map("".join)

ANY_TEXT = st.one_of(st.text(max_size=40), FILTERISH)


@given(ANY_TEXT)
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parser_only_ever_raises_filter_error(text: str) -> None:
    try:
        f = parse_filter(text)
    except FilterError as err:
        assert 0 <= err.position <= len(text)
        assert err.end > err.position
        assert "\n" not in str(err)
        return
    f.compile(NOW)  # compiling a parsed filter never fails either


@given(ANY_TEXT)
@settings(max_examples=600, deadline=None)
def test_printing_and_reparsing_gives_the_same_filter(text: str) -> None:
    try:
        f = parse_filter(text)
    except FilterError:
        assume(False)
        return
    printed = str(f)
    assert parse_filter(printed) == f, printed
    assert str(parse_filter(printed)) == printed


# Structured generation: every kind of term, then print -> parse.

_words = st.text(min_size=1, max_size=8).filter(lambda s: s.strip() == s and s)
_regex_patterns = st.sampled_from(["a.c", "\\d+", "x/y", "^GET", "(err|fail)", "[a-z]{2}", "\\\\", "é+"])
_strings = st.text(alphabet="abcdef-_*.0123456789", min_size=1, max_size=6).filter(lambda s: s.replace("*", ""))


@st.composite
def terms(draw: st.DrawFn) -> object:
    neg = draw(st.booleans())
    kind = draw(st.sampled_from(["text", "regex", "level", "status", "string", "time"]))
    if kind == "text":
        return TextTerm(draw(st.text(max_size=10)), neg)
    if kind == "regex":
        return RegexTerm(draw(_regex_patterns), draw(st.booleans()), neg)
    if kind == "level":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        n = draw(st.integers(1, 3)) if op in ("=", "!=") else 1
        return FieldTerm("level", op, tuple(draw(st.sampled_from(list(Level))) for _ in range(n)), neg)
    if kind == "status":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        if op in ("=", "!="):
            vals = []
            for _ in range(draw(st.integers(1, 3))):
                if draw(st.booleans()):
                    c = draw(st.integers(1, 5)) * 100
                    vals.append(StatusRange(c, c + 99))
                else:
                    code = draw(st.integers(100, 599))
                    vals.append(StatusRange(code, code))
            return FieldTerm("status", op, tuple(vals), neg)
        code = draw(st.integers(100, 599))
        return FieldTerm("status", op, (StatusRange(code, code),), neg)
    if kind == "string":
        field = draw(st.sampled_from(["function", "source", "request_id", "id"]))
        op = draw(st.sampled_from(["=", "!="]))
        return FieldTerm(field, op, tuple(draw(st.lists(_strings, min_size=1, max_size=3))), neg)
    field = draw(st.sampled_from(["since", "until"]))
    if draw(st.booleans()):
        return FieldTerm(field, "=", (Ago(draw(st.integers(0, 10**7))),), neg)
    at = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))).replace(tzinfo=timezone.utc)
    return FieldTerm(field, "=", (at,), neg)


filters = st.lists(terms(), max_size=5).map(lambda ts: Filter(tuple(ts)))


@given(filters)
@settings(max_examples=250, deadline=None)
def test_generated_filters_round_trip(f: Filter) -> None:
    assert parse_filter(str(f)) == f, str(f)


# Reference semantics, written independently of the compiled closures.


def _wild(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.DOTALL) is not None


def _ref_field(t: FieldTerm, r: LogRecord) -> bool:
    def one(v: object) -> bool:
        if t.field == "level":
            return r.level == v
        if t.field == "status":
            assert isinstance(v, StatusRange)
            return r.status is not None and v.low <= r.status <= v.high
        got = getattr(r, t.field)
        return got is not None and _wild(str(v), got.lower())

    if t.field in ("since", "until"):
        v = t.values[0]
        at = NOW - timedelta(seconds=v.seconds) if isinstance(v, Ago) else v
        return r.ts >= at if t.field == "since" else r.ts <= at  # type: ignore[operator]
    if t.op == "=":
        return any(one(v) for v in t.values)
    if t.op == "!=":
        return not any(one(v) for v in t.values)
    if t.field == "level":
        a, b = int(r.level), int(t.values[0])  # type: ignore[arg-type]
    else:
        if r.status is None:
            return False
        a, b = r.status, t.values[0].low  # type: ignore[union-attr]
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[t.op]


def ref_match(f: Filter, r: LogRecord) -> bool:
    for t in f.terms:
        if isinstance(t, TextTerm):
            ok = t.text.lower() in r.message.lower()
        elif isinstance(t, RegexTerm):
            ok = re.search(t.pattern, r.message, re.IGNORECASE if t.ignore_case else 0) is not None
        else:
            ok = _ref_field(t, r)
        if ok == t.negate:
            return False
    return True


records = st.builds(
    LogRecord,
    ts=st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2101, 1, 1)).map(lambda d: d.replace(tzinfo=timezone.utc)),
    level=st.sampled_from(list(Level)),
    source=st.sampled_from(["function", "edge", "auth", "file"]),
    message=st.text(max_size=20) | st.sampled_from(["GET 500 err", "fail x/y", "ab1", "É"]),
    function=st.none() | _strings,
    status=st.none() | st.integers(100, 599),
    request_id=st.none() | _strings,
    id=st.none() | _strings,
)


@given(filters, st.lists(records, max_size=8))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_compiled_matcher_agrees_with_reference(f: Filter, recs: list[LogRecord]) -> None:
    m = f.compile(NOW)
    for r in recs:
        assert m.match(r) == ref_match(f, r), (str(f), r)


@given(st.lists(st.text(alphabet="abcXYZ é", min_size=1, max_size=3), min_size=1, max_size=3), st.text(alphabet="abcxyzABC é", max_size=30))
@settings(max_examples=300, deadline=None)
def test_spans_cover_exactly_the_matched_text(words: list[str], text: str) -> None:
    f = Filter(tuple(TextTerm(w) for w in words))
    spans = f.compile(NOW).spans(text)
    assert spans == sorted(spans)
    for (a, b), nxt in zip(spans, spans[1:] + [(len(text) + 1, 0)]):
        assert 0 <= a < b <= len(text) and b < nxt[0]
    covered = set()
    for a, b in spans:
        covered.update(range(a, b))
    for w in words:
        w = w.lower()
        start = text.lower().find(w)
        while start >= 0:
            assert set(range(start, start + len(w))) <= covered
            start = text.lower().find(w, start + 1)
