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
    profile = env.session.profile
    # PostgreSQL metrics/health: see cs_console/backends/postgres (metrics issue).
    # Supabase Management API / metrics endpoint / logs: see cs_console/backends/supabase.
    _ = profile
    _wire_supabase(env)


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
