"""The protocols every backend implements (the demo included).

The TUI and the CLI depend on these, never on a concrete backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from cs_console.domain.health import ComponentHealth
from cs_console.domain.log_record import LogRecord
from cs_console.domain.metrics import MetricsSnapshot


class SourceState(StrEnum):
    UP = "UP"
    DEGRADED = "DEGRADED"  # answering, but something is missing (privilege, rate limit)
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"  # not polled yet


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str  # short label for the header dot: db, api, logs, demo, ...
    state: SourceState
    detail: str = ""
    since: datetime | None = None


@runtime_checkable
class MetricsSource(Protocol):
    name: str

    async def collect(self) -> MetricsSnapshot:
        """One refresh. Raises nothing for expected faults: report them in status()."""
        ...

    def status(self) -> SourceStatus: ...

    async def close(self) -> None: ...


@runtime_checkable
class HealthProbe(Protocol):
    name: str

    async def check(self) -> list[ComponentHealth]:
        """Health of the components this probe can see."""
        ...


@runtime_checkable
class LogSource(Protocol):
    name: str

    def records(self, since: datetime | None, follow: bool) -> AsyncIterator[list[LogRecord]]:
        """Batches of records, oldest first. Ends when not following and caught up."""
        ...

    def lag_seconds(self) -> float | None:
        """How far behind real time the newest record seen is, if known."""
        ...
