"""The demo's simulated clock: sim time = anchor + real elapsed x speed (+ manual advances).

`--speed` compresses time; tests build a frozen clock (`real_time=False`)
and move it with `advance()`, so every figure they check is reproducible.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class SimClock:
    """A Clock (cs_console.domain.clock) whose time runs `speed` times faster than the wall.

    anchor: the simulated time at construction (timezone-aware; UTC is used).
    real_time: False freezes the clock; only advance() moves it (tests, screenshots).
    """

    def __init__(self, anchor: datetime, speed: float = 1.0, *, real_time: bool = True) -> None:
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware")
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self._anchor = anchor.astimezone(timezone.utc)
        self._anchor_epoch = self._anchor.timestamp()
        self.speed = float(speed)
        self.real_time = real_time
        self._started = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def anchor(self) -> datetime:
        return self._anchor

    def epoch(self) -> float:
        """Simulated time as Unix seconds (float)."""
        with self._lock:
            elapsed = (time.monotonic() - self._started) * self.speed if self.real_time else 0.0
            return self._anchor_epoch + elapsed + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), tz=timezone.utc)

    def elapsed(self) -> float:
        """Simulated seconds since the anchor."""
        return self.epoch() - self._anchor_epoch

    def advance(self, seconds: float) -> None:
        """Jump the simulated time forward (tests; a 'fast-forward' key)."""
        if seconds < 0:
            raise ValueError("the simulated clock never goes back")
        with self._lock:
            self._offset += seconds

    def real_seconds(self, sim_seconds: float) -> float:
        """How long, in wall seconds, `sim_seconds` of simulated time take."""
        return sim_seconds / self.speed

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"SimClock(now={self.now().isoformat()}, speed={self.speed})"


def wall_anchor() -> datetime:
    """The default anchor: the wall clock, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_anchor(text: str) -> datetime:
    """An ISO-8601 anchor such as 2026-06-10T14:30:00Z (naive means UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)



DAY = 86400.0  # seconds


def as_datetime(epoch: float) -> datetime:
    """Simulated Unix seconds as an aware UTC datetime (how every row the model returns shows time)."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc)
