"""The one stateful part of the demo: PostgreSQL connection slots, stepped one simulated second at a time.

Leaked idle-in-transaction sessions, refused connection attempts, the
operator's terminations and compute restarts depend on what came before, so
this engine steps whole seconds from the simulation's start (at most ~20
simulated minutes before the anchor) and records a compact state per second.
Seconds before the start are evaluated in closed form (nothing leaked yet).
Every step is a pure function of (seed, second, state): the same seed and the
same actions at the same simulated times give the same history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import LEAKY_APPLICATION, POOLS, RESERVED_CONNECTIONS
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.demand import Load
from cs_console.backends.demo.model.noise import unit

_HISTORY_LIMIT = 2 * 86400  # seconds of per-second state kept; older seconds read as calm
_RETRY_S = 10  # a refused worker connection is retried for this long
POOL_MAX: dict[str, int] = {p.key: p.max_size for p in POOLS}


@dataclass(slots=True)
class DbSecond:
    """The connection engine's state for one second."""

    usable: int  # max_connections - reserved
    max_connections: int
    used: int
    leaked: int
    at_capacity: bool
    refused: int  # connection attempts refused in this second
    su_extra: int  # superuser sessions in the reserved slots
    blocked: int
    oldest_leak_born: float | None
    restarting: bool


@dataclass(slots=True)
class Leaked:
    pid: int
    born: float  # simulated Unix seconds


@dataclass(frozen=True, slots=True)
class PgEvent:
    """Something the postgres log must show at a given moment (terminations, restarts...)."""

    at: float
    severity: str  # LOG | WARNING | ERROR | FATAL
    message: str
    user: str = "postgres"
    application: str = ""
    pid: int | None = None
    detail: str = ""
    query: str = ""


def allocate(desired: dict[str, int], free: int) -> dict[str, int]:
    """Connected members per pool when only `free` slots are left (internal services first)."""
    alloc: dict[str, int] = {}
    for pool in POOLS:
        n = max(0, min(desired.get(pool.key, 0), free))
        alloc[pool.key] = n
        free -= n
    return alloc


def pool_pid(pool_index: int, slot: int, generation: int) -> int:
    return 11000 + pool_index * 4000 + slot * 120 + generation % 120


