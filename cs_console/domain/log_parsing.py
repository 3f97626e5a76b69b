"""Turn raw log data into LogRecords: JSON lines, plain-text lines, Supabase rows.

Public API:

    LineParser(source="file").parse_lines(lines, now) -> list[LogRecord]
        one record per non-blank line; JSON objects are decoded with the C
        scanner, anything else is a plain-text line (level and leading
        timestamp detected when present); never raises on any text.
    parse_timestamp(value) -> datetime | None
        unix s / ms / µs / ns (int, float or digit string) and ISO 8601
        (with or without zone; no zone means UTC), always aware UTC.
    parse_level(value) -> Level | None     names (warn, WARNING, E…) and numbers (pino: 30=info, 50=error)
    level_from_status(status) -> Level     >=500 error, >=400 warn, else info
    parse_supabase_row(row, table, function_names) -> LogRecord
        one row of the logs endpoint, either dialect, with the columns the
        console's queries select (see backends/supabase/log_source.py).
    cut(text, limit) -> str                text cut to `limit` chars with a marker

Records from lines keep the original line in `record.line` (JSON) so the
detail view can show every field without keeping a dict per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from json.scanner import make_scanner
from typing import Any

from cs_console.domain.log_record import EMPTY_RAW, Level, LineReader, LineRef, LogRecord
from cs_console.domain.safe_text import CUT_MARKER

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Stored text per record is capped: a 1 MB line keeps its first 64 KiB and a marker.
MAX_MESSAGE_CHARS = 64 * 1024

_scan_once = make_scanner(json.JSONDecoder())  # the C scanner: no per-line Python frames
_fromisoformat = datetime.fromisoformat


def cut(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + CUT_MARKER.format(n=len(text) - limit)


# ----------------------------------------------------------------- timestamps


def _from_number(x: float) -> datetime | None:
    ax = abs(x)
    try:
        if ax >= 1e17:  # nanoseconds
            return EPOCH + timedelta(microseconds=x / 1000)
        if ax >= 1e14:  # microseconds (Supabase BigQuery dialect)
            return EPOCH + timedelta(microseconds=x)
        if ax >= 1e11:  # milliseconds
            return EPOCH + timedelta(milliseconds=x)
        return EPOCH + timedelta(seconds=x)
    except (OverflowError, ValueError):
        return None


def parse_timestamp(value: Any) -> datetime | None:
    """Aware UTC datetime from an epoch number or ISO text; None if it is neither."""
    if isinstance(value, str):
        if not value:
            return None
        c = value[0]
        if "0" <= c <= "9" and value.isdigit() and value.isascii():
            return _from_number(int(value)) if len(value) < 30 else None
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            try:
                return _from_number(float(value)) if c in "0123456789.-" else None
            except (ValueError, OverflowError):
                return None
        if dt.tzinfo is UTC:
            return dt
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        try:
            return dt.astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _from_number(value) if abs(value) < 10**30 else None
    if isinstance(value, float):
        return _from_number(value) if value == value and abs(value) < 1e30 else None
    return None


# ----------------------------------------------------------------- levels

_LEVEL_CACHE: dict[str, Level | None] = {}


def parse_level(value: Any) -> Level | None:
    if isinstance(value, str):
        try:
            return _LEVEL_CACHE[value]
        except KeyError:
            level = Level.parse(value) if len(value) < 20 else None
            if len(_LEVEL_CACHE) < 1000:
                _LEVEL_CACHE[value] = level
            return level
    if isinstance(value, int) and not isinstance(value, bool):
        # pino / bunyan numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
        if value >= 60:
            return Level.FATAL
        if value >= 50:
            return Level.ERROR
        if value >= 40:
            return Level.WARN
        if value >= 30:
            return Level.INFO
        return Level.DEBUG
    return None


def level_from_status(status: int | None) -> Level:
    if status is None:
        return Level.INFO
    if status >= 500:
        return Level.ERROR
    if status >= 400:
        return Level.WARN
    return Level.INFO


def _status(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10000 else None
    if isinstance(value, str) and 0 < len(value) <= 4 and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, float) and value.is_integer() and 0 <= value < 10000:
        return int(value)
    return None


# ----------------------------------------------------------------- plain text

# A level word in a plain-text line: "level=error", "severity: warn", "[warn]",
# "<ERROR>", or an upper-case word such as ERROR / WARN (lower-case "error" in
# prose is not a level).
_PLAIN_LEVEL = re.compile(
    r"\b(?:level|lvl|severity|loglevel)\s*[=:]\s*\"?([A-Za-z]{3,8})\b"
    r"|[\[<(]([A-Za-z]{3,8})[\]>)]"
    r"|\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|PANIC|CRITICAL|CRIT|LOG)\b"
)
_PLAIN_LEVEL_EXTRA = {"crit": Level.FATAL, "emerg": Level.FATAL, "alert": Level.FATAL, "dbg": Level.DEBUG, "wrn": Level.WARN}
_PLAIN_TS = re.compile(
    r"\s*\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?)"
)


def plain_level(line: str) -> Level | None:
    for m in _PLAIN_LEVEL.finditer(line, 0, 2048):
        word = (m.group(1) or m.group(2) or m.group(3)).lower()
        level = Level.parse(word) or _PLAIN_LEVEL_EXTRA.get(word)
        if level is not None:
            return level
    return None


def plain_timestamp(line: str) -> datetime | None:
    m = _PLAIN_TS.match(line)
    if not m:
        return None
    text = m.group(1).replace(",", ".").replace(" UTC", "Z").replace("UTC", "Z")
    if len(text) > 10 and text[10] == " ":
        text = text[:10] + "T" + text[11:]
    text = re.sub(r"\s(?=[Z+-])", "", text)
    return parse_timestamp(text)


# ----------------------------------------------------------------- JSON objects

_TS_KEYS = ("timestamp", "ts", "time", "@timestamp", "datetime", "date", "iso_timestamp", "t")
_LEVEL_KEYS = ("level", "severity", "severity_text", "lvl", "levelname", "log_level", "loglevel")
_MESSAGE_KEYS = ("event_message", "message", "msg", "log", "text", "event")
_FUNCTION_KEYS = ("function_name", "function", "fn", "function_slug")
_STATUS_KEYS = ("status", "status_code", "statusCode", "http_status")
_REQUEST_KEYS = ("request_id", "requestId", "req_id", "execution_id", "trace_id", "x_request_id")
_ID_KEYS = ("id", "event_id")

# Supabase table names as they appear in exports, mapped to console source names.
SOURCE_OF_TABLE: dict[str, str] = {
    "function_logs": "function",
    "function_edge_logs": "function",
    "edge_logs": "edge",
    "auth_logs": "auth",
    "auth_audit_logs": "auth",
    "postgres_logs": "postgres",
}


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = obj.get(k)
        if v is not None:
            return v
    return None


_INTERNED: dict[str, str] = {}

# Shared copies of short messages (bounded: when full it starts over).
MESSAGE_POOL: dict[str, str] = {}
_POOL_MAX_LEN = 96
_POOL_SIZE = 20_000


def intern_short(value: str) -> str:
    """Share repeated short strings (function names, sources) between records."""
    if len(value) > 64:
        return value
    got = _INTERNED.get(value)
    if got is not None:
        return got
    if len(_INTERNED) < 50_000:
        _INTERNED[value] = value
    return value


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return str(value)


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    meta = obj.get("metadata")
    if isinstance(meta, list) and meta and isinstance(meta[0], dict):
        return meta[0]
    if isinstance(meta, dict):
        return meta
    return None


class LineParser:
    """Parses text lines into records for one source (`file`, `stdin`, …)."""

    def __init__(self, source: str = "file") -> None:
        self.source = intern_short(source)

    def parse_lines(
        self,
        lines: list[str],
        now: datetime,
        reader: LineReader | None = None,
        refs: Sequence[int | None] | None = None,
    ) -> list[LogRecord]:
        """Records for the non-blank lines. With `reader` and `refs` (packed offset/length
        of each line in its file) JSON records keep a LineRef instead of the line text."""
        out: list[LogRecord] = []
        append = out.append
        scan = _scan_once
        from_obj = self._from_obj
        plain = self._plain
        for i, line in enumerate(lines):
            if not line:
                continue
            if line[0] == "{" and len(line) <= MAX_MESSAGE_CHARS:
                try:
                    obj, end = scan(line, 0)
                except (StopIteration, ValueError, RecursionError):
                    obj = None
                else:
                    if end != len(line) and line[end:].strip():
                        obj = None
                if obj.__class__ is dict:
                    keep: str | LineRef = line
                    if reader is not None and refs is not None and (packed := refs[i]) is not None:
                        keep = LineRef(reader, packed)
                    append(from_obj(obj, keep, now))
                    continue
            elif line[0] == "{" or (line[0].isspace() and line.lstrip()[:1] == "{"):
                record = self._long_or_indented_json(line, now)
                if record is not None:
                    append(record)
                    continue
            elif line.isspace():
                continue
            append(plain(line, now))
        return out

    def parse_line(self, line: str, now: datetime) -> LogRecord | None:
        got = self.parse_lines([line], now)
        return got[0] if got else None

    # -- JSON

    def _from_obj(self, obj: dict[str, Any], line: "str | LineRef | None", now: datetime) -> LogRecord:
        # Hot path (a million lines per file open): common keys first, inlined checks.
        g = obj.get
        t = g("timestamp")
        if t is None:
            t = _first(obj, _TS_KEYS)
        ts: datetime | None
        if t.__class__ is str:
            try:
                ts = _fromisoformat(t)
                if ts.tzinfo is not UTC:
                    ts = parse_timestamp(t)
            except ValueError:
                ts = parse_timestamp(t)
        else:
            ts = parse_timestamp(t) if t is not None else None
        if ts is None:
            ts = now
        status = g("status")
        if status is None:
            status = _first(obj, _STATUS_KEYS)
        if status is not None and not (status.__class__ is int and 0 <= status < 10000):
            status = _status(status)
        lv = g("level")
        if lv is None:
            lv = _first(obj, _LEVEL_KEYS)
        level = _LEVEL_CACHE.get(lv) if lv.__class__ is str else None
        if level is None and lv is not None:
            level = parse_level(lv)
        function = g("function_name")
        if function is None:
            function = _first(obj, _FUNCTION_KEYS)
        request_id = g("request_id")
        if request_id is None:
            request_id = _first(obj, _REQUEST_KEYS)
        source = self.source
        src = g("source")
        if src is not None and src.__class__ is str and src in SOURCE_OF_TABLE:
            source = SOURCE_OF_TABLE[src]
        if (level is None or status is None) and "metadata" in obj:
            meta = _metadata(obj)
            if meta is not None:
                level, status, function, request_id = _from_metadata(meta, level, status, function, request_id)
        if level is None:
            level = level_from_status(status)
        msg = g("event_message")
        if msg is None:
            msg = _first(obj, _MESSAGE_KEYS)
        if msg.__class__ is not str:
            msg = _text_of(msg) if msg is not None else (line if line.__class__ is str else _text_of(obj))  # type: ignore[assignment]
        elif msg and msg[-1] == "\n":
            msg = msg.rstrip("\r\n")
        if len(msg) <= _POOL_MAX_LEN:
            # Log messages repeat ("booted", "GET | 200 | /x"): keep one copy of each.
            pooled = MESSAGE_POOL.get(msg)
            if pooled is not None:
                msg = pooled
            else:
                if len(MESSAGE_POOL) >= _POOL_SIZE:
                    MESSAGE_POOL.clear()  # start over: the texts that repeat come back first
                MESSAGE_POOL[msg] = msg
        if function is not None:
            if function.__class__ is not str:
                function = _text_of(function)
            function = _INTERNED.get(function) or intern_short(function)
        if request_id is not None and request_id.__class__ is not str:
            request_id = _text_of(request_id)
        ident = g("id")
        if ident is not None and ident.__class__ is not str:
            ident = _text_of(ident)
        if len(msg) > MAX_MESSAGE_CHARS:
            msg = cut(msg)
        return LogRecord(ts, level, source, msg, function, status, request_id, ident, EMPTY_RAW, line)

    def _long_or_indented_json(self, line: str, now: datetime) -> LogRecord | None:
        """A JSON object too long to keep whole (or indented): parse it, keep cut fields."""
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        if len(line) <= MAX_MESSAGE_CHARS:
            return self._from_obj(obj, line, now)
        record = self._from_obj(obj, None, now)
        record.raw = {str(k): _cut_value(v) for k, v in list(obj.items())[:200]}
        return record

    # -- plain text

    def _plain(self, line: str, now: datetime) -> LogRecord:
        if len(line) > MAX_MESSAGE_CHARS:
            line = cut(line)
        ts = plain_timestamp(line) if line[0].isdigit() or line[0] in " [" else None
        level = plain_level(line)
        return LogRecord(ts or now, level or Level.INFO, self.source, line.rstrip("\r"), None, None, None, None, EMPTY_RAW, None)


def _cut_value(value: Any) -> Any:
    if isinstance(value, str):
        return cut(value, 4096)
    if isinstance(value, (dict, list)):
        return cut(_text_of(value), 4096)
    return value


def _from_metadata(
    meta: Mapping[str, Any], level: Level | None, status: int | None, function: Any, request_id: Any
) -> tuple[Level | None, int | None, Any, Any]:
    """Supabase exports nest fields in metadata[0] (and response[0].status_code)."""
    if level is None:
        level = parse_level(meta.get("level"))
        if level is None:
            parsed = meta.get("parsed")
            if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
                level = parse_level(parsed[0].get("error_severity"))
    if status is None:
        status = _status(meta.get("status"))
        if status is None:
            response = meta.get("response")
            if isinstance(response, list) and response and isinstance(response[0], dict):
                status = _status(response[0].get("status_code"))
    if function is None:
        function = meta.get("function_name") or meta.get("function_id")
    if request_id is None:
        request_id = meta.get("execution_id") or meta.get("request_id")
    return level, status, function, request_id


# ----------------------------------------------------------------- Supabase rows

_PG_SEVERITY = {
    "DEBUG": Level.DEBUG, "LOG": Level.INFO, "INFO": Level.INFO, "NOTICE": Level.INFO,
    "WARNING": Level.WARN, "ERROR": Level.ERROR, "FATAL": Level.FATAL, "PANIC": Level.FATAL,
}


def supabase_level(table: str, row: Mapping[str, Any], status: int | None) -> Level:
    """Severity the way Studio derives it, per table (supabase-ops-api.md §4.2)."""
    raw_level = row.get("level")
    if table == "postgres_logs":
        sev = row.get("error_severity") or raw_level
        if isinstance(sev, str):
            return _PG_SEVERITY.get(sev.upper(), Level.INFO)
        return Level.INFO
    if table == "function_logs":
        level = parse_level(raw_level)
        if row.get("event_type") == "UncaughtException":
            return max(level or Level.ERROR, Level.ERROR)
        return level or Level.INFO
    if table == "auth_logs":
        # Auth logs say "info" even on 4xx: status decides as much as level.
        level = parse_level(raw_level) or Level.INFO
        return max(level, level_from_status(status))
    level = parse_level(raw_level)
    return max(level, level_from_status(status)) if level is not None else level_from_status(status)


def parse_supabase_row(
    row: Mapping[str, Any], table: str | None = None, function_names: Mapping[str, str] | None = None
) -> LogRecord:
    """A row of the logs endpoint (BigQuery µs timestamps or ClickHouse ISO text)."""
    table = str(row.get("source") or table or "")
    ts = parse_timestamp(row.get("timestamp")) or datetime.now(UTC)
    status = _status(row.get("status_code"))  # ClickHouse reads a missing key as ''
    if status is None:
        status = _status(row.get("status"))
    level = supabase_level(table, row, status)
    function: str | None = None
    fid = row.get("function_id")
    if isinstance(fid, str) and fid:
        function = (function_names or {}).get(fid)
    if function is None:
        path = row.get("pathname") or (row.get("path") if table == "function_edge_logs" else None)
        if isinstance(path, str) and "/functions/v1/" in path:
            function = path.split("/functions/v1/", 1)[1].split("/", 1)[0].split("?", 1)[0] or None
    if function is None and isinstance(fid, str) and fid:
        function = fid
    message = _text_of(row.get("event_message", ""))
    if message.endswith("\n"):
        message = message.rstrip("\r\n")
    request_id = row.get("execution_id") or row.get("request_id")
    ident = row.get("id")
    return LogRecord(
        ts=ts,
        level=level,
        source=intern_short(SOURCE_OF_TABLE.get(table, table or "supabase")),
        message=cut(message),
        function=intern_short(function) if function else None,
        status=status,
        request_id=str(request_id) if request_id is not None else None,
        id=str(ident) if ident is not None else None,
        raw={k: _cut_value(v) for k, v in row.items()},
    )


__all__ = [
    "MAX_MESSAGE_CHARS",
    "SOURCE_OF_TABLE",
    "LineParser",
    "cut",
    "intern_short",
    "level_from_status",
    "parse_level",
    "parse_supabase_row",
    "parse_timestamp",
    "plain_level",
    "plain_timestamp",
    "supabase_level",
]
