"""The environment a session talks to: its sources, wired from the profile or the demo.

This is the one place that picks concrete backends. The TUI and the commands
only see the domain protocols through an Environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.sources import HealthProbe, LogSource, MetricsSource, SourceState, SourceStatus
from cs_console.services.session import Session

if TYPE_CHECKING:
    from cs_console.backends.demo.simulation import DemoProject

LOG_SOURCE_NAMES: tuple[str, ...] = ("function", "edge", "auth", "postgres", "all")


class UnknownLogSource(ValueError):
    pass


@dataclass
class Environment:
    session: Session
    clock: Clock
    metrics_sources: list[MetricsSource] = field(default_factory=list)
    health_probes: list[HealthProbe] = field(default_factory=list)
    demo: "DemoProject | None" = None
    # name -> factory() for the Supabase/demo log sources
    log_factories: dict[str, Any] = field(default_factory=dict)
    # The database detail views (domain.db_inspect.DatabaseInspector), when a database is wired.
    inspector: Any = None

    @property
    def is_demo(self) -> bool:
        return self.demo is not None

    @property
    def alert_state_dir(self) -> Path:
        """Demo alerts are kept apart, so they never count in a real health check."""
        return self.session.state_dir / "demo" if self.is_demo else self.session.state_dir

    def log_source(self, spec: str) -> LogSource:
        """`function`, `edge`, `auth`, `postgres`, `all`, `file:PATH` or `-` (stdin)."""
        if spec.startswith("file:") or spec == "-":
            from cs_console.backends.log_files import open_local_log_source

            return open_local_log_source(spec)
        factory = self.log_factories.get(spec)
        if factory is None:
            choices = ", ".join([*self.log_factories, "file:PATH", "-"]) or "file:PATH, -"
            raise UnknownLogSource(f"unknown log source {spec!r} (expected one of: {choices})")
        return factory()

    def source_statuses(self) -> list[SourceStatus]:
        statuses: list[SourceStatus] = []
        for source in self.metrics_sources:
            try:
                statuses.append(source.status())
            except Exception as exc:  # a broken status() must not take the header down
                statuses.append(SourceStatus(source.name, SourceState.UNKNOWN, str(exc)))
        return statuses

    async def aclose(self) -> None:
        for source in self.metrics_sources:
            try:
                await source.close()
            except Exception:
                pass


def build_environment(session: Session, *, one_shot: bool = False) -> Environment:
    """Wire the sources for this session.

    one_shot: commands such as `health` or `logs` see a demo scenario fully
    developed instead of watching it unfold.
    """
    if session.demo is not None:
        from cs_console.backends.demo.wiring import build_demo_environment

        return build_demo_environment(session, one_shot=one_shot)
    env = Environment(session=session, clock=SystemClock())
    from cs_console.services.live_wiring import wire_live_sources

    wire_live_sources(env)
    return env
