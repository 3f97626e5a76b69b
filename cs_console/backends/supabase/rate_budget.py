"""One request budget per environment, shared by every pane that talks to Supabase.

Supabase's Management API allows 120 requests/minute per endpoint and only
30/minute for `logs.all`, `usage.api-counts`, `usage.api-requests-count` (and
the newer `/logs`); over the limit every call answers 429 for the rest of the
minute. The console is one user with many panes, so the budget is counted
here, before a request leaves, with a sliding one-minute window per class.
We count all "general" endpoints together (stricter than Supabase) so a busy
console can never trip a per-endpoint limit.

Priority: background aggregates (metrics) spend the logs class only while
`reserve` requests remain for interactive work (a logs tail, a user query),
so a metrics pane can never starve the Logs pane.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class EndpointClass(StrEnum):
    GENERAL = "general"
    LOGS = "logs"  # logs.all, /logs, usage.api-counts, usage.api-requests-count


class Priority(StrEnum):
    HIGH = "high"  # interactive: logs tail, a query the user typed, health check
    LOW = "low"  # background aggregates: may not eat into the reserve


# Path suffixes that Supabase counts against the 30/min limit.
_LOGS_CLASS_SUFFIXES = (
    "/analytics/endpoints/logs.all",
    "/analytics/endpoints/logs",
    "/analytics/endpoints/usage.api-counts",
    "/analytics/endpoints/usage.api-requests-count",
)


def classify(path: str) -> EndpointClass:
    """The budget class of a Management API path (query string ignored)."""
    bare = path.split("?", 1)[0].rstrip("/")
    return EndpointClass.LOGS if bare.endswith(_LOGS_CLASS_SUFFIXES) else EndpointClass.GENERAL


@dataclass(frozen=True, slots=True)
class ClassLimit:
    per_window: int
    reserve: int = 0  # kept back from LOW-priority callers


DEFAULT_LIMITS: dict[EndpointClass, ClassLimit] = {
    EndpointClass.GENERAL: ClassLimit(120, reserve=20),
    EndpointClass.LOGS: ClassLimit(30, reserve=10),
}


@dataclass(frozen=True, slots=True)
class BudgetState:
    """What a pane shows about one class: used/limit and any server-imposed block."""

    endpoint_class: EndpointClass
    used: int
    limit: int
    blocked_for_s: float  # > 0 while a 429's X-RateLimit-Reset is running


class BudgetExhausted(Exception):
    """No request of this class may leave before `wait_s` seconds."""

    def __init__(self, endpoint_class: EndpointClass, wait_s: float, blocked: bool) -> None:
        self.endpoint_class = endpoint_class
        self.wait_s = wait_s
        self.blocked = blocked
        why = "rate limited by Supabase" if blocked else "request budget used up"
        super().__init__(f"{endpoint_class.value} endpoints: {why}, next request in {wait_s:.0f}s")


class RateBudget:
    """Sliding-window request counter per endpoint class. Thread- and task-safe."""

    def __init__(
        self,
        limits: dict[EndpointClass, ClassLimit] | None = None,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._window = window_s
        self._clock = clock
        self._spent: dict[EndpointClass, deque[float]] = {c: deque() for c in EndpointClass}
        self._blocked_until: dict[EndpointClass, float] = {c: 0.0 for c in EndpointClass}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ queries

    def limit(self, cls: EndpointClass) -> ClassLimit:
        return self._limits.get(cls, DEFAULT_LIMITS[cls])

    def _prune(self, cls: EndpointClass, now: float) -> deque[float]:
        spent = self._spent[cls]
        while spent and spent[0] <= now - self._window:
            spent.popleft()
        return spent

    def _allowance(self, cls: EndpointClass, priority: Priority) -> int:
        lim = self.limit(cls)
        return lim.per_window - (lim.reserve if priority is Priority.LOW else 0)

    def wait_time(self, cls: EndpointClass, priority: Priority = Priority.HIGH) -> float:
        """Seconds until a request of this class and priority may leave (0 = now)."""
        with self._lock:
            return self._wait_locked(cls, priority, self._clock())

    def _wait_locked(self, cls: EndpointClass, priority: Priority, now: float) -> float:
        blocked = max(0.0, self._blocked_until[cls] - now)
        spent = self._prune(cls, now)
        allowance = self._allowance(cls, priority)
        if allowance <= 0:
            return float("inf")
        if len(spent) < allowance:
            return blocked
        # The oldest request that must age out before we are under the allowance.
        oldest_needed = spent[len(spent) - allowance]
        return max(blocked, oldest_needed + self._window - now)

    def can_spend(self, cls: EndpointClass, priority: Priority = Priority.HIGH) -> bool:
        return self.wait_time(cls, priority) <= 0

    def remaining(self, cls: EndpointClass, priority: Priority = Priority.HIGH) -> int:
        with self._lock:
            now = self._clock()
            if self._blocked_until[cls] > now:
                return 0
            return max(0, self._allowance(cls, priority) - len(self._prune(cls, now)))

    def state(self, cls: EndpointClass) -> BudgetState:
        with self._lock:
            now = self._clock()
            return BudgetState(cls, len(self._prune(cls, now)), self.limit(cls).per_window, max(0.0, self._blocked_until[cls] - now))

    # ------------------------------------------------------------ spending

    def try_spend(self, cls: EndpointClass, priority: Priority = Priority.HIGH) -> bool:
        """Take one request from the budget if it can leave now."""
        with self._lock:
            now = self._clock()
            if self._wait_locked(cls, priority, now) > 0:
                return False
            self._spent[cls].append(now)
            return True

    def spend(self, cls: EndpointClass, priority: Priority = Priority.HIGH) -> None:
        """Take one request or raise BudgetExhausted saying how long to wait."""
        with self._lock:
            now = self._clock()
            wait = self._wait_locked(cls, priority, now)
            if wait > 0:
                raise BudgetExhausted(cls, wait, self._blocked_until[cls] > now)
            self._spent[cls].append(now)

    async def acquire(self, cls: EndpointClass, priority: Priority = Priority.HIGH, *, max_wait_s: float = 0.0) -> None:
        """Wait (at most max_wait_s) for a slot, then take it; else BudgetExhausted."""
        deadline = self._clock() + max_wait_s
        while True:
            try:
                self.spend(cls, priority)
                return
            except BudgetExhausted as exc:
                if self._clock() + exc.wait_s > deadline:
                    raise
                await asyncio.sleep(max(exc.wait_s, 0.01))

    def block(self, cls: EndpointClass, seconds: float) -> None:
        """Supabase answered 429: nothing of this class leaves for `seconds`."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._blocked_until[cls] = max(self._blocked_until[cls], until)

    def block_for_path(self, path: str, seconds: float) -> None:
        self.block(classify(path), seconds)
