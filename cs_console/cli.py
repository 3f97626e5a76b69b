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
)

SCENARIOS: tuple[str, ...] = ("calm", "connection-exhaustion", "function-failures", "traffic-spike", "security-breach")


def add_global_flags(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """The flags every command takes, before or after the subcommand name.

    In subcommands the defaults are SUPPRESS, so a flag given before the
    subcommand is not overwritten by the subcommand's default.
    """
    d = (lambda v: argparse.SUPPRESS) if in_subcommand else (lambda v: v)
    g = parser.add_argument_group("global options")
    g.add_argument("--profile", metavar="NAME", default=d(None), help="profile from the config file")
    g.add_argument("--config", metavar="PATH", default=d(None), help="config file (default: $CS_CONSOLE_CONFIG or the user config dir)")
    g.add_argument("--read-only", action="store_true", default=d(False), help="refuse every destructive action")
    g.add_argument("--theme", metavar="NAME", default=d(None), help="colour theme (dark, light, high-contrast, ansi, ...)")
    g.add_argument("--demo", action="store_true", default=d(False), help="use the built-in simulated environment")
    g.add_argument("--scenario", metavar="S", choices=SCENARIOS, default=d(None), help="demo scenario: " + ", ".join(SCENARIOS))
    g.add_argument("--seed", metavar="N", type=int, default=d(None), help="demo random seed (deterministic runs)")
    g.add_argument("--speed", metavar="X", type=_speed, default=d(None), help="demo time compression (simulated seconds per second, up to 3600)")


def _speed(text: str) -> float:
    """0 < X <= 3600: 0 or less stops or reverses time, and far above an hour per second every
    refresh spans days of simulation and the sources time out."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of simulated seconds per second (got {text!r})") from None
    if not 0 < value <= 3600:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected a number greater than 0 and at most 3600 (got {text})")
    return value


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
