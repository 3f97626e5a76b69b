"""The database round trip: a slow reading (cold statement, busy event loop) is taken again."""

from __future__ import annotations

import pytest

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres import connector as connector_mod
from cs_console.backends.postgres.health_probe import PostgresHealthProbe
from cs_console.domain.health import HealthStatus
from tests.pg_server import PgServer


async def test_a_fresh_connection_reports_the_warm_round_trip(pg: PgServer) -> None:
    connector = PgConnector(pg.dsn)
    try:
        async with connector.session() as db:
            before = connector.own_pings
            rtt = await db.ping()
            runs = connector.own_pings - before
        assert runs in (1, 2)  # every select 1 is counted, so its statements are left out of the stats
        assert rtt < connector_mod.REPING_MS or runs == 2
        probe_connector = PgConnector(pg.dsn)
        try:
            [health] = await PostgresHealthProbe(probe_connector).check()
        finally:
            await probe_connector.close()  # the shared server's other tests count connections
        assert health.status is HealthStatus.HEALTHY and health.latency_ms is not None
    finally:
        await connector.close()


@pytest.mark.parametrize(("readings", "expected", "runs"), [([0.4], 0.4, 1), ([150.0, 0.6], 0.6, 2), ([150.0, 140.0], 140.0, 2)])
async def test_only_slow_readings_are_measured_again(monkeypatch: pytest.MonkeyPatch, readings: list[float], expected: float, runs: int) -> None:
    seen: list[float] = []

    async def fake_once(self) -> float:  # type: ignore[no-untyped-def]
        seen.append(readings[len(seen)])
        return seen[-1]

    monkeypatch.setattr(connector_mod.DbHandle, "_ping_once", fake_once)
    handle = connector_mod.DbHandle.__new__(connector_mod.DbHandle)
    assert await handle.ping() == expected and len(seen) == runs
