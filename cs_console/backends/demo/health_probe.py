"""The demo's HealthProbe: the simulated project's health check (model/health.py) behind the domain protocol."""

from __future__ import annotations

from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.health import ComponentHealth


class DemoHealthProbe:
    """HealthProbe over a DemoProject."""

    name = "demo"

    def __init__(self, project: DemoProject) -> None:
        self.project = project

    async def check(self) -> list[ComponentHealth]:
        return self.project.health()
