"""What an incident store offers (the local JSON-lines log and the team database).

Stores hold events only; the Incident is always the fold of them. Appends are
optimistic: the caller says which seq it read up to, and a store that has
moved on raises ConcurrentAppend so the service re-reads and decides again.
That is how two consoles never lose an event and never break the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from cs_console.domain.incidents.events import IncidentEvent

# Called with the reference of an incident that changed (None: anything may have).
ChangeCallback = Callable[[str | None], Awaitable[None] | None]


class IncidentStore(Protocol):
    kind: str  # "local" or "postgres"

    async def create(self, year: int, first: IncidentEvent) -> tuple[str, IncidentEvent]:
        """Allocate the next INC-<year>-NNNN and write its first event atomically."""
        ...

    async def load(self, ref: str, after_seq: int = 0) -> list[IncidentEvent]:
        """The complete events after `after_seq`, in seq order. UnknownIncident if the incident has none."""
        ...

    async def append(self, ref: str, events: Sequence[IncidentEvent], expected_seq: int, row: dict[str, Any]) -> list[IncidentEvent]:
        """Place events after `expected_seq`, or raise ConcurrentAppend.

        `row` is the index row of the incident with these events applied.
        """
        ...

    async def index(self) -> list[dict[str, Any]]:
        """One summary row per incident (Incident.summary_row())."""
        ...

    async def subscribe(self, callback: ChangeCallback) -> Callable[[], Awaitable[None]]:
        """Call back on changes made by others; returns an async unsubscribe."""
        ...

    def health(self) -> str:
        """'' when fine, else what the store cannot do right now (shown, never hidden)."""
        ...

    @property
    def warnings(self) -> list[str]:
        """Problems met while reading (torn tail skipped, ...), oldest first."""
        ...

    async def close(self) -> None: ...
