"""Field values of log data, whatever the dialect: timestamps, levels, status codes, text.

    parse_timestamp(value) -> datetime | None
        unix s / ms / µs / ns (int, float or digit string) and ISO 8601
        (with or without zone; no zone means UTC), always aware UTC.
    parse_level(value) -> Level | None     names (warn, WARNING, E…) and numbers (pino: 30=info, 50=error)
    level_from_status(status) -> Level     >=500 error, >=400 warn, else info
    parse_status(value) -> int | None      an HTTP-like status from int, digit string or whole float
    cut(text, limit) -> str                text cut to `limit` chars with a marker
    intern_short(value) -> str             one shared copy of a repeated short string

Shared by the line parser (log_parsing) and the Supabase row parser
(supabase_log_rows). The caches are module globals the line parser's hot path
reads directly (LEVEL_CACHE, INTERNED).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from cs_console.domain.log_record import Level
from cs_console.domain.safe_text import CUT_MARKER

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Stored text per record is capped: a 1 MB line keeps its first 64 KiB and a marker.
MAX_MESSAGE_CHARS = 64 * 1024


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

LEVEL_CACHE: dict[str, Level | None] = {}


def parse_level(value: Any) -> Level | None:
    if isinstance(value, str):
        try:
            return LEVEL_CACHE[value]
        except KeyError:
            level = Level.parse(value) if len(value) < 20 else None
            if len(LEVEL_CACHE) < 1000:
                LEVEL_CACHE[value] = level
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


def parse_status(value: Any) -> int | None:
    """An HTTP-like status (0-9999) from an int, a digit string or a whole float; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10000 else None
    if isinstance(value, str) and 0 < len(value) <= 4 and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, float) and value.is_integer() and 0 <= value < 10000:
        return int(value)
    return None


# Supabase table names as they appear in exports, mapped to console source names.
SOURCE_OF_TABLE: dict[str, str] = {
    "function_logs": "function",
    "function_edge_logs": "function",
    "edge_logs": "edge",
    "auth_logs": "auth",
    "auth_audit_logs": "auth",
    "postgres_logs": "postgres",
}


# ----------------------------------------------------------------- text

INTERNED: dict[str, str] = {}


def intern_short(value: str) -> str:
    """Share repeated short strings (function names, sources) between records."""
    if len(value) > 64:
        return value
    got = INTERNED.get(value)
    if got is not None:
        return got
    if len(INTERNED) < 50_000:
        INTERNED[value] = value
    return value


def text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return str(value)


def cut_value(value: Any) -> Any:
    if isinstance(value, str):
        return cut(value, 4096)
    if isinstance(value, (dict, list)):
        return cut(text_of(value), 4096)
    return value


__all__ = [
    "MAX_MESSAGE_CHARS",
    "SOURCE_OF_TABLE",
    "cut",
    "cut_value",
    "intern_short",
    "level_from_status",
    "parse_level",
    "parse_status",
    "parse_timestamp",
    "text_of",
]
