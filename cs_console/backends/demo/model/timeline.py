"""The operator's actions on the simulation, as a timeline the closed-form model can query.

An intervention at simulated time t affects every second s >= floor(t); the
seconds before keep their history, so logs already shown never change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from cs_console.backends.demo.model.catalog import COMPUTE_TIERS, RESIZE_SECONDS, START_TIER, ComputeTier
from cs_console.backends.demo.model.results import Intervention


class Timeline:
    def __init__(self) -> None:
        self._items: list[Intervention] = []

    def add(self, item: Intervention) -> None:
        self._items.append(item)

    def __iter__(self) -> Iterator[Intervention]:
        return iter(self._items)

    def __reversed__(self) -> Iterator[Intervention]:
        return reversed(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def _applies(item: Intervention, s: float) -> bool:
        return math.floor(item.at) <= s

    def last(self, kind: str, s: float, target: str | None = None) -> Intervention | None:
        """The latest intervention of this kind (and target) in force at second s."""
        found = None
        for item in self._items:
            if item.kind == kind and (target is None or item.target == target) and self._applies(item, s):
                found = item
        return found

    def count(self, kind: str, s: float, target: str | None = None) -> int:
        return sum(
            1
            for item in self._items
            if item.kind == kind and (target is None or item.target == target) and self._applies(item, s)
        )

    def tier_at(self, s: float) -> tuple[ComputeTier, float | None]:
        """The compute tier in force at s, and the start of a resize restart covering s (else None).

        During the restart window the old tier's limits no longer matter: the database is down.
        """
        tier = COMPUTE_TIERS[START_TIER]
        restarting_since: float | None = None
        for item in self._items:
            if item.kind != "scale_compute" or not self._applies(item, s):
                continue
            start = float(math.floor(item.at))
            if s < start + RESIZE_SECONDS:
                restarting_since = start
            else:
                restarting_since = None
            tier = COMPUTE_TIERS[str(item.value)]
        return tier, restarting_since
