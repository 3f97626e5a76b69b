"""Wires the real backends (PostgreSQL, Supabase HTTP) from the profile.

Each backend registers itself here when its issue lands; a profile that
configures nothing yields an environment with no sources, and the console
says so instead of pretending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_console.services.environment import Environment


def wire_live_sources(env: "Environment") -> None:
    # PostgreSQL first: merge_snapshots lets earlier sources win, and the direct
    # connection sees the database more exactly than the metrics endpoint.
    _wire_postgres(env)
    # Supabase Management API / metrics endpoint / logs: see cs_console/backends/supabase.
    _wire_supabase(env)


def _wire_postgres(env: "Environment") -> None:
    """One small pool shared by the metrics source, the health probe and the
    detail-view inspector. Password from the env var the profile names."""
    profile = env.session.profile
    if not profile.db_dsn:
        return
    from cs_console.backends.postgres import PgConnector, PostgresHealthProbe, PostgresMetricsSource

    env_name = profile.db_password_env
    password = profile.secret("db_password_env")
    source_hint = f"${env_name}" + ("" if password else ", which is not set") if env_name else ""
    connector = PgConnector(profile.db_dsn, password=password, password_source=source_hint)
    source = PostgresMetricsSource(connector, clock=env.clock, state_dir=env.session.state_dir)
    env.metrics_sources.append(source)
    env.health_probes.append(PostgresHealthProbe(connector, thresholds=profile.thresholds, clock=env.clock))
    env.inspector = source.inspector


def _wire_supabase(env: "Environment") -> None:
    """Metrics endpoint + Management API sources and the health probe, sharing
    one client and so one rate budget (the 30/min logs budget included).
    A missing token or key makes the sources say so (DOWN, "set $X")."""
    profile = env.session.profile
    if not profile.project_ref:
        return
    from cs_console.backends.supabase.health_probe import SupabaseHealthProbe
    from cs_console.backends.supabase.http_client import SupabaseClient
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
    # Supabase log sources register in env.log_factories here, on this same `client`.
    from cs_console.backends.supabase.log_source import SupabaseLogHub

    hub = SupabaseLogHub(client, env.clock, interval_s=profile.refresh["logs"])
    for name in ("function", "edge", "auth", "postgres", "all"):
        env.log_factories[name] = lambda _name=name, **options: hub.source(_name)
