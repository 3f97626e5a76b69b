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
The parsed form and its matcher live in log_filter_model.py, the parser in
log_filter_parser.py. Pure domain code: no I/O.
"""


from __future__ import annotations

from datetime import datetime

from cs_console.domain.log_filter_model import (
    FIELDS, Ago, FieldTerm, Filter, FilterError, Matcher, Pushdown, RegexTerm, StatusRange, TextTerm,
)
from cs_console.domain.log_filter_parser import _Parser, parse_since
from cs_console.domain.log_record import LogRecord

FILTER_HELP = """\
Filter: terms separated by spaces; a record must match every term (AND).

  word  "quoted phrase"   message contains it (case-insensitive)
  /regex/   /regex/i      message matches the regular expression (i: ignore case)
  level=error             also level>=warn, level<error, level=warn,error
  function=send-email     also function_name=…; * is a wildcard: function=send-*
  status>=500             = != < <= > >= ; status=5xx for a class; status=500,502
  source=auth             function, edge, auth, postgres, file, stdin, …
  request_id=…  id=…      exact (case-insensitive)
  ip=203.0.113.7          the client IP (x_real_ip, remote_addr… or an IPv4 in the text)
  user=ann@example.com    the account (auth actor, an e-mail field or one in the text)
  since=15m  until=1h     relative to now: s m h d w (1h30m), or a UTC time:
  since=2026-11-27T03:00Z
  -word  -"phrase"  -/re/  -field=value      exclude what matches
  a!=b is the same as -a=b: it also keeps records that have no such field.

Quote text that looks like a field or starts with - or /: "a=b", "-x", "/rest/v1".
Examples:  level>=warn function=monitor-keywords since=1h
           status>=500 -/health(check)?/ "connection refused"
Count the matches by ip, user, function, status… with g in the Logs pane.
"""


def parse_filter(text: str) -> Filter:
    """Parse filter text. Raises FilterError (and nothing else) when it is not valid."""
    return Filter(tuple(_Parser(text).terms()))


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
