"""MetricsSource over the project metrics endpoint (host, connections, DB counters)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cs_console.backends.supabase.errors import SupabaseError
from cs_console.backends.supabase.http_client import SupabaseClient
from cs_console.backends.supabase.prometheus_metrics import Scrape, compute_samples, liveness_problem, parse_scrape
from cs_console.backends.supabase.source_state import StatusTracker, state_for
from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.metrics import MetricSample, MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus

# Keys this source reports (None with a reason when it cannot see them).
PROM_KEYS: tuple[str, ...] = (
    "host.cpu_pct", "host.memory_pct", "host.disk_pct",
    "db.connections.used", "db.connections.max", "db.connections.pct",
    "db.query_avg_ms", "db.commits_per_s", "db.rollbacks_per_s", "db.error_rate_pct",
    "db.deadlocks", "db.size_bytes", "storage.used_bytes", "db.replication_lag_s",
)


class PrometheusMetricsSource:
    """Scrapes `/customer/v1/privileged/metrics` at most every `min_interval_s`.

    Supabase asks for about one scrape a minute and each answer is the full
    ~200-series set, so between scrapes collect() returns the last figures
    instead of hammering the endpoint at the UI's refresh rate.
    """

    name = "prom"

    def __init__(
        self,
        client: SupabaseClient,
        *,
        clock: Clock | None = None,
        min_interval_s: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        self.min_interval_s = min_interval_s
        self._prev: Scrape | None = None
        self._samples: dict[str, MetricSample] = {}
        self._last_attempt: float | None = None
        self._tracker = StatusTracker(self.name, self._clock)

    def status(self) -> SourceStatus:
        return self._tracker.status()

    async def collect(self) -> MetricsSnapshot:
        now = self._monotonic()
        if self._last_attempt is not None and now - self._last_attempt < self.min_interval_s:
            return MetricsSnapshot(self.name, self._clock.now(), dict(self._samples))
        self._last_attempt = now
        try:
            text = await self.client.metrics_text()
            scrape = parse_scrape(text, self._monotonic(), identifier=self.client.project_ref)
        except SupabaseError as exc:
            self._tracker.set(state_for(exc), str(exc))
            self._samples = {k: MetricSample(k, None, f"metrics endpoint: {exc.short}") for k in PROM_KEYS}
            return MetricsSnapshot(self.name, self._clock.now(), dict(self._samples))
        self._samples = compute_samples(self._prev, scrape)
        self._prev = scrape
        problem = liveness_problem(scrape)
        if problem:
            self._tracker.set(SourceState.DEGRADED, problem)
        else:
            self._tracker.set(SourceState.UP, "metrics endpoint answering")
        return MetricsSnapshot(self.name, self._clock.now(), dict(self._samples))

    async def close(self) -> None:
        await self.client.aclose()
