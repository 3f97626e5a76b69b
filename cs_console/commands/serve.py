"""`cs-console serve`: the same console in a browser, through textual-serve."""

from __future__ import annotations

import argparse
import shlex
import sys

from cs_console.commands.registration import add_command

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _console_command(args: argparse.Namespace) -> str:
    """The command textual-serve runs per browser session: same flags, same console."""
    argv = [sys.executable, "-m", "cs_console"]
    for flag in ("profile", "config", "theme", "scenario"):
        value = getattr(args, flag, None)
        if value:
            argv += [f"--{flag}", str(value)]
    for flag in ("seed", "speed"):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag}", str(value)]
    if getattr(args, "read_only", False):
        argv.append("--read-only")
    if getattr(args, "demo", False):
        argv.append("--demo")
    return shlex.join(argv)


def _run(args: argparse.Namespace) -> int:
    from cs_console.services.session import open_session_or_exit

    open_session_or_exit(args)  # fail fast on a bad config, before the server starts
    if args.host not in LOOPBACK:
        print(
            f"warning: serving on {args.host}: anyone who can reach this address gets the console "
            "with this profile's access. Prefer 127.0.0.1 and an SSH tunnel (ssh -L).",
            file=sys.stderr,
        )
    from textual_serve.server import Server

    server = Server(_console_command(args), host=args.host, port=args.port, title="cs-console")
    server.serve()
    return 0


def register(sub) -> None:
    p = add_command(sub, "serve", "Serve the console in a web browser (textual-serve; loopback by default).", _run)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
