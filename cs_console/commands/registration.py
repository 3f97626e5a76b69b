"""What every subcommand module uses to declare itself."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def add_command(sub: Any, name: str, help_text: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    """A subparser that also takes the global flags (--demo, --profile, ...)."""
    from cs_console.cli import add_global_flags

    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
    add_global_flags(parser, in_subcommand=True)
    parser.set_defaults(handler=handler)
    return parser
