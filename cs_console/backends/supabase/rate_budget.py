"""One request budget per environment, shared by every pane that talks to Supabase.

Supabase's Management API allows 120 requests/minute per endpoint and only
30/minute for `logs.all`, `usage.api-counts`, `usage.api-requests-count` (and
the newer `/logs`); over the limit every call answers 429 for the rest of the
minute. The platform counts per endpoint, so we do too: one sliding one-minute
window per endpoint ("bucket": `logs`, `logs.all`, `usage.api-counts`,
`general:/v1/projects/{ref}/functions`, ...), with the limit of its class. An
endpoint that is used up or answered 429 blocks only itself.

Accounts over their logs quota are degraded to about 10 queries/min; a bucket's
limit can be lowered at run time (`set_limit`), from an `X-RateLimit-Limit`
header or from 429s that came before our own count was spent.

Priority: background aggregates (metrics) spend the logs class only while
`reserve` requests remain for interactive work (a logs tail, a user query),
so a metrics pane can never starve the Logs pane.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class EndpointClass(StrEnum):
    GENERAL = "general"
    LOGS = "logs"  # logs.all, /logs, usage.api-counts, usage.api-requests-count
    # As a budget key, EndpointClass.LOGS ("logs") is also the bucket of the `/logs` endpoint.


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


_LOGS_CLASS_BUCKETS = frozenset(s.rsplit("/", 1)[1] for s in _LOGS_CLASS_SUFFIXES)
_PROJECT_REF = re.compile(r"^/v1/projects/[^/]+")
DEGRADED_LOGS_PER_MIN = 10  # what an account over its logs quota gets


def classify(path: str) -> EndpointClass:
    """The budget class of a Management API path or bucket name (query string ignored)."""
    bare = path.split("?", 1)[0].rstrip("/")
    if bare in _LOGS_CLASS_BUCKETS or bare.endswith(_LOGS_CLASS_SUFFIXES):
        return EndpointClass.LOGS
    return EndpointClass.GENERAL


def bucket_for(path: str) -> str:
    """The endpoint as Supabase counts it: analytics endpoints by name, others by route."""
    bare = path.split("?", 1)[0].rstrip("/")
    if "/analytics/endpoints/" in bare:
        return bare.rsplit("/analytics/endpoints/", 1)[1]
    return "general:" + _PROJECT_REF.sub("/v1/projects/{ref}", bare)


Key = EndpointClass | str


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
    """What a pane shows about one bucket: used/limit and any server-imposed block."""

    endpoint_class: Key
    used: int
    limit: int
    blocked_for_s: float  # > 0 while a 429's X-RateLimit-Reset is running


class BudgetExhausted(Exception):
    """No request of this class may leave before `wait_s` seconds."""

    def __init__(self, endpoint_class: Key, wait_s: float, blocked: bool) -> None:
        self.endpoint_class = endpoint_class
        self.wait_s = wait_s
        self.blocked = blocked
        why = "rate limited by Supabase" if blocked else "request budget used up"
        name = str(endpoint_class).removeprefix("general:")
        super().__init__(f"{name}: {why}, next request in {wait_s:.0f}s")


class RateBudget:
    """Sliding-window request counter per endpoint bucket. Thread- and task-safe.

    Every method takes a bucket (`bucket_for(path)`) or an EndpointClass,
    which names the bucket "general" / "logs" (the `/logs` endpoint)."""

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
        self._spent: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._override: dict[str, int] = {}  # degraded quotas, per bucket
        self._lock = threading.Lock()

    # ------------------------------------------------------------ queries

    def class_limit(self, cls: EndpointClass) -> ClassLimit:
        return self._limits.get(cls, DEFAULT_LIMITS[cls])

    def limit(self, cls: Key) -> ClassLimit:
        base = self.class_limit(classify(str(cls)))
        lowered = self._override.get(str(cls))
        if lowered is None or lowered >= base.per_window:
            return base
        # Keep the same share back for interactive work, scaled down.
        reserve = min(base.reserve * lowered // max(base.per_window, 1), max(lowered - 1, 0))
        return ClassLimit(lowered, reserve)

    def set_limit(self, cls: Key, per_window: int | None) -> None:
        """Lower one bucket's limit (a degraded quota); None restores the class limit."""
        with self._lock:
            if per_window is None:
                self._override.pop(str(cls), None)
            else:
                self._override[str(cls)] = max(1, int(per_window))

    def degraded(self, cls: Key) -> bool:
        return str(cls) in self._override

    def spent_in_window(self, cls: Key) -> int:
        with self._lock:
            return len(self._prune(cls, self._clock()))

    def _prune(self, cls: Key, now: float) -> deque[float]:
        spent = self._spent.setdefault(str(cls), deque())
        while spent and spent[0] <= now - self._window:
            spent.popleft()
        return spent

    def _allowance(self, cls: Key, priority: Priority) -> int:
        lim = self.limit(cls)
        return lim.per_window - (lim.reserve if priority is Priority.LOW else 0)

    def wait_time(self, cls: Key, priority: Priority = Priority.HIGH) -> float:
        """Seconds until a request of this class and priority may leave (0 = now)."""
        with self._lock:
            return self._wait_locked(cls, priority, self._clock())

    def _wait_locked(self, cls: Key, priority: Priority, now: float) -> float:
        blocked = max(0.0, self._blocked_until.get(str(cls), 0.0) - now)
        spent = self._prune(cls, now)
        allowance = self._allowance(cls, priority)
        if allowance <= 0:
            return float("inf")
        if len(spent) < allowance:
            return blocked
        # The oldest request that must age out before we are under the allowance.
        oldest_needed = spent[len(spent) - allowance]
        return max(blocked, oldest_needed + self._window - now)

    def can_spend(self, cls: Key, priority: Priority = Priority.HIGH) -> bool:
        return self.wait_time(cls, priority) <= 0

    def remaining(self, cls: Key, priority: Priority = Priority.HIGH) -> int:
        with self._lock:
            now = self._clock()
            if self._blocked_until.get(str(cls), 0.0) > now:
                return 0
            return max(0, self._allowance(cls, priority) - len(self._prune(cls, now)))

    def state(self, cls: Key) -> BudgetState:
        with self._lock:
            now = self._clock()
            return BudgetState(cls, len(self._prune(cls, now)), self.limit(cls).per_window, max(0.0, self._blocked_until.get(str(cls), 0.0) - now))

    # ------------------------------------------------------------ spending

    def try_spend(self, cls: Key, priority: Priority = Priority.HIGH) -> bool:
        """Take one request from the budget if it can leave now."""
        with self._lock:
            now = self._clock()
            if self._wait_locked(cls, priority, now) > 0:
                return False
            self._prune(cls, now).append(now)
            return True

    def spend(self, cls: Key, priority: Priority = Priority.HIGH) -> None:
        """Take one request or raise BudgetExhausted saying how long to wait."""
        with self._lock:
            now = self._clock()
            wait = self._wait_locked(cls, priority, now)
            if wait > 0:
                raise BudgetExhausted(cls, wait, self._blocked_until.get(str(cls), 0.0) > now)
            self._prune(cls, now).append(now)

    async def acquire(self, cls: Key, priority: Priority = Priority.HIGH, *, max_wait_s: float = 0.0) -> None:
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

    def block(self, cls: Key, seconds: float) -> None:
        """Supabase answered 429: nothing of this class leaves for `seconds`."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._blocked_until[str(cls)] = max(self._blocked_until.get(str(cls), 0.0), until)

    def block_for_path(self, path: str, seconds: float) -> None:
        self.block(bucket_for(path), seconds)
