"""Capped exponential backoff: how long to wait after consecutive failures.

One rule for every reconnect and retry loop (the PostgreSQL connector, the
team store's LISTEN, Supabase log polling, the logs pane's source). Pure: it
never sleeps, the caller does.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """initial, initial*factor, initial*factor², ... up to cap; reset() after a success."""

    initial: float
    cap: float
    factor: float = 2.0
    _delay: float = field(default=0.0, init=False)

    @property
    def current(self) -> float:
        """The delay chosen by the last failure (or hint); 0 after a success."""
        return self._delay

    def next(self) -> float:
        """One more failure: the delay to wait now."""
        self._delay = min(self.cap, self.initial if self._delay <= 0 else self._delay * self.factor)
        return self._delay

    def hint(self, delay: float) -> float:
        """The other side said how long (a 429's reset): wait that, and grow from it. Not capped."""
        self._delay = delay
        return delay

    def reset(self) -> None:
        self._delay = 0.0
