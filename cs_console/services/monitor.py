"""Live state of the console: the latest metrics and health, their history, states and alerts.

The TUI's polling workers call `refresh_metrics()` / `refresh_health()`; each
returns quickly and updates `LiveState`, which panes read when they repaint.
A source that fails leaves its last values marked stale instead of freezing
the console.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from cs_console.domain.alerts import Alert, AlertEngine, conditions
from cs_console.domain.health import COMPONENTS, ComponentHealth, HealthReport, HealthStatus
from cs_console.domain.metric_history import MetricHistory, StateEntry, StateTracker
from cs_console.domain.metrics import MetricSample, MetricsSnapshot, merge_snapshots
from cs_console.domain.sources import SourceStatus
from cs_console.services.environment import Environment
from cs_console.stores.alert_history_team import ProfileAlertHistory, alert_history_for

SOURCE_TIMEOUT_S = 8.0
RECENT_ALERTS = 50


@dataclass
class LiveState:
    snapshot: MetricsSnapshot | None = None
    health: HealthReport | None = None
    states: dict[str, StateEntry] = field(default_factory=dict)
    alerts_active: list[Alert] = field(default_factory=list)
    alerts_recent: list[Alert] = field(default_factory=list)  # raised and resolved, newest first
    sources: list[SourceStatus] = field(default_factory=list)
    metrics_at: datetime | None = None
    health_at: datetime | None = None
    metrics_error: str = ""
    health_error: str = ""
    alerts_note: str = ""  # the team store has not taken every alert event yet


class Monitor:
    def __init__(self, env: Environment, *, persist_alerts: bool = True) -> None:
        self.env = env
        self.live = LiveState()
        self.history = MetricHistory()
        self.tracker = StateTracker(env.session.profile.thresholds)
        self.alerts = AlertEngine()
        self._alert_store: ProfileAlertHistory | None = None
        if persist_alerts:
            self._alert_store = alert_history_for(env)
        self._team_sync: asyncio.Task[None] | None = None
        self.recorder = getattr(env, "recorder", None)  # services.recorder.Recorder, when wired
        self._thr_desc = {name: t.description for name, t in env.session.profile.thresholds.items()}

    async def _collect_one(self, source) -> MetricsSnapshot | None:
        try:
            return await asyncio.wait_for(source.collect(), SOURCE_TIMEOUT_S)
        except Exception as exc:  # a backend bug or timeout must not stop the others
            self.live.metrics_error = f"{source.name}: {type(exc).__name__}: {exc}"[:200]
            return None

    async def _check_one(self, probe) -> tuple[list[ComponentHealth], str]:
        try:
            return list(await asyncio.wait_for(probe.check(), SOURCE_TIMEOUT_S)), ""
        except asyncio.TimeoutError:
            return [], f"{probe.name}: no answer within {SOURCE_TIMEOUT_S:g} s"
        except Exception as exc:  # a backend bug must not stop the others
            return [], f"{probe.name}: {type(exc).__name__}: {exc}"[:200]

    async def refresh_metrics(self) -> LiveState:
        sources = self.env.metrics_sources
        results = await asyncio.gather(*(self._collect_one(s) for s in sources)) if sources else []
        snaps = [s for s in results if s is not None]
        now = self.env.clock.now()
        if snaps:
            snap = merge_snapshots(snaps, now)
            self.live.snapshot = snap
            self.live.metrics_at = now
            self.history.add(snap)
            for fn in snap.functions:
                self.history.add(MetricsSnapshot("fn", now, {f"fn.invocations_per_min:{fn.slug}": MetricSample("x", fn.invocations_per_min)}))
            self.live.states = dict(self.tracker.update(snap))
            if len(snaps) == len(results):
                self.live.metrics_error = ""
        self.live.sources = self.env.source_statuses()
        self._evaluate_alerts(now)
        await self._store_alerts()
        if self.recorder is not None:
            self.recorder.observe_metrics(now, self.live)
        return self.live

    async def refresh_health(self) -> LiveState:
        now = self.env.clock.now()
        components: dict[str, ComponentHealth] = {}
        errors: list[str] = []
        # All probes at once: a Supabase API timing out must not delay the database's verdict.
        results = await asyncio.gather(*(self._check_one(probe) for probe in self.env.health_probes))
        for probe, (found, error) in zip(self.env.health_probes, results):
            if error:
                errors.append(error)
                continue
            for comp in found:
                previous = components.get(comp.name)
                # Two probes seeing one component: the worse verdict wins.
                if previous is None or comp.status.rank > previous.status.rank:
                    components[comp.name] = comp
        ordered = [components[n] for n in COMPONENTS if n in components]
        ordered += [c for n, c in components.items() if n not in COMPONENTS]
        if not self.env.health_probes:
            ordered = [ComponentHealth(n, HealthStatus.UNKNOWN, "no source configured for this component") for n in COMPONENTS]
        self.live.health = HealthReport(tuple(ordered), now, tuple(errors))
        self.live.health_at = now
        self.live.health_error = "; ".join(errors)
        self._evaluate_alerts(now)
        await self._store_alerts()
        if self.recorder is not None:
            self.recorder.observe_health(now, self.live)
        return self.live

    def _evaluate_alerts(self, now: datetime) -> None:
        found = conditions(self.live.health, self.live.states, self.live.snapshot, self.history, self._thr_desc)
        raised, resolved = self.alerts.evaluate(now, found)
        for alert in raised:
            self._store(alert, "raised")
        for alert in resolved:
            self._store(alert, "resolved")
        if raised or resolved:
            recent = raised + resolved + [a for a in self.live.alerts_recent if all(a.id != r.id or a.at != r.at for r in resolved)]
            self.live.alerts_recent = sorted(recent, key=lambda a: a.resolved_at or a.at, reverse=True)[:RECENT_ALERTS]
        self.live.alerts_active = sorted(self.alerts.active.values(), key=lambda a: (-a.alert_class.rank, a.at))

    def _store(self, alert: Alert, event: str) -> None:
        if self.recorder is not None:
            self.recorder.observe_alert(alert, event, alert.resolved_at or alert.at)
        if self._alert_store is None:
            return
        try:
            self._alert_store.record(alert, event)
        except OSError as exc:
            self.live.metrics_error = f"alert history not writable: {exc.strerror}"

    async def _store_alerts(self) -> None:
        """Hand queued events to the team store in the background: a slow or absent store
        must not hold the refresh. The note says what still waits."""
        store = self._alert_store
        if store is None or store.team is None:
            return
        if store.waiting and (self._team_sync is None or self._team_sync.done()):
            self._team_sync = asyncio.create_task(store.sync_team())
        self.live.alerts_note = f"{store.waiting} alert event(s) waiting for the team store ({store.team_error})" if store.waiting and store.team_error else ""

    async def flush_alerts(self, timeout_s: float = 10.0) -> None:
        """Let the team store take what it can before exiting (the local file has it all already)."""
        async def flush() -> None:
            if self._team_sync is not None:
                await self._team_sync
            if self._alert_store is not None:
                await self._alert_store.sync_team(force=True)

        try:
            await asyncio.wait_for(flush(), timeout_s)
        except Exception:  # noqa: BLE001 - best effort; the Overview said what was waiting
            pass
