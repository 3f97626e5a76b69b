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
