"""The live environment: the real backends (PostgreSQL, Supabase HTTP) wired from the profile.

A profile that configures nothing yields an environment with no sources, and
the console says so instead of pretending. Backend imports stay inside the
functions: a profile without a database never pays for asyncpg, one without a
project never pays for httpx.
"""

from __future__ import annotations

import os

from cs_console.domain.clock import SystemClock
from cs_console.services.environment import LOG_SOURCE_NAMES, Environment
from cs_console.services.session import Session
from cs_console.wiring.drain import wire_drain
from cs_console.wiring.local_logs import open_indexed_log, open_local_log


def build_live_environment(session: Session) -> Environment:
    env = Environment(session=session, clock=SystemClock(), local_log_opener=open_local_log, indexed_log_opener=open_indexed_log)
    # PostgreSQL first: merge_snapshots lets earlier sources win, and the direct
    # connection sees the database more exactly than the metrics endpoint.
    _wire_postgres(env)
    # Supabase Management API / metrics endpoint / logs: see cs_console/backends/supabase.
    _wire_supabase(env)
    wire_drain(env)  # a profile with a drain: live tails read it instead of polling the logs endpoint
    return env


def build_dsn_environment(session: Session, dsn: str, *, connect_timeout: float) -> tuple[Environment, str]:
    """`health --dsn`: only the PostgreSQL probe and metrics, on a DSN given on the command line.

    The password comes from the DSN or $PGPASSWORD (libpq's rule); returns the
    environment and the connector's label for the report's title.
    """
    from cs_console.backends.postgres.connector import PgConnector
    from cs_console.backends.postgres.health_probe import PostgresHealthProbe
    from cs_console.backends.postgres.metrics_source import PostgresMetricsSource
    from cs_console.backends.postgres.target import parse_target

    if parse_target(dsn).password:
        hint = "the DSN"
    else:
        hint = "$PGPASSWORD" + ("" if os.environ.get("PGPASSWORD") else ", which is not set")
    connector = PgConnector(dsn, connect_timeout=connect_timeout, password_source=hint)
    env = Environment(session=session, clock=SystemClock(), local_log_opener=open_local_log, indexed_log_opener=open_indexed_log)
    env.health_probes.append(PostgresHealthProbe(connector, thresholds=session.profile.thresholds, clock=env.clock))
    env.metrics_sources.append(PostgresMetricsSource(connector, clock=env.clock, state_dir=session.state_dir))
    return env, connector.label


def _wire_postgres(env: Environment) -> None:
    """One small pool shared by the metrics source, the health probe and the
    detail-view inspector. Password from the env var the profile names."""
    profile = env.session.profile
    if not profile.db_dsn:
        return
    from cs_console.backends.postgres.connector import PgConnector
    from cs_console.backends.postgres.health_probe import PostgresHealthProbe
    from cs_console.backends.postgres.metrics_source import PostgresMetricsSource

    env_name = profile.db_password_env
    password = profile.secret("db_password_env")
    source_hint = f"${env_name}" + ("" if password else ", which is not set") if env_name else ""
    connector = PgConnector(profile.db_dsn, password=password, password_source=source_hint)
    source = PostgresMetricsSource(connector, clock=env.clock, state_dir=env.session.state_dir)
    env.metrics_sources.append(source)
    env.health_probes.append(PostgresHealthProbe(connector, thresholds=profile.thresholds, clock=env.clock))
    env.inspector = source.inspector


def _wire_supabase(env: Environment) -> None:
    """Metrics endpoint + Management API sources and the health probe, sharing
    one client and so one rate budget (the 30/min logs budget included).
    A missing token or key makes the sources say so (DOWN, "set $X")."""
    profile = env.session.profile
    if not profile.project_ref:
        return
    from cs_console.backends.supabase.health_probe import SupabaseHealthProbe
    from cs_console.backends.supabase.http_client import SupabaseClient
    from cs_console.backends.supabase.log_source import SupabaseLogHub
    from cs_console.backends.supabase.management_source import ManagementMetricsSource
    from cs_console.backends.supabase.prometheus_source import PrometheusMetricsSource
    from cs_console.backends.supabase.rate_budget import RateBudget

    client = SupabaseClient.from_profile(profile, budget=RateBudget())
    api = ManagementMetricsSource(client, clock=env.clock)
    env.metrics_sources += [PrometheusMetricsSource(client, clock=env.clock), api]
    env.health_probes.append(SupabaseHealthProbe(
        client, clock=env.clock, stats_source=api, report_database=not profile.db_dsn,
        fn_error_degraded_pct=profile.thresholds["function_error_rate_pct"].warning,
    ))
    _wire_status_page(env, client)
    # The log sources share this same `client` (and so its rate budget).
    hub = SupabaseLogHub(client, env.clock, interval_s=profile.refresh["logs"])
    for name in LOG_SOURCE_NAMES:
        env.log_factories[name] = lambda _name=name, **options: hub.source(_name)


def _wire_status_page(env: Environment, client) -> None:
    """The platform's status page, judged for the project's region (the profile's
    platform_region, else the Management API project's `region`, asked once)."""
    profile = env.session.profile
    if not profile.status_page_url:
        return
    from cs_console.backends.statuspage.client import StatusPageClient
    from cs_console.backends.statuspage.probe import PlatformStatusProbe

    async def project_region() -> str | None:
        return (await client.project()).get("region")

    env.health_probes.append(PlatformStatusProbe(
        StatusPageClient(profile.status_page_url), region=profile.platform_region, region_lookup=project_region, clock=env.clock,
    ))
