"""The core of the simulated CustomerSignal project: its clock, its state and the per-second model.

Time comes from a SimClock. Everything except the connection slots is a
closed-form function of (seed, scenario, onset, the operator's actions, the
simulated second), so any moment can be evaluated quickly and in any order;
the connection slots are stepped second by second from the start (see
connections.py). Same seed + same anchor + same actions at the same
simulated times = the same numbers and the same logs.

Interactive consoles start just before the scenario's onset; one-shot
commands see it fully developed (18 simulated minutes after onset).

The facets (database.py, auth.py, platform.py, metrics.py, health.py) add the
reads and actions of each part of the project on top of this core;
project.DemoProject is their sum.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace as dc_replace
from datetime import datetime, timezone

from cs_console.backends.demo.model.catalog import INDEX_BY_NAME
from cs_console.backends.demo.model.clock import SimClock, wall_anchor
from cs_console.backends.demo.model.connections import ConnectionEngine, DbSecond, PgEvent
from cs_console.backends.demo.model.context import Context
from cs_console.backends.demo.model.demand import Load, compute_load
from cs_console.backends.demo.model.performance import Signals, compute_signals
from cs_console.backends.demo.model.pg_tables import index_bloat_pct, table_bloat_factor
from cs_console.backends.demo.model.results import ActionResult, Intervention
from cs_console.backends.demo.model.scenarios import SCENARIO_BY_NAME, Scenario
from cs_console.backends.demo.model.timeline import Timeline
from cs_console.domain.sources import SourceState, SourceStatus

_CACHE_SIZE = 8192
LOG_RATE_BLOCK_S = 5


class ProjectCore:
    """The simulated project's clock, state and per-second model. Thread-safe: every public
    method takes the project's lock (an RLock: facets call each other under it).

    scenario: one of scenarios.SCENARIO_NAMES; seed: any int; speed: simulated
    seconds per wall second. one_shot: place the clock 18 simulated minutes
    after the onset (scripted checks see the incident fully developed);
    otherwise the onset comes 10 simulated seconds after start.
    anchor: the simulated time at start (default: the wall clock); real_time
    False freezes the clock so only clock.advance() moves it (tests).
    """

    def __init__(
        self,
        scenario: str = "calm",
        seed: int = 7,
        speed: float = 1.0,
        *,
        one_shot: bool = False,
        anchor: datetime | None = None,
        real_time: bool = True,
    ) -> None:
        if scenario not in SCENARIO_BY_NAME:
            raise ValueError(f"unknown scenario {scenario!r} (expected one of: {', '.join(SCENARIO_BY_NAME)})")
        self.scenario: Scenario = SCENARIO_BY_NAME[scenario]
        self.seed = int(seed)
        self.one_shot = one_shot
        self.clock = SimClock(anchor or wall_anchor(), speed, real_time=real_time)
        self._anchor = float(int(self.clock.epoch()))
        if scenario == "calm":
            onset: float | None = None
        elif one_shot:
            onset = self._anchor - self.scenario.developed_after_s
        else:
            onset = self._anchor + self.scenario.onset_lead_s
        self.timeline = Timeline()
        self.ctx = Context(self.seed, scenario, onset, self.timeline)
        self._lock = threading.RLock()
        self._loads: OrderedDict[int, Load] = OrderedDict()
        self._signals: OrderedDict[int, Signals] = OrderedDict()
        start = int(min(onset, self._anchor)) if onset is not None else int(self._anchor)
        self.engine = ConnectionEngine(self.ctx, self.load_at, start)
        self._init_facet_state()
        self._started = self.clock.now()
        with self._lock:
            self.engine.advance_to(int(self._anchor))

    def _init_facet_state(self) -> None:
        """A facet with state of its own sets it up here (calling super() first), before the
        connection engine first steps."""

    # --- time -------------------------------------------------------------------------
    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def anchor(self) -> datetime:
        return datetime.fromtimestamp(self._anchor, tz=timezone.utc)

    @property
    def onset(self) -> datetime | None:
        """When the scenario's incident begins (None for calm)."""
        return None if self.ctx.onset is None else datetime.fromtimestamp(self.ctx.onset, tz=timezone.utc)

    def now(self) -> datetime:
        return self.clock.now()

    def _now(self) -> float:
        """Simulated Unix seconds, with the engine stepped up to this second."""
        t = self.clock.epoch()
        self.engine.advance_to(int(t))
        return t

    def advance(self, seconds: float) -> None:
        """Fast-forward the simulated clock (a key in the console, tests)."""
        with self._lock:
            self.clock.advance(seconds)
            self._now()

    def sync(self) -> float:
        """Step the simulation to the clock's time; returns simulated Unix seconds."""
        with self._lock:
            return self._now()

    # --- the model, per second (used by the metrics, health and log sources) ----------
    def load_at(self, s: int) -> Load:
        cached = self._loads.get(s)
        if cached is None:
            cached = compute_load(self.ctx, s)
            self._loads[s] = cached
            if len(self._loads) > _CACHE_SIZE:
                self._loads.popitem(last=False)
        return cached

    def db_at(self, s: int) -> DbSecond:
        with self._lock:
            if s > self.engine.stepped_until:
                self._now()
            if s > self.engine.stepped_until:
                raise ValueError("cannot look into the simulated future")
            return self.engine.state_at(s)

    def signals_at(self, s: int) -> Signals:
        """Every rate and figure of second s (must not be in the simulated future)."""
        with self._lock:
            cached = self._signals.get(s)
            if cached is None:
                cached = compute_signals(self.ctx, s, self.load_at(s), self.db_at(s))
                cached = self._with_maintenance(cached)
                self._signals[s] = cached
                if len(self._signals) > _CACHE_SIZE:
                    self._signals.popitem(last=False)
            return cached

    def log_signals(self, s: int) -> Signals:
        """The model for log generation: rates from the start of s's 5-second block (or from the latest
        action inside it), with the exact database state of s. Rates vary smoothly, so logs stay
        consistent with the metrics, and a history window costs a fifth of the model evaluations."""
        with self._lock:
            rep = s - s % LOG_RATE_BLOCK_S
            for item in reversed(self.timeline):  # actions show in the logs from their own second on
                second = int(item.at)
                if second <= s:
                    if second > rep:
                        rep = second
                    break
            sig = self.signals_at(rep)
            if rep == s:
                return sig
            if s > self.engine.stepped_until:
                self._now()
            db = self.engine.stepped_state(s)
            if db is None and not sig.db.restarting:
                return sig  # a quiet second: the block's closed-form state stands
            return dc_replace(sig, s=s, db=db or self.engine.state_at(s))

    def _with_maintenance(self, sig: Signals) -> Signals:
        """Bloat on the hot queue table slows queries; VACUUM and REINDEX take that away."""
        dead = table_bloat_factor("public.signal_queue", self.seed, self._anchor, sig.s, self.timeline)
        idx = index_bloat_pct(INDEX_BY_NAME["public.signal_queue_status_created_at_idx"], self._anchor, sig.s, self.timeline)
        sig.db_query_avg_ms += 4.0 * dead + 0.03 * idx
        return sig

    def pg_events(self, s: int) -> list[PgEvent]:
        with self._lock:
            return list(self.engine.events_in(s))

    def _invalidate_from(self, s: int) -> None:
        for cache in (self._loads, self._signals):
            for key in [k for k in cache if k >= s]:
                del cache[key]

    def _record(self, kind: str, target: str = "", value: object = None) -> float:
        """Put an action on the timeline at the current simulated time; it shows from this second on."""
        t = self._now()
        self.timeline.add(Intervention(t, kind, target, value))
        self._invalidate_from(int(t))
        self.engine.rerecord(int(t))
        return t

    def _result(self, action: str, target: str, message: str, t: float, ok: bool = True, **detail: object) -> ActionResult:
        return ActionResult(action, target, ok, message, datetime.fromtimestamp(t, tz=timezone.utc), dict(detail))

    # --- status and history -----------------------------------------------------------
    def status(self) -> SourceStatus:
        """The header dot: always UP (nothing to lose), with what is simulated."""
        speed = f" ×{self.speed:g}" if self.speed != 1 else ""
        return SourceStatus(
            "demo",
            SourceState.UP,
            f"simulated CustomerSignal · {self.scenario.name} · seed {self.seed}{speed}",
            self._started,
        )

    def phase(self) -> str:
        """A short description of where the scenario stands (for a banner)."""
        with self._lock:
            t = self._now()
            tau = self.ctx.tau(t)
            if self.ctx.onset is None:
                return "calm"
            if tau is None:
                return f"{self.scenario.title}: starts in {self.ctx.onset - t:.0f} s"
            return f"{self.scenario.title}: {tau / 60:.1f} min since onset"

    def actions(self) -> list[Intervention]:
        """Every action taken so far, oldest first."""
        with self._lock:
            return list(self.timeline)
