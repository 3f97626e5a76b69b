"""The one record type every log source produces.

Records are kept by the hundred thousand in the log buffer, so they are lean:
slots, shared (interned) strings for source/function/repeated messages, and
for line-oriented sources the original line in `line` with `raw` left empty:
`fields()` parses the line only when the detail view asks for it. For files,
`line` is a LineRef (where the line is in the file: ~80 bytes instead of the
text) and the file source reads it back on demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Mapping, Protocol


class Level(IntEnum):
    DEBUG = 10
    INFO = 20
    WARN = 30
    ERROR = 40
    FATAL = 50

    @classmethod
    def parse(cls, text: str) -> "Level | None":
        return _LEVEL_NAMES.get(text.strip().lower())

    @property
    def label(self) -> str:
        """Lower-case name used in output and in the filter language (`warn`, `error`)."""
        return self.name.lower()


_LEVEL_NAMES: dict[str, Level] = {
    "trace": Level.DEBUG,
    "debug": Level.DEBUG,
    "log": Level.INFO,
    "info": Level.INFO,
    "notice": Level.INFO,
    "warn": Level.WARN,
    "warning": Level.WARN,
    "error": Level.ERROR,
    "err": Level.ERROR,
    "fatal": Level.FATAL,
    "panic": Level.FATAL,
    "critical": Level.FATAL,
}


@dataclass(slots=True)
class LogRecord:
    ts: datetime  # timezone-aware UTC
    level: Level
    source: str  # function | edge | auth | postgres | file | stdin | ...
    message: str
    function: str | None = None
    status: int | None = None
    request_id: str | None = None
    id: str | None = None  # the source's own id, for de-duplication
    raw: Mapping[str, Any] = field(default_factory=dict)  # source fields (read-only for consumers)
    line: "str | LineRef | None" = None  # original line (stdin: text; files: where it is)

    def fields(self) -> dict[str, Any]:
        """Every field of the record, for the detail view and exports.

        The normalised fields first, then the source's own fields: `raw`, or
        the original line parsed on demand (JSON object, else the text itself).
        """
        out: dict[str, Any] = {
            "timestamp": iso_utc(self.ts),
            "level": self.level.label,
            "source": self.source,
        }
        for key in ("function", "status", "request_id", "id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["message"] = self.message
        extra: Mapping[str, Any] = self.raw
        if not extra and self.line is not None:
            text = self.original_line()
            if text is None:
                extra = {"line": "(the original line is no longer readable: the file was truncated or replaced)"}
            else:
                try:
                    parsed = json.loads(text)
                except (ValueError, RecursionError):
                    parsed = None
                extra = parsed if isinstance(parsed, dict) else {"line": text}
        if extra:
            out["raw"] = dict(extra)
        return out

    def original_line(self) -> str | None:
        """The line as the source wrote it (read back from the file for a LineRef)."""
        line = self.line
        if line is None or isinstance(line, str):
            return line
        return line.text()

    def summary(self) -> dict[str, Any]:
        """The normalised fields as JSON-ready values (`cs-console logs --json`)."""
        return {
            "ts": iso_utc(self.ts),
            "level": self.level.label,
            "source": self.source,
            "function": self.function,
            "status": self.status,
            "request_id": self.request_id,
            "message": self.message,
        }


class LineReader(Protocol):
    def read_line(self, offset: int, length: int) -> str | None:
        """The text at [offset, offset+length) of the file, or None if it is gone."""
        ...


LENGTH_BITS = 21  # a kept line is at most 64 Ki characters (< 2 MiB of UTF-8)
LENGTH_MASK = (1 << LENGTH_BITS) - 1


class LineRef:
    """Where a record's original line is in a file (offset and length packed in one int)."""

    __slots__ = ("reader", "packed")

    def __init__(self, reader: LineReader, packed: int) -> None:
        self.reader = reader
        self.packed = packed

    @property
    def offset(self) -> int:
        return self.packed >> LENGTH_BITS

    @property
    def length(self) -> int:
        return self.packed & LENGTH_MASK

    def text(self) -> str | None:
        return self.reader.read_line(self.packed >> LENGTH_BITS, self.packed & LENGTH_MASK)

    def __repr__(self) -> str:
        return f"LineRef(offset={self.offset}, length={self.length})"


# Shared empty `raw` for records that keep their original line instead.
EMPTY_RAW: Mapping[str, Any] = MappingProxyType({})


def iso_utc(ts: datetime) -> str:
    """`2026-11-27T03:00:00.123456Z`: always UTC, always microseconds (sortable)."""
    if ts.tzinfo is not timezone.utc:
        ts = ts.astimezone(timezone.utc) if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if ts.year >= 1000 else ts.replace(tzinfo=None).isoformat() + "Z"
