"""The text of one log line: timestamp, level label, function column, message.

Shared by the log view (which styles these pieces) and `copy` (which puts the
plain line on the clipboard). Every piece of record text goes through
`safe_text`: log data is never interpreted by the terminal.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.domain.log_record import Level, LogRecord
from cs_console.domain.safe_text import safe_text

# What is shown of one message on its line; the detail view shows the rest.
DISPLAY_MAX_CHARS = 2000
FUNCTION_COLUMN_MAX = 20

LEVEL_LABELS: dict[Level, str] = {
    Level.DEBUG: "DEBUG",
    Level.INFO: "INFO ",
    Level.WARN: "WARN ",
    Level.ERROR: "ERROR",
    Level.FATAL: "FATAL",
}


def format_timestamp(ts: datetime, *, utc: bool, with_date: bool) -> str:
    """`2024-11-27 05:06:58.123` (UTC) or the local time; date left out on narrow screens."""
    if not utc:
        ts = ts.astimezone()
    elif ts.tzinfo is not None and ts.utcoffset():
        ts = ts.astimezone(timezone.utc)
    clock = f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}.{ts.microsecond // 1000:03d}"
    if with_date:
        return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d} {clock}"
    return clock


# Sources whose name says nothing on every line (all records of a file are "file").
_QUIET_SOURCES = frozenset({"file", "stdin", ""})


def record_line_parts(record: LogRecord) -> tuple[str, str]:
    """(function column, message) of a record, both made safe for a terminal.

    The column holds the function, else the source (edge, auth, postgres: the
    `all` view mixes them); a failing status the message does not already
    mention goes in front of it.
    """
    column = record.function or ("" if record.source in _QUIET_SOURCES else record.source)
    function = safe_text(column, FUNCTION_COLUMN_MAX * 2)
    message = safe_text(record.message, DISPLAY_MAX_CHARS)
    if record.status is not None and record.status >= 400 and str(record.status) not in message:
        message = f"{record.status} {message}"
    return function, message


def record_plain_line(record: LogRecord, *, utc: bool = True) -> str:
    """The line as plain text (what `copy` puts on the clipboard)."""
    function, message = record_line_parts(record)
    ts = format_timestamp(record.ts, utc=utc, with_date=True)
    parts = [ts, LEVEL_LABELS.get(record.level, "INFO ").strip()]
    if function:
        parts.append(function)
    parts.append(message)
    return " ".join(parts)
