"""The drain's wiring: where a profile's drained events live, and the log sources that read them.

A profile with `drain = "local"` or `"team"` gets a `drain` log source, and
its Supabase sources (function, edge, auth, postgres, all) tail the drain
instead of polling the logs endpoint; the endpoint is still asked once for
history older than what the drain holds (DrainFirstSource).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cs_console.services.environment import LOG_SOURCE_NAMES, Environment
from cs_console.services.session import Session


def drain_dir(session: Session) -> Path:
    """The local ring of this profile: <state dir>/drain/<profile> (the demo's apart, under demo/)."""
    base = session.state_dir / "demo" if session.demo is not None else session.state_dir
    return base / "drain" / session.profile.name


def drain_in_use(session: Session) -> str:
    """What live log tails use, as `config show` says it."""
    mode = session.profile.drain
    if mode == "off":
        return "logs endpoint polling (no drain: drain = \"off\")"
    where = f"local ring {drain_dir(session)}" if mode == "local" else "team PostgreSQL table cs_console.drain_events"
    return f"drain ({where}); the logs endpoint only for history the drain lacks"


def drain_source(session: Session, source: str = "drain") -> Any:
    """A LogSource over what `drain serve` stored for this profile."""
    if session.profile.drain == "team":
        from cs_console.stores.drain_team import PgDrainSource

        target = session.team_store
        dsn = target.dsn if target is not None else session.profile.team_dsn
        password = target.password if target is not None else session.profile.secret("team_password_env")
        return PgDrainSource(dsn, password, source)
    from cs_console.backends.drain.ring_source import RingLogSource

    return RingLogSource(drain_dir(session), source)


def wire_demo_drain(env: Environment) -> None:
    """The demo's `drain` source: what `drain serve --demo` stored (the simulated project posts to it)."""
    env.log_factories["drain"] = lambda **options: drain_source(env.session)


def wire_drain(env: Environment) -> None:
    """Add `drain` (what `drain serve` stored: always readable), and route the Supabase
    sources' live tails through it when the profile has a drain."""
    session = env.session
    env.log_factories["drain"] = lambda **options: drain_source(session)
    if session.profile.drain == "off":
        return
    from cs_console.backends.drain.combined import DrainFirstSource
    for name in LOG_SOURCE_NAMES:
        history = env.log_factories.get(name)
        env.log_factories[name] = lambda _name=name, _history=history, **options: DrainFirstSource(
            drain_source(session, _name), _history() if _history is not None else None
        )
