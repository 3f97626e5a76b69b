"""The replay's clock: recorded time that plays at a speed, pauses, steps and seeks.

`now()` is what every pane and source reads; the time bar moves it. Time is clamped
to the recording's span, and playing stops at its end.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ReplayClock:
    def __init__(self, start: float, end: float, *, at: float | None = None, speed: float = 1.0, playing: bool = False,
                 monotonic=time.monotonic) -> None:
        if end < start:
            raise ValueError("a replay ends after it starts")
        self.start = start
        self.end = end
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base = min(max(at if at is not None else start, start), end)
        self._since = monotonic()
        self._speed = speed
        self.playing = playing

    # The console scales refresh periods by `speed` (domain.clock.clock_rate).
    @property
    def speed(self) -> float:
        return self._speed

    def epoch(self) -> float:
        with self._lock:
            return self._position()

    def _position(self) -> float:
        t = self._base
        if self.playing:
            t += (self._monotonic() - self._since) * self._speed
        if t >= self.end:
            t = self.end
        return max(t, self.start)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), tz=timezone.utc)

    @property
    def at_end(self) -> bool:
        return self.epoch() >= self.end

    def _rebase(self) -> None:
        self._base = self._position()
        self._since = self._monotonic()

    def seek(self, t: float) -> None:
        with self._lock:
            self._base = min(max(t, self.start), self.end)
            self._since = self._monotonic()

    def play(self) -> None:
        with self._lock:
            self._rebase()
            if self._base >= self.end:
                self._base = self.start  # played to the end: play again from the start
            self.playing = True

    def pause(self) -> None:
        with self._lock:
            self._rebase()
            self.playing = False

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        with self._lock:
            self._rebase()
            self._speed = speed

    def faster(self, step: int = 1) -> float:
        """The next speed in SPEEDS up (step 1) or down (step -1)."""
        ordered = sorted(set(SPEEDS) | {self._speed})
        i = min(max(ordered.index(self._speed) + step, 0), len(ordered) - 1)
        self.set_speed(ordered[i])
        return self._speed
