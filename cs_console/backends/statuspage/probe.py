"""HealthProbe "Platform status": the status page's summary judged for our project's region.

The region comes from the profile (`platform_region`) or, once, from a lookup
(the Management API project object's `region`). A page we cannot read is
UNKNOWN with the reason, never DOWN: the platform may be fine while our
network is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cs_console.backends.statuspage.client import StatusPageClient, StatusPageError
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.health import PLATFORM_STATUS, ComponentHealth, HealthStatus
from cs_console.domain.platform_status import assess

RegionLookup = Callable[[], Awaitable[str | None]]


class PlatformStatusProbe:
    name = "statuspage"

    def __init__(self, client: StatusPageClient, *, region: str = "", region_lookup: RegionLookup | None = None,
                 clock: Clock | None = None) -> None:
        self.client = client
        self._region = region.lower() or None
        self._lookup = region_lookup
        self._clock = clock or SystemClock()
        self.region_problem = ""

    async def region(self) -> str | None:
        if self._region is None and self._lookup is not None:
            try:
                found = await self._lookup()
            except Exception as exc:  # the project's API is down or refused us: judge without a region
                self.region_problem = f"project region unknown ({type(exc).__name__}: {str(exc)[:120]})"
                return None
            if found:
                self._region, self.region_problem = str(found).lower(), ""
        return self._region

    async def check(self) -> list[ComponentHealth]:
        region = await self.region()
        at = self._clock.now()
        try:
            summary = await self.client.summary()
        except StatusPageError as exc:
            return [ComponentHealth(PLATFORM_STATUS, HealthStatus.UNKNOWN, f"status page not read: {exc}", None, at)]
        verdict = assess(summary, region)
        detail = verdict.detail + (f" · {self.region_problem}" if self.region_problem and region is None else "")
        return [ComponentHealth(PLATFORM_STATUS, verdict.status, detail, None, at)]
