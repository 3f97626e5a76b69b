"""Faults: server stopped and back, a server that never answers, missing privileges and extensions."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.health_probe import PostgresHealthProbe
from cs_console.backends.postgres.metrics_source import PostgresMetricsSource
from cs_console.backends.postgres.connector import NOTE_NEEDS_STATS
from cs_console.domain.health import HealthStatus
from cs_console.domain.sources import SourceState
from tests.pg_server import PgServer

SECRET = "TopSecret-9f3k"


async def test_server_stopped_mid_run_then_back(pg_factory) -> None:
    server: PgServer = pg_factory(max_connections=10)
    server.psql("create extension pg_stat_statements")
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:{server.port}/postgres"  # trust auth ignores the password
    mono = [1000.0]  # the connector's clock: the backoff runs out when the test says so
    connector = PgConnector(dsn, connect_timeout=1.0, backoff_initial_s=0.2, backoff_cap_s=0.8, monotonic=lambda: mono[0])
    source = PostgresMetricsSource(connector)
    probe = PostgresHealthProbe(connector)
    try:
        snap = await source.collect()
        assert source.status().state is SourceState.UP and snap.value("db.connections.max") == 7

        server.stop()
        down = await source.collect()
        failure = connector.failure
        # One attempt, refused at once, and the first step of the backoff (no retries inside a refresh).
        assert failure is not None and failure.retry_in_s == 0.2 and connector.retry_in() == pytest.approx(0.2)
        status = source.status()
        assert status.state is SourceState.DOWN
        assert status.detail and "\n" not in status.detail and SECRET not in status.detail
        assert all(s.value is None for s in down.samples.values())
        assert all("database unreachable" in s.note and SECRET not in s.note for s in down.samples.values())
        # During the backoff nothing is attempted: no new failure (the backoff would have doubled), still DOWN.
        mono[0] += 0.1
        again = await source.collect()
        assert connector.failure is failure and again.value("db.response_ms") is None
        assert source.status().state is SourceState.DOWN
        comp = (await probe.check())[0]
        assert comp.status is HealthStatus.DOWN and SECRET not in comp.detail and "\n" not in comp.detail

        assert connector.failure is failure  # the probe too waited out the backoff
        server.start()  # pg_ctl -w: accepting connections
        mono[0] += 0.2  # the backoff is over
        snap = await source.collect()
        assert source.status().state is SourceState.UP, source.status()
        assert snap.value("db.response_ms") is not None
        assert snap.value("db.commits_per_s") is None  # a new series starts after a reconnect
        snap = await source.collect()
        assert snap.value("db.commits_per_s") is not None
        assert (await probe.check())[0].status is HealthStatus.HEALTHY
    finally:
        await source.close()


async def test_server_that_never_answers_times_out() -> None:
    # A listening socket nobody accepts on: the TCP handshake completes, nothing ever answers.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    source = PostgresMetricsSource(PgConnector(f"postgresql://app@127.0.0.1:{port}/db", connect_timeout=0.5))
    try:
        snap = await source.collect()
        # One attempt, given up after connect_timeout (not left hanging, not retried inside the refresh).
        assert source.connector.failure is not None and source.connector.failure.retry_in_s == 1.0
        assert source.status().state is SourceState.DOWN
        assert source.status().detail == f"no answer from app@127.0.0.1:{port}/db within 0.5 s; retrying"
        assert snap.value("db.connections.pct") is None
    finally:
        await source.close()
        sock.close()


@pytest.fixture
def lowpriv(pg: PgServer) -> Iterator[tuple[str, str]]:
    """A role with nothing but CONNECT, and a database with pg_stat_statements."""
    role = f"cs_low_{uuid.uuid4().hex[:8]}"
    db = f"cs_p_{uuid.uuid4().hex[:8]}"
    pg.psql(f"create role {role} login")
    pg.psql(f"create database {db}")
    pg.psql("create extension pg_stat_statements", db=db)
    yield pg.dsn_for(db, user=role), pg.dsn_for(db)
    pg.psql(f"drop database if exists {db} with (force)")
    pg.psql(f"drop role if exists {role}")


async def test_role_without_pg_read_all_stats_degrades_and_says_why(lowpriv: tuple[str, str]) -> None:
    import asyncpg

    dsn, admin_dsn = lowpriv
    other = await asyncpg.connect(admin_dsn)  # a session of another role the low role cannot inspect
    source = PostgresMetricsSource(PgConnector(dsn))
    try:
        await source.collect()
        snap = await source.collect()
        status = source.status()
        assert status.state is SourceState.DEGRADED and "pg_read_all_stats" in status.detail
        for key in ("db.connections.active", "db.connections.idle_in_tx", "db.longest_query_s", "db.longest_tx_s"):
            assert snap.value(key) is None and snap.samples[key].note == NOTE_NEEDS_STATS
        # What needs no privilege keeps working.
        assert (snap.value("db.connections.used") or 0) >= 1 and "approximate" in snap.samples["db.connections.used"].note
        assert snap.value("db.response_ms") is not None and snap.value("db.commits_per_s") is not None
        assert snap.value("db.blocked") == 0
        table = await source.inspector.run("long_running")
        assert table.ok and "pg_read_all_stats" in table.note
        assert (await source.inspector.run("outliers")).ok
        assert (await PostgresHealthProbe(source.connector).check())[0].status is HealthStatus.HEALTHY
    finally:
        await other.close()
        await source.close()


async def test_missing_pg_stat_statements_is_na_with_reason(pg: PgServer) -> None:
    db = f"cs_nx_{uuid.uuid4().hex[:8]}"
    pg.psql(f"create database {db}")
    source = PostgresMetricsSource(PgConnector(pg.dsn_for(db)))
    try:
        await source.collect()
        snap = await source.collect()
        note = snap.samples["db.query_avg_ms"].note
        assert snap.value("db.query_avg_ms") is None and "not installed" in note and "create extension" in note
        assert source.status().state is SourceState.DEGRADED and "pg_stat_statements" in source.status().detail
        assert snap.value("db.commits_per_s") is not None
        table = await source.inspector.run("outliers")
        assert table.ok and not table.rows and "not installed" in table.note
    finally:
        await source.close()
        pg.psql(f"drop database if exists {db} with (force)")


async def test_pg_stat_statements_not_preloaded(pg_factory) -> None:
    server: PgServer = pg_factory(max_connections=10)
    server.stop()
    with open(server.data / "postgresql.conf", "a") as fh:
        fh.write("\nshared_preload_libraries = ''\n")
    server.start()
    server.psql("create extension pg_stat_statements")
    source = PostgresMetricsSource(PgConnector(server.dsn))
    try:
        await source.collect()
        snap = await source.collect()
        assert snap.value("db.query_avg_ms") is None
        assert "shared_preload_libraries" in snap.samples["db.query_avg_ms"].note
        assert snap.value("db.connections.pct") is not None
    finally:
        await source.close()
