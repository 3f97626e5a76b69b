"""Metrics → Database views stay live: a shown view re-reads with the cadence, F5 re-reads it,
and it says when it was read and how long the read took (real PostgreSQL, real locks)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest
from textual.widgets import DataTable, OptionList, Static

from cs_console.backends.postgres.connector import PgConnector
from cs_console.backends.postgres.inspector import PostgresInspector
from cs_console.domain.clock import FixedClock
from cs_console.domain.db_inspect import InspectTable
from cs_console.services.environment import Environment
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.panes.metrics import MetricsPane
from tests.pg_server import PgServer, until_true
from tests.screen_text import until
from tests.sessions import session_args

START = datetime(2026, 12, 3, 4, 52, 13, tzinfo=timezone.utc)


class CountingInspector:
    """The real inspector, counting the reads the pane asks for."""

    def __init__(self, inner: PostgresInspector) -> None:
        self.inner, self.name, self.reads = inner, inner.name, 0

    def views(self):  # noqa: ANN201 - the protocol's list
        return self.inner.views()

    async def run(self, view_id: str) -> InspectTable:
        self.reads += 1
        return await self.inner.run(view_id)


@pytest.fixture
def lockdb(pg: PgServer) -> Iterator[str]:
    name = f"cs_v_{uuid.uuid4().hex[:10]}"
    pg.psql(f"create database {name}")
    pg.psql("create table orders(id int primary key); insert into orders select generate_series(1, 100);", db=name)
    yield pg.dsn_for(name)
    pg.psql(f"drop database if exists {name} with (force)")


def note_text(app: ConsoleApp) -> str:
    return str(app.query_one("#mt-view-note", Static).render())


async def test_blocking_view_rereads_on_the_cadence_and_on_f5(pg: PgServer, lockdb: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.db]\n[profiles.db.refresh]\nmetrics = 5\n")
    config.chmod(0o600)
    session = session_from_args(session_args(config=config, profile="db"))
    connector = PgConnector(lockdb)
    inspector = CountingInspector(PostgresInspector(connector))
    clock = FixedClock(START)
    env = Environment(session=session, clock=clock, inspector=inspector)
    app = ConsoleApp(session, env, initial_pane="metrics", poll=False)
    holder = await asyncpg.connect(lockdb)
    waiters = [await asyncpg.connect(lockdb) for _ in range(3)]
    queued: list[asyncio.Task] = []
    tx = holder.transaction()
    started = False
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("d")
            pane = app.query_one(MetricsPane)
            views = app.query_one("#mt-views", OptionList)
            await until(pilot, lambda: views.option_count > 0)
            views.highlighted = next(i for i in range(views.option_count) if views.get_option_at_index(i).id == "blocking")
            views.focus()
            await pilot.press("enter")
            await until(pilot, lambda: "Blocking" in note_text(app) and "rows" in note_text(app))
            assert "0 rows · read 04:52:13Z in " in note_text(app) and "· every 5s" in note_text(app)
            assert inspector.reads == 1

            # A lock is taken and three sessions queue behind it.
            await tx.start()
            started = True
            await holder.execute("lock table orders in access exclusive mode")
            queued = [asyncio.create_task(w.fetchval("select count(*) from orders")) for w in waiters]
            await until_true(lockdb, "select count(*) = 3 from pg_locks where not granted and relation = 'orders'::regclass")

            pane.refresh_live()  # a metrics poll before the cadence has passed: no re-read
            await pilot.pause(0.2)
            assert inspector.reads == 1 and "0 rows" in note_text(app)

            clock.advance(5)
            pane.refresh_live()  # the next metrics poll
            await until(pilot, lambda: "3 rows · read 04:52:18Z" in note_text(app))
            assert app.query_one("#mt-view-table", DataTable).row_count == 3
            assert inspector.reads == 2

            clock.advance(1)
            await pilot.press("f5")  # the footer's Refresh re-reads the view at once
            await until(pilot, lambda: "read 04:52:19Z" in note_text(app))
            assert inspector.reads == 3
    finally:
        if started:
            await tx.rollback()
        for task in queued:
            await asyncio.wait_for(task, 5)
        for conn in (holder, *waiters):
            await conn.close()
        await connector.close()
