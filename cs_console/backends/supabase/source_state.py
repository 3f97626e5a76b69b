"""UP / DEGRADED / DOWN for a Supabase source, with a one-line reason and since-when."""

from __future__ import annotations

from cs_console.backends.supabase.errors import (
    AnalyticsError,
    BadResponse,
    ClientError,
    RateLimited,
    SupabaseError,
)
from cs_console.domain.clock import Clock
from cs_console.domain.sources import SourceState, SourceStatus


def state_for(exc: SupabaseError) -> SourceState:
    """Rate limits and odd answers leave a source partly useful (DEGRADED);
    timeouts, 5xx, 401/403, unreachable and missing secrets leave it blind (DOWN)."""
    if isinstance(exc, (RateLimited, BadResponse, AnalyticsError, ClientError)):
        return SourceState.DEGRADED
    return SourceState.DOWN


class StatusTracker:
    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self._clock = clock
        self._status = SourceStatus(name, SourceState.UNKNOWN, "not polled yet")

    def set(self, state: SourceState, detail: str = "") -> None:
        since = self._status.since if state == self._status.state and self._status.since else self._clock.now()
        self._status = SourceStatus(self.name, state, detail, since)

    def status(self) -> SourceStatus:
        return self._status
