"""Health of the platform's components, as the manual's morning check reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# The components the manual's health check names, in display order.
COMPONENTS: tuple[str, ...] = ("Database", "Auth", "REST", "Storage", "Edge Functions", "Realtime")
# Not one of the manual's six: the platform's status page, judged for our region (domain/platform_status.py).
PLATFORM_STATUS = "Platform status"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"

    @property
    def rank(self) -> int:
        return {"HEALTHY": 0, "DEGRADED": 1, "DOWN": 2, "UNKNOWN": 3}[self.value]

    @property
    def symbol(self) -> str:
        """The manual's symbols, for line output (`cs-console health`)."""
        return {"HEALTHY": "✅", "DEGRADED": "⚠️", "DOWN": "❌", "UNKNOWN": "❔"}[self.value]

    @property
    def glyph(self) -> str:
        """One-cell symbols for the TUI: emoji widths (⚠️ with its variation selector)
        differ between terminals, and a misjudged width leaves stale cells on screen."""
        return {"HEALTHY": "✓", "DEGRADED": "▲", "DOWN": "✖", "UNKNOWN": "?"}[self.value]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    name: str
    status: HealthStatus
    detail: str = ""
    latency_ms: float | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    components: tuple[ComponentHealth, ...]
    checked_at: datetime
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def overall(self) -> HealthStatus:
        """Worst component wins; UNKNOWN only when nothing worse is known."""
        if not self.components:
            return HealthStatus.UNKNOWN
        statuses = {c.status for c in self.components}
        for s in (HealthStatus.DOWN, HealthStatus.DEGRADED, HealthStatus.UNKNOWN):
            if s in statuses:
                return s
        return HealthStatus.HEALTHY

    def component(self, name: str) -> ComponentHealth | None:
        return next((c for c in self.components if c.name == name), None)
