"""The environment a session talks to: its sources, as the domain protocols see them.

The TUI and the commands only see the domain protocols through an Environment.
It is built in one place, the composition root (cs_console/wiring/): that is
where concrete backends are picked, so this module imports none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cs_console.domain.clock import Clock
from cs_console.domain.sources import HealthProbe, LogSource, MetricsSource, SourceState, SourceStatus
from cs_console.services.session import Session

LOG_SOURCE_NAMES: tuple[str, ...] = ("function", "edge", "auth", "postgres", "all")


class UnknownLogSource(ValueError):
    pass


@dataclass
class Environment:
    session: Session
    clock: Clock
    metrics_sources: list[MetricsSource] = field(default_factory=list)
    health_probes: list[HealthProbe] = field(default_factory=list)
    # The simulated project (backends/demo/model) on the demo, else None. Typed loosely:
    # services import no backend; the demo's own adapters and executor know its type.
    demo: Any = None
    # name -> factory() for the Supabase/demo log sources
    log_factories: dict[str, Any] = field(default_factory=dict)
    # The database detail views (domain.db_inspect.DatabaseInspector), when a database is wired.
    inspector: Any = None
    # Opens `file:PATH` or `-` (stdin); set by the wiring (backends.log_files on every environment).
    local_log_opener: Callable[[str], LogSource] | None = None
    # Opens `file:PATH` of a regular file as an indexed file (domain.filtered_logs; a
    # backends.log_files.indexed_file.IndexedLogFile), None for what must stream.
    indexed_log_opener: Callable[[str, Callable[[], datetime]], Any] | None = None
    # The profile's alert history (stores.alert_history_team.ProfileAlertHistory: the local
    # file, and the team table in team mode); set by the wiring. None: the local file only.
    alert_history: Any = None
    # The Logs pane's filter history (stores.filter_history.FilterHistory); None: not kept.
    filter_history: Any = None
    # The flight recorder (services.recorder.Recorder), fed by the monitor; None: not recording.
    recorder: Any = None
    # The replay being shown (services.replay.ReplayController); None: a live or demo console.
    replay: Any = None

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
            if self.local_log_opener is None:
                raise UnknownLogSource(f"log source {spec!r}: local log files are not wired in this environment")
            return self.local_log_opener(spec)
        factory = self.log_factories.get(spec)
        if factory is None:
            choices = ", ".join([*self.log_factories, "file:PATH", "-"]) or "file:PATH, -"
            raise UnknownLogSource(f"unknown log source {spec!r} (expected one of: {choices})")
        return factory()

    def indexed_log(self, spec: str) -> Any:
        """`file:PATH` as an indexed file the Logs pane reads in place, or None (stream it)."""
        if self.indexed_log_opener is None or not spec.startswith("file:"):
            return None
        return self.indexed_log_opener(spec, self.clock.now)

    def source_statuses(self) -> list[SourceStatus]:
        statuses: list[SourceStatus] = []
        for source in self.metrics_sources:
            try:
                statuses.append(source.status())
            except Exception as exc:  # a broken status() must not take the header down
                statuses.append(SourceStatus(source.name, SourceState.UNKNOWN, str(exc)))
        return statuses

    async def aclose(self) -> None:
        if self.recorder is not None:
            await self.recorder.aclose()
        for source in self.metrics_sources:
            try:
                await source.close()
            except Exception:
                pass
