"""The ids of recently stored events, so a retried batch is stored once.

Bounded: the oldest ids are forgotten first. A sender retries what it sent
seconds ago, so the last couple of hundred thousand ids are enough; the team
table's primary key catches anything older.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

DEFAULT_CAPACITY = 200_000


class RecentIds:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def full(self) -> bool:
        return len(self._ids) >= self.capacity

    def __contains__(self, ident: str) -> bool:
        return ident in self._ids

    def add(self, ident: str) -> bool:
        """Remember `ident`; False if it was already known (a duplicate)."""
        ids = self._ids
        if ident in ids:
            return False
        ids.add(ident)
        self._order.append(ident)
        if len(self._order) > self.capacity:
            ids.discard(self._order.popleft())
        return True

    def forget(self, idents: Iterable[str]) -> None:
        """A batch that could not be stored: its ids may come again and must be taken then."""
        for ident in idents:
            self._ids.discard(ident)  # its place in _order ages out harmlessly

    def preload(self, idents: Iterable[str]) -> None:
        """Ids read back from storage at start (newest segment first, so stop when full)."""
        for ident in idents:
            if len(self._ids) >= self.capacity:
                return
            if ident not in self._ids:
                self._ids.add(ident)
                self._order.appendleft(ident)
