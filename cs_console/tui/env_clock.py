"""The environment's clock, read through the app at each call.

The app can swap its environment after the first frame (the real one is built
then); anything that keeps a clock for longer than a call keeps this one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from cs_console.domain.clock import Clock, clock_rate


class _HasEnvironment(Protocol):
    @property
    def env(self) -> "_HasClock": ...


class _HasClock(Protocol):
    @property
    def clock(self) -> Clock: ...


class EnvClock:
    """A Clock that is always the app's current environment's clock."""

    def __init__(self, app: _HasEnvironment) -> None:
        self._app = app

    def now(self) -> datetime:
        return self._app.env.clock.now()

    def rate(self) -> float:
        """The current clock's seconds per wall second (the demo's --speed)."""
        return clock_rate(self._app.env.clock)