class ConnectionEngine:
    def __init__(self, ctx: Context, load: Callable[[int], Load], start_s: int) -> None:
        self.ctx = ctx
        self._load = load
        self._base = start_s
        self._next = start_s  # the next second to step
        self._hist: list[DbSecond | None] = []
        self.leaked: list[Leaked] = []
        self._acc = 0.0
        self._leak_counter = 0
        self._su_extra = 0
        self.worker_fixed_at: float | None = None
        self.idle_tx_timeout_s: float | None = None
        self.pool_generation: dict[tuple[str, int], tuple[int, float]] = {}  # -> (generation, since)
        self.events: dict[int, list[PgEvent]] = {}
        self._was_saturated = False
        self._retries: list[int] = []  # seconds of refused worker attempts still being retried

    # --- reading ------------------------------------------------------------
    @property
    def stepped_until(self) -> int:
        """The last second stepped (inclusive)."""
        return self._next - 1

    def state_at(self, s: int) -> DbSecond:
        """The state of second s; s must not be ahead of the last advance_to()."""
        if s < self._base:
            return self._calm_state(s)
        if s >= self._next:
            raise ValueError(f"second {s} not simulated yet (at {self._next - 1})")
        state = self._hist[s - self._base]
        return self._calm_state(s) if state is None else state

    def stepped_state(self, s: int) -> DbSecond | None:
        """The stored state of s, or None when s needed no stepping (closed-form, nothing leaked)."""
        if s < self._base or s >= self._next:
            return None
        return self._hist[s - self._base]

    def events_in(self, s: int) -> list[PgEvent]:
        return self.events.get(s, [])

    def generation(self, pool: str, slot: int) -> tuple[int, float | None]:
        gen = self.pool_generation.get((pool, slot))
        return (gen[0], gen[1]) if gen else (0, None)

    # --- stepping -------------------------------------------------------------
    def advance_to(self, s: int) -> None:
        while self._next <= s:
            quiet_until = self._quiet_until(s)
            if quiet_until is not None:
                # Nothing stateful going on: those seconds are closed-form (stored as None).
                self._hist.extend([None] * (quiet_until - self._next + 1))
                self._next = quiet_until + 1
                continue
            self._hist.append(self._step(self._next))
            self._next += 1
        if len(self._hist) > _HISTORY_LIMIT:
            drop = len(self._hist) - _HISTORY_LIMIT // 2
            del self._hist[:drop]
            self._base += drop
            for key in [k for k in self.events if k < self._base]:
                del self.events[key]

    def _leak_from(self) -> int | None:
        """The first second the worker leaks (None: never, or no longer)."""
        if self.ctx.scenario != "connection-exhaustion" or self.ctx.onset is None or self.worker_fixed_at is not None:
            return None
        return math.ceil(self.ctx.onset)

    def _quiet_until(self, s: int) -> int | None:
        """The last second up to s that needs no stepping from self._next on, or None."""
        if self.leaked or self._retries or self._su_extra or self._was_saturated:
            return None
        leak_from = self._leak_from()
        if leak_from is None:
            return s
        if leak_from > self._next:
            return min(s, leak_from - 1)
        return None

    def _calm_state(self, s: int) -> DbSecond:
        load = self._load(s)
        usable = load.tier.max_connections - RESERVED_CONNECTIONS
        if load.restarting_since is not None:
            return DbSecond(usable, load.tier.max_connections, 0, 0, False, 2, 0, 0, None, True)
        base = sum(load.pool_desired.values())
        return DbSecond(usable, load.tier.max_connections, min(usable, base), 0, base >= usable, 0, 0, 0, None, False)

    def _emit(self, s: int, event: PgEvent) -> None:
        self.events.setdefault(s, []).append(event)

    def _step(self, s: int) -> DbSecond:
        ctx = self.ctx
        load = self._load(s)
        usable = load.tier.max_connections - RESERVED_CONNECTIONS
        tau = ctx.tau(s)
        leak_on = ctx.scenario == "connection-exhaustion" and tau is not None and self.worker_fixed_at is None
        attempts = 0
        if leak_on:
            self._acc += sc.leak_rate(tau)  # type: ignore[arg-type]
            attempts = int(self._acc)
            self._acc -= attempts

        if load.restarting_since is not None:
            self._was_saturated = False
            self._retries = []
            return DbSecond(usable, load.tier.max_connections, 0, 0, False, attempts + 2, 0, 0, None, True)

        if self.idle_tx_timeout_s is not None:
            keep: list[Leaked] = []
            for conn in self.leaked:
                if s - conn.born >= self.idle_tx_timeout_s:
                    self._emit(s, PgEvent(s + 0.2, "FATAL", "terminating connection due to idle-in-transaction timeout",
                                          user="cs_worker", application=LEAKY_APPLICATION, pid=conn.pid))
                else:
                    keep.append(conn)
            self.leaked = keep

        base = sum(load.pool_desired.values())
        # Refused worker attempts are retried for a while (connect timeout loop).
        origins = [r for r in self._retries if s - r < _RETRY_S] + [s] * attempts
        self._retries = []
        refused = 0
        for i, origin in enumerate(origins):
            if base + len(self.leaked) < usable:
                self._leak_counter += 1
                self.leaked.append(Leaked(40000 + 3 * self._leak_counter, s + (i + 1) / (len(origins) + 1)))
            else:
                refused += 1
                self._retries.append(origin)
        at_cap = self._saturated(load, usable)
        if at_cap:
            refused += 1 + int(2.0 * unit(ctx.seed, "refused", s))  # everyone else's attempts
            if s % 6 == 0:
                self._su_extra = min(RESERVED_CONNECTIONS, self._su_extra + 1)
        elif self._su_extra and s % 3 == 0:
            self._su_extra -= 1
        return self._record(s, load, usable, refused)

    def _saturated(self, load: Load, usable: int) -> bool:
        """No free slot for whoever asks next. Starved pools queue requests and want their maximum,
        so once saturated, it stays so until enough slots are freed (hysteresis, as in real life)."""
        demand = dict(load.pool_desired)
        if self._was_saturated:
            for key in ("postgrest", "supavisor"):
                demand[key] = POOL_MAX[key]
        saturated = sum(demand.values()) + len(self.leaked) >= usable
        self._was_saturated = saturated
        return saturated

    def _record(self, s: int, load: Load, usable: int, refused: int) -> DbSecond:
        base = sum(load.pool_desired.values())
        leaked = len(self.leaked)
        at_cap = self._was_saturated
        su_extra = self._su_extra if at_cap else min(self._su_extra, max(0, usable - base - leaked))
        used = min(usable, base + leaked) + su_extra
        alloc = allocate(load.pool_desired, usable - leaked)
        blocked = min(6, leaked // 5, alloc.get("supavisor", 0)) if leaked else 0
        oldest = min((c.born for c in self.leaked), default=None)
        return DbSecond(usable, load.tier.max_connections, used, leaked, at_cap, refused, su_extra, blocked, oldest, False)

    def rerecord(self, s: int) -> None:
        """After an action in second s: its state shows the action at once."""
        if s < self._base or s >= self._next:
            return
        old = self.state_at(s)
        if old.restarting:
            return
        load = self._load(s)
        self._was_saturated = False
        self._saturated(load, old.usable)
        self._hist[s - self._base] = self._record(s, load, old.usable, old.refused)

    def restart(self, at: float, seconds: float) -> None:
        """A compute resize: the server shuts down now and accepts connections again after `seconds`.
        Every session ends; pooled clients reconnect with new pids when it is back."""
        s = int(at)
        self._emit(s, PgEvent(at + 0.001, "LOG", "received fast shutdown request", user="", application=""))
        self._emit(s, PgEvent(at + 0.002, "LOG", "aborting any active transactions", user="", application=""))
        for conn in self.leaked:
            self._emit(s, PgEvent(at + 0.003, "FATAL", "terminating connection due to administrator command",
                                  user="cs_worker", application=LEAKY_APPLICATION, pid=conn.pid))
        self._emit(s, PgEvent(at + 0.5, "LOG", "database system is shut down", user="", application=""))
        back = float(s) + seconds
        self._emit(int(back), PgEvent(back + 0.01, "LOG", "database system is ready to accept connections", user="", application=""))
        self.leaked = []
        self._su_extra = 0
        self._retries = []
        self._was_saturated = False
        for pool in POOLS:
            for slot in range(pool.max_size):
                gen, _ = self.generation(pool.key, slot)
                self.pool_generation[(pool.key, slot)] = (gen + 1, back)

    # --- actions (called by the project with the engine advanced to s) ----------
    def terminate_leaked(self, pid: int, at: float, reason: str = "administrator command") -> bool:
        for conn in self.leaked:
            if conn.pid == pid:
                self.leaked.remove(conn)
                self._emit(int(at), PgEvent(at, "FATAL", f"terminating connection due to {reason}",
                                            user="cs_worker", application=LEAKY_APPLICATION, pid=pid))
                return True
        return False

    def reconnect_pool_member(self, pool: str, slot: int, at: float, pid: int, user: str, application: str) -> None:
        gen, _ = self.generation(pool, slot)
        self.pool_generation[(pool, slot)] = (gen + 1, at)
        self._emit(int(at), PgEvent(at, "FATAL", "terminating connection due to administrator command",
                                    user=user, application=application, pid=pid))

    def restart_worker(self, at: float) -> int:
        """The leaking worker restarts with the fix: its sessions end (their transactions roll back)."""
        closed = len(self.leaked)
        for conn in self.leaked:
            self._emit(int(at), PgEvent(at, "LOG", "unexpected EOF on client connection with an open transaction",
                                        user="cs_worker", application=LEAKY_APPLICATION, pid=conn.pid))
        self.leaked = []
        self.worker_fixed_at = at
        worker_index = next(i for i, p in enumerate(POOLS) if p.key == "worker")
        for slot in range(POOLS[worker_index].max_size):
            gen, _ = self.generation("worker", slot)
            self.pool_generation[("worker", slot)] = (gen + 1, at)
        return closed

    def emit(self, at: float, event: PgEvent) -> None:
        self._emit(int(at), event)

