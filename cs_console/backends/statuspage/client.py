"""Reads a Statuspage site's public `/api/v2/summary.json`, with a timeout and a cache.

No credentials: the summary is public. One request a minute at most (the page
updates on a human time scale, and a health check every 10 s must not poll it
every 10 s); a failure is cached as long, so an unreachable page costs one
timeout a minute, not one per health check. Any fault is a `StatusPageError`
whose text says what went wrong in one line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from cs_console.domain.platform_status import PlatformSummary, SummaryFormatError, parse_summary
from cs_console.domain.safe_text import safe_text

SUMMARY_PATH = "/api/v2/summary.json"
DEFAULT_TIMEOUT_S = 4.0
DEFAULT_CACHE_S = 60.0
MAX_BODY_BYTES = 2_000_000  # a real summary is tens of kB


class StatusPageError(Exception):
    """The status page could not be read (unreachable, timeout, HTTP error, not a summary)."""


class StatusPageClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_s: float = DEFAULT_CACHE_S,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self._monotonic = monotonic
        self._transport = transport
        self._cached: tuple[float, PlatformSummary | StatusPageError] | None = None
        self.requests = 0  # how many times the page was asked (tests, the status line)

    @property
    def url(self) -> str:
        return self.base_url + SUMMARY_PATH

    async def summary(self) -> PlatformSummary:
        """The page's summary, at most `cache_s` old; raises StatusPageError (also cached)."""
        now = self._monotonic()
        if self._cached is not None and now - self._cached[0] < self.cache_s:
            result = self._cached[1]
        else:
            result = await self._fetch()
            self._cached = (self._monotonic(), result)
        if isinstance(result, StatusPageError):
            raise result
        return result

    async def _fetch(self) -> PlatformSummary | StatusPageError:
        self.requests += 1
        host = httpx.URL(self.url).host
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), transport=self._transport,
                                         follow_redirects=True, headers={"Accept": "application/json"}) as http:
                response = await http.get(self.url)
        except httpx.TimeoutException:
            return StatusPageError(f"{host}: no answer within {self.timeout_s:g} s")
        except httpx.TransportError as exc:
            return StatusPageError(f"cannot reach {host}: {safe_text(type(exc).__name__ + ' ' + str(exc), 160)}")
        if response.status_code != 200:
            return StatusPageError(f"{host} answered HTTP {response.status_code}")
        if len(response.content) > MAX_BODY_BYTES:
            return StatusPageError(f"{host}: answer too large ({len(response.content)} bytes)")
        try:
            return parse_summary(json.loads(response.content))
        except ValueError as exc:  # json.JSONDecodeError and SummaryFormatError
            reason = str(exc) if isinstance(exc, SummaryFormatError) else "not JSON"
            return StatusPageError(f"{host}: not a status summary ({safe_text(reason, 120)})")
