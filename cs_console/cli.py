"""Command line: `cs-console [global flags] [SUBCOMMAND ...]`.

Each subcommand lives in its own module under cs_console/commands/ and exposes
``register(subparsers, parents)``; adding one is one module plus one line in
COMMAND_MODULES. Modules import their heavy dependencies inside their run
functions so that `cs-console --help` and first paint stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cs_console import __version__
from cs_console.commands.registration import add_global_flags

COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "serve",
    "init",
    "config_cmd",
    "health",
    "logs",
    "incident",
    "runbook",
    "audit",
    "drain",
    "replay",
)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs-console",
        description="Terminal operations console for the CustomerSignal production environment.",
        epilog="Without a subcommand, opens the console. Run `cs-console demo` to try it with no credentials.",
    )
    parser.add_argument("--version", action="version", version=f"cs-console {__version__}")
    add_global_flags(parser, in_subcommand=False)
    parser.set_defaults(handler=_run_console)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"cs_console.commands.{name}")
        module.register(sub)
    return parser


def _run_console(args: argparse.Namespace) -> int:
    from cs_console.commands.console import run_console

    return run_console(args)


def main(argv: Sequence[str] | None = None) -> int:
    from cs_console.stores.private_files import private_umask

    private_umask()  # dumps, exports, audit, state: 0600 whatever writes them
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error for us.
        try:
            sys.stdout = None  # type: ignore[assignment]
        except Exception:
            pass
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
