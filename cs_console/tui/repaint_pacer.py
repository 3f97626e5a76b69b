"""How long a streaming view waits before its next repaint: fewer frames when lines come faster than anyone reads.

A log view repaints when records arrive, at most every `base` seconds (8 frames/s:
a line that arrives is on screen within a frame, and a slow stream scrolls
smoothly). When more lines arrive than anyone can read (a screenful several times
a second), every frame replaces most rows and the frames themselves are the
traffic: the interval then grows with the arrival rate, up to `longest` (6.7
frames/s, a sixth fewer bytes). A line waits for the next frame at most
`longest` after it arrived, half of it on average, so the lag is about
`longest / 2` plus the time to read and paint it. That time is what limits
`longest`: 0.03 s on a quiet machine, 0.05-0.1 s with both cores busy, where
0.2 s put the median marker lag at 0.15-0.36 s and 0.15 s kept it at 0.1 s.

Pure and clock-free: the caller passes the time, so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import exp


@dataclass
class RepaintPacer:
    base: float = 0.125  # seconds between repaints of a stream one can read
    longest: float = 0.15  # ... of a flood (the median lag stays under 0.15 s on a loaded machine)
    readable: float = 20.0  # rows/s up to which `base` holds
    flood: float = 100.0  # rows/s from which `longest` holds (linear in between)
    window: float = 1.0  # the arrival rate is measured over about this long
    _rate: float = field(default=0.0, init=False)
    _rate_at: float = field(default=0.0, init=False)
    _last_paint: float | None = field(default=None, init=False)

    def arrived(self, now: float, rows: int) -> None:
        """`rows` new rows for the view arrived at `now`."""
        # Held at twice the flood rate: a file's first screenful (thousands of rows at
        # once) would otherwise keep the slow pace for seconds after the stream calmed.
        self._rate = min(self.rate(now) + rows / self.window, 2 * self.flood)
        self._rate_at = now

    def rate(self, now: float) -> float:
        """Rows per second, decayed exponentially over `window` (a step change shows within about a window)."""
        elapsed = max(0.0, now - self._rate_at)
        return self._rate * exp(-elapsed / self.window) if elapsed else self._rate

    def interval(self, now: float) -> float:
        """The least time between two repaints at the current arrival rate."""
        rate = self.rate(now)
        if rate <= self.readable:
            return self.base
        if rate >= self.flood:
            return self.longest
        return self.base + (self.longest - self.base) * (rate - self.readable) / (self.flood - self.readable)

    def wait(self, now: float) -> float:
        """Seconds to wait before repainting (0: now)."""
        if self._last_paint is None:
            return 0.0
        return max(0.0, self._last_paint + self.interval(now) - now)

    def painted(self, now: float) -> None:
        self._last_paint = now
