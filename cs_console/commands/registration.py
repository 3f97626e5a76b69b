"""What every subcommand module uses to declare itself, and the global flags all of them take."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def add_command(sub: Any, name: str, help_text: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    """A subparser that also takes the global flags (--demo, --profile, ...)."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
    add_global_flags(parser, in_subcommand=True)
    parser.set_defaults(handler=handler)
    return parser


SCENARIOS: tuple[str, ...] = ("calm", "connection-exhaustion", "function-failures", "traffic-spike", "security-breach", "platform-incident")


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
