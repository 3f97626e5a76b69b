"""The demo's platform-incident scenario: the simulated status page and the project's own figures over time."""

from __future__ import annotations

from datetime import datetime, timezone

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.project import DemoProject
from cs_console.backends.demo.platform_status_probe import DemoPlatformStatusProbe
from cs_console.domain.health import PLATFORM_STATUS, HealthStatus

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)


def project(scenario: str = "platform-incident") -> DemoProject:
    # Interactive: the onset comes 10 s after the start, then the story unfolds as the clock advances.
    return DemoProject(scenario, 7, one_shot=False, anchor=ANCHOR, real_time=False)


async def platform(p: DemoProject) -> tuple[HealthStatus, str]:
    [comp] = await DemoPlatformStatusProbe(p).check()
    assert comp.name == PLATFORM_STATUS
    return comp.status, comp.detail


def rest(p: DemoProject) -> HealthStatus:
    return next(c.status for c in p.health() if c.name == "REST")


async def test_the_incident_is_posted_after_the_impact_and_resolved_later() -> None:
    p = project()
    assert await platform(p) == (HealthStatus.HEALTHY, "no incident for eu-central-1")
    p.clock.advance(10.0 + 90.0)  # impact for 90 s, not posted yet: the page lags, as real ones do
    assert rest(p) is HealthStatus.DEGRADED
    assert (await platform(p))[0] is HealthStatus.HEALTHY
    p.clock.advance(60.0)
    status, detail = await platform(p)
    assert status is HealthStatus.DEGRADED and "(investigating, major impact)" in detail and "eu-central-1" in detail
    p.clock.advance(sc.PLATFORM_IDENTIFIED_AT_S)
    assert "(identified, major impact)" in (await platform(p))[1]
    p.clock.advance(sc.PLATFORM_MONITORING_AT_S - sc.PLATFORM_IDENTIFIED_AT_S)
    assert "(monitoring, major impact)" in (await platform(p))[1]
    assert rest(p) is HealthStatus.HEALTHY  # the fix rolled out before the incident is closed
    p.clock.advance(sc.PLATFORM_RESOLVED_AT_S)
    assert (await platform(p))[0] is HealthStatus.HEALTHY


async def test_other_scenarios_see_an_operational_page() -> None:
    for name in ("calm", "traffic-spike"):
        p = project(name)
        p.clock.advance(20 * 60.0)
        assert await platform(p) == (HealthStatus.HEALTHY, "no incident for eu-central-1")
