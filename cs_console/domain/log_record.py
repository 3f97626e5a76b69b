"""The one record type every log source produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    DEBUG = 10
    INFO = 20
    WARN = 30
    ERROR = 40
    FATAL = 50

    @classmethod
    def parse(cls, text: str) -> "Level | None":
        return _LEVEL_NAMES.get(text.strip().lower())


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
    raw: dict[str, Any] = field(default_factory=dict)
