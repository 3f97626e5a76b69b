"""A Supabase log source whose live tail comes from the drain, not from polling the logs endpoint.

History older than the drain's oldest stored event (a `since=` reaching back
further) is read once from the logs endpoint, not followed; everything from
there on, and the live tail, is the drain's. The endpoint is never polled
for new records while this source follows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from cs_console.domain.log_record import LogRecord
from cs_console.domain.sources import SourceStatus


class DrainFirstSource:
    lag_label = "drain lag"

    def __init__(self, drain: Any, history: Any | None) -> None:
        self.drain = drain
        self.history = history
        self.name = getattr(drain, "name", "drain")
        self.history_requests = 0  # reads of the logs endpoint this source started (one per history read)

    def lag_seconds(self) -> float | None:
        return self.drain.lag_seconds()

    def quiet_seconds(self) -> float | None:
        return self.drain.quiet_seconds()

    def stored_up_to(self) -> datetime | None:
        return self.drain.stored_up_to()

    def caught_up(self) -> bool:
        return bool(getattr(self.drain, "caught_up", lambda: False)())

    def status(self) -> SourceStatus:
        return self.drain.status()

    def set_pushdown(self, pushdown: Any) -> None:
        if self.history is not None and hasattr(self.history, "set_pushdown"):
            self.history.set_pushdown(pushdown)

    async def fetch_details(self, records: Any) -> Any:
        fetch = getattr(self.history, "fetch_details", None)
        ours = [r for r in records if r.line is None]  # drained records carry their event already
        if fetch is None or not ours:
            return list(records)
        return await fetch(records)

    async def records(self, since: datetime | None, follow: bool, tail: int | None = None, **_: Any) -> AsyncIterator[list[LogRecord]]:
        oldest = await self.drain.oldest_stored()
        if self.history is not None and since is not None and (oldest is None or since < oldest):
            self.history_requests += 1
            async for batch in self.history.records(since, False):
                older = batch if oldest is None else [r for r in batch if r.ts < oldest]
                if older:
                    yield older
            since = oldest or since
        async for batch in self.drain.records(since, follow, tail=tail):
            await self._name_functions(batch)
            yield batch

    async def _name_functions(self, batch: list[LogRecord]) -> None:
        """A drained function event carries the function's id: its slug from the functions list
        (the Management API, cached 10 minutes; not the logs endpoint)."""
        hub = getattr(self.history, "hub", None)
        if hub is None or not any(r.source == "function" for r in batch):
            return
        try:
            names = await hub.function_names()
        except Exception:  # noqa: BLE001 - names are a nicety: the id stays
            return
        if names:
            for r in batch:
                if r.function is not None and r.function in names:
                    r.function = names[r.function]
