"""The context every model function reads: the seed, the scenario, its onset and the operator's timeline."""

from __future__ import annotations

from dataclasses import dataclass

from cs_console.backends.demo.model.timeline import Timeline


@dataclass(slots=True)
class Context:
    """One simulated run: the same context and the same second always give the same figures."""

    seed: int
    scenario: str
    onset: float | None  # simulated Unix seconds
    timeline: Timeline

    def tau(self, s: float) -> float | None:
        if self.onset is None or s < self.onset:
            return None
        return s - self.onset
