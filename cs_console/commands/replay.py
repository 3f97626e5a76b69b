"""`cs-console replay INC-REF` (or `--file PATH`): the console on a flight recording."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from cs_console.commands.registration import add_command


def _at(text: str) -> str:
    return text.strip()


def _resolve_at(text: str | None, start: float, end: float) -> float | None:
    """`+SECONDS` from the start, or an ISO 8601 time (naive means UTC)."""
    if not text:
        return None
    if text.startswith("+"):
        return start + float(text[1:])
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _run(args: argparse.Namespace) -> int:
    from cs_console.services.session import DemoOptions, Session, open_session_or_exit
    from cs_console.stores.recording_store import RecordingError, RecordingReader
    from cs_console.wiring.replay import build_replay_environment, find_replay, replay_session

    session = open_session_or_exit(args)
    try:
        target = find_replay(session, args.ref, Path(args.file) if args.file else None)
        reader = RecordingReader(target.path)
        namespace = reader.meta().get("namespace", "")
        reader.close()
        if namespace == "demo" and session.demo is None:
            # A demo recording: its incidents are the demo's.
            session = Session(session.config, session.profile, DemoOptions(), session.state_dir, session.notices)
        at = _resolve_at(args.at, target.start, target.end)
        env = build_replay_environment(replay_session(session), target, speed=args.rate, at=at)
    except RecordingError as exc:
        print(f"cs-console replay: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"cs-console replay: --at: expected +SECONDS or an ISO 8601 time ({exc})", file=sys.stderr)
        return 2
    if not sys.stdout.isatty() and not getattr(args, "_allow_no_tty", False):
        print("cs-console: the replay needs a terminal", file=sys.stderr)
        return 2
    from cs_console.tui.app import ConsoleApp

    app = ConsoleApp(env.session, env, initial_pane="overview", poll=False)
    result = app.run()
    return app.return_code or int(result or 0)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected recorded seconds per second (got {text!r})") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"expected a number greater than 0 and at most 600 (got {text})")
    return value


def register(sub) -> None:
    parser = add_command(
        sub, "replay", "Replay an incident's flight recording in the console (read-only).", _run,
        epilog="Keys: F6 play/pause, , and . step, < and > seek a minute, F7/F8 previous/next event, [ and ] speed. "
        "The Incidents pane's j jumps to the chosen timeline event.",
    )
    parser.add_argument("ref", nargs="?", help="incident reference, e.g. INC-2026-0001")
    parser.add_argument("--file", metavar="PATH", help="a recording file (default: the profile's recording)")
    parser.add_argument("--at", metavar="TIME", type=_at, help="open at +SECONDS from the start, or at an ISO 8601 time")
    parser.add_argument("--rate", metavar="X", type=_rate, default=1.0, help="play speed, recorded seconds per second (default 1)")
