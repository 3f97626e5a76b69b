"""The demo's MetricsSource: the simulated project's metrics (model/metrics.py) behind the domain protocol."""

from __future__ import annotations

from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.metrics import MetricsSnapshot
from cs_console.domain.sources import SourceStatus


class DemoMetricsSource:
    """MetricsSource over a DemoProject (name "demo")."""

    name = "demo"

    def __init__(self, project: DemoProject) -> None:
        self.project = project

    async def collect(self) -> MetricsSnapshot:
        return self.project.metrics_snapshot()

    def status(self) -> SourceStatus:
        return self.project.status()

    async def close(self) -> None:
        return None
