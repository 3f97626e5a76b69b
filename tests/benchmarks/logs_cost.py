"""What the Supabase logs cost: SQL, columns and map keys touched, requests per minute.

For a 1-hour tail of each log source and for each aggregate, against the
loopback fake in its "2026" mode (ClickHouse `/logs` only), this prints the SQL
the console sends, the plain columns and `log_attributes` keys it touches (any
key reads the whole map: an hour of edge logs ~22 GiB against ~1.5 GiB
without), and how many requests per minute that tail or aggregate spends, at
the full quota (30/min per endpoint) and at a degraded one (about 10/min).

    python -m tests.benchmarks.logs_cost
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.edge_aggregates import variants_for
from cs_console.backends.supabase.log_sql import SOURCE_TABLES
from cs_console.backends.supabase.log_source import SupabaseLogHub
from cs_console.backends.supabase.management_source import Cadence
from cs_console.domain.clock import FixedClock
from tests.fake_supabase import LOGS_CLICKHOUSE, FakeSupabase

NOW = datetime(2026, 6, 10, 9, 30, tzinfo=timezone.utc)
PLAIN = ("id", "timestamp", "event_message", "source", "severity_text")
TAIL_INTERVAL_S = 5.0  # the profile's default logs refresh
PAGE = 40  # rows on a 120x45 Logs pane: one attribute fetch per page shown


def touched(sql: str) -> tuple[list[str], list[str]]:
    """Plain columns named in the SQL, and the map keys it subscripts."""
    body = re.sub(r"'[^']*'", "''", sql.replace("log_attributes[", "log_attributes@["))
    columns = [c for c in PLAIN if re.search(rf"\b{c}\b", body)]
    keys = sorted(set(re.findall(r"log_attributes\['([^']+)'\]", sql)))
    if re.search(r"select id, log_attributes\b", sql):
        keys = ["(whole map, for the listed ids only)"]
    return columns, keys


def show(title: str, sql: str, per_min: str) -> None:
    columns, keys = touched(sql)
    print(f"\n## {title}\nSQL: {sql}")
    print(f"columns: {', '.join(columns) or '-'}")
    print(f"map keys: {', '.join(keys) or 'none (the map is not read)'}")
    print(f"requests/min: {per_min}")


async def tail_cost(fake: FakeSupabase, source: str) -> None:
    log_endpoint.forget_all()
    client = fake.client()
    hub = SupabaseLogHub(client, FixedClock(NOW), interval_s=TAIL_INTERVAL_S)
    fake.clear_requests()
    records = []
    async for batch in hub.source(source).records(NOW - timedelta(hours=1), False):
        records += batch
    history = len(fake.requests_to(LOGS_CLICKHOUSE))
    listing = fake.requests_to(LOGS_CLICKHOUSE)[0].param("sql") or ""
    full = 60.0 / hub.poll_interval()
    client.budget.set_limit(hub.budget_key(), 10)
    degraded = 60.0 / hub.poll_interval()
    client.budget.set_limit(hub.budget_key(), None)
    show(
        f"1-hour tail of `{source}` ({len(records)} fixture rows)", listing,
        f"{history} for the hour of history, then {full:.0f}/min polling (`{hub.rate_text()}`); "
        f"degraded quota: {degraded:.0f}/min",
    )
    fake.clear_requests()
    await hub.fetch_details(records[:PAGE])
    sent = fake.requests_to(LOGS_CLICKHOUSE)
    if sent:
        show(f"attributes for the shown page of `{source}` (up to {PAGE} rows)", sent[0].param("sql") or "", f"{len(sent)} per page shown or detail opened (on demand, not polled)")
    await client.aclose()


def aggregate_cost() -> None:
    per_min = 60.0 / Cadence().edge_s
    for variant in variants_for("clickhouse"):
        what = "edge requests, 4xx/5xx classes, sign-ins and failures" + (", p95" if variant.with_p95 else " (no p95: fallback)")
        show(f"aggregate: {what}", variant.sql, f"{per_min:g} (every {Cadence().edge_s:g} s; the fallback only if the p95 is refused, once)")


async def main() -> None:
    with FakeSupabase(mode="2026") as fake:
        print("# Supabase logs cost (fake in 2026 mode: ClickHouse /logs only)")
        for source in SOURCE_TABLES:
            await tail_cost(fake, source)
        aggregate_cost()
        print(
            "\n## budget per endpoint\n/logs: 30/min (10/min degraded). The tail takes the profile's interval while more than "
            "half is left and spreads the rest over the minute; the edge aggregate takes 1/min at low priority; "
            "usage.api-counts (every 5 min) and logs.all have budgets of their own."
        )


if __name__ == "__main__":
    asyncio.run(main())
