"""Turn log lines into LogRecords: JSON objects and plain-text lines.

Public API:

    LineParser(source="file").parse_lines(lines, now) -> list[LogRecord]
        one record per non-blank line; JSON objects are decoded with the C
        scanner, anything else is a plain-text line (level and leading
        timestamp detected when present); never raises on any text.
    plain_level(line) / plain_timestamp(line)   what a plain-text line says of itself

Field values (timestamps, levels, status, cut) are read by log_fields; rows of
the Supabase logs endpoint by supabase_log_rows.

Records from lines keep the original line in `record.line` (JSON) so the
detail view can show every field without keeping a dict per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from json.scanner import make_scanner
from typing import Any

from cs_console.domain.log_fields import (
    INTERNED,
    LEVEL_CACHE,
    MAX_MESSAGE_CHARS,
    SOURCE_OF_TABLE,
    UTC,
    cut,
    cut_value,
    intern_short,
    level_from_status,
    parse_level,
    parse_status,
    parse_timestamp,
    text_of,
)
from cs_console.domain.log_record import EMPTY_RAW, Level, LineReader, LineRef, LogRecord

_scan_once = make_scanner(json.JSONDecoder())  # the C scanner: no per-line Python frames
_fromisoformat = datetime.fromisoformat


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


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = obj.get(k)
        if v is not None:
            return v
    return None


# Shared copies of short messages (bounded: when full it starts over).
MESSAGE_POOL: dict[str, str] = {}
_POOL_MAX_LEN = 96
_POOL_SIZE = 20_000


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
            status = parse_status(status)
        lv = g("level")
        if lv is None:
            lv = _first(obj, _LEVEL_KEYS)
        level = LEVEL_CACHE.get(lv) if lv.__class__ is str else None
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
            msg = text_of(msg) if msg is not None else (line if line.__class__ is str else text_of(obj))  # type: ignore[assignment]
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
                function = text_of(function)
            function = INTERNED.get(function) or intern_short(function)
        if request_id is not None and request_id.__class__ is not str:
            request_id = text_of(request_id)
        ident = g("id")
        if ident is not None and ident.__class__ is not str:
            ident = text_of(ident)
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
        record.raw = {str(k): cut_value(v) for k, v in list(obj.items())[:200]}
        return record

    # -- plain text

    def _plain(self, line: str, now: datetime) -> LogRecord:
        if len(line) > MAX_MESSAGE_CHARS:
            line = cut(line)
        ts = plain_timestamp(line) if line[0].isdigit() or line[0] in " [" else None
        level = plain_level(line)
        return LogRecord(ts or now, level or Level.INFO, self.source, line.rstrip("\r"), None, None, None, None, EMPTY_RAW, None)


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
        status = parse_status(meta.get("status"))
        if status is None:
            response = meta.get("response")
            if isinstance(response, list) and response and isinstance(response[0], dict):
                status = parse_status(response[0].get("status_code"))
    if function is None:
        function = meta.get("function_name") or meta.get("function_id")
    if request_id is None:
        request_id = meta.get("execution_id") or meta.get("request_id")
    return level, status, function, request_id


__all__ = [
    "LineParser",
    "plain_level",
    "plain_timestamp",
]
