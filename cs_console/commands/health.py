"""`cs-console health [--json] [--dsn DSN]`: the manual's morning health check, once.

Exit codes as monitoring plugins use them: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (also for a bad config or DSN: the check could not run).
`--dsn` checks one PostgreSQL database without any config (its password may
come from PGPASSWORD); no password is ever printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cs_console.commands.registration import add_command

UNKNOWN_EXIT = 3


def register(sub: Any) -> None:
    parser = add_command(
        sub, "health", "Run the morning health check once (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).", _run,
        epilog="Components: Database (round trip < 100 ms), Database connections (against connections_pct), "
        "Auth, Auth failures (against auth_failures_per_min), REST, Storage, Edge Functions, Realtime, "
        "and critical alerts in the last 24 h. "
        "With --dsn only the database is checked; prefer PGPASSWORD over a password in the DSN.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--dsn", metavar="DSN", help="check this PostgreSQL database only (postgresql://user@host:port/db); no config needed")
    parser.add_argument("--timeout", metavar="S", type=float, default=10.0, help="seconds to wait for each probe (default 10)")


def _fail(message: str) -> int:
    print(f"health: {message}", file=sys.stderr)
    return UNKNOWN_EXIT


def _explicit_demo(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "demo", False)) or any(getattr(args, k, None) is not None for k in ("scenario", "seed", "speed"))


def _dsn_environment(args: argparse.Namespace) -> tuple[Any, str]:
    """An environment with only the PostgreSQL probe and metrics; thresholds from the
    config's profile when one is readable, else the manual's defaults."""
    from pathlib import Path

    from cs_console.config import Config, ConfigError, load_config, state_dir
    from cs_console.services.session import Session
    from cs_console.wiring.live import build_dsn_environment

    explicit_config = bool(getattr(args, "config", None) or getattr(args, "profile", None))
    try:
        config = load_config(getattr(args, "config", None))
        profile = config.profile(getattr(args, "profile", None)) if config.profile_names else config.profile("default")
    except ConfigError:
        if explicit_config:
            raise
        config = Config(Path("(no config)"), "none", False, None, "", {}, [], {})
        profile = config.profile("default")
    session = Session(config, profile, None, state_dir())
    return build_dsn_environment(session, args.dsn, connect_timeout=min(5.0, max(1.0, args.timeout / 2)))


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from cs_console.backends.postgres.target import InvalidDsn
    from cs_console.config import ConfigError
    from cs_console.services.health_check import run_health_check

    if args.timeout <= 0:
        return _fail("--timeout must be greater than 0")
    try:
        if args.dsn:
            if _explicit_demo(args):
                return _fail("--dsn checks a real database; it cannot be combined with --demo/--scenario")
            env, label = _dsn_environment(args)
            include_alerts = False
        else:
            from cs_console.wiring.environment import build_environment
            from cs_console.services.session import session_from_args

            session = session_from_args(args)
            if session.demo is not None and not _explicit_demo(args):
                return _fail("no profile configured: run `cs-console init`, or check a database with --dsn DSN, or try --demo")
            env = build_environment(session, one_shot=True)
            label = f"DEMO ({session.demo.scenario})" if session.demo else session.environment_label
            include_alerts = True
    except ConfigError as exc:
        return _fail(str(exc))
    except InvalidDsn as exc:
        return _fail(f"invalid --dsn: {exc}")
    except ValueError as exc:  # wiring refused a setting (e.g. CS_CONSOLE_DEMO_ANCHOR): one line, exit 3
        return _fail(str(exc))

    async def check() -> Any:
        try:
            return await run_health_check(env, timeout_s=args.timeout, include_alerts=include_alerts, note_unchecked=include_alerts)
        finally:
            await env.aclose()

    result = asyncio.run(check())
    if args.json:
        payload = result.to_json()
        payload["target"] = label
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(render_text(result, label))
    return result.exit_code


def render_text(result: Any, label: str) -> str:
    from cs_console.domain.safe_text import safe_text

    when = result.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"cs-console health · {safe_text(label, 80)} · {when}", ""]
    width = max([len(c.name) for c in result.components] + [10])
    for c in result.components:
        latency = f"{c.latency_ms:.1f} ms" if c.latency_ms is not None else ""
        # The emoji may take one or two cells depending on the terminal: words carry the meaning.
        lines.append(f"{c.symbol} {c.status:<9} {c.name:<{width}}  {latency:>9}  {c.detail}")
    if not result.components:
        lines.append("❔ nothing was checked")
    for note in result.notes:
        lines.append(f"   note: {note}")
    lines += ["", f"Status: {result.status.value} (exit {result.exit_code})"]
    return "\n".join(lines)
