"""The demo's "Platform status" probe: the simulated status page, judged like the live one.

The summary comes from the model (model/status_page.py) in the Statuspage JSON
shape and goes through the same parser and judgement as status.supabase.com's
(domain/platform_status.py), for the demo project's region.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model.catalog import REGION
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.health import PLATFORM_STATUS, ComponentHealth, HealthStatus
from cs_console.domain.platform_status import SummaryFormatError, assess, parse_summary


class DemoPlatformStatusProbe:
    name = "demo-statuspage"

    def __init__(self, project: DemoProject) -> None:
        self.project = project

    async def check(self) -> list[ComponentHealth]:
        data = self.project.status_page_summary()
        at = datetime.fromtimestamp(self.project.sync(), tz=timezone.utc)
        try:
            verdict = assess(parse_summary(data), REGION)
        except SummaryFormatError as exc:
            return [ComponentHealth(PLATFORM_STATUS, HealthStatus.UNKNOWN, f"status page not read: {exc}", None, at)]
        return [ComponentHealth(PLATFORM_STATUS, verdict.status, verdict.detail, None, at)]
