"""The command line's global options as the tests pass them to `session_from_args`.

One place for the Namespace `cs-console` builds from its global options
(cli.py: --config, --profile, --read-only, --theme, --demo, --scenario,
--seed, --speed), so a new option is added here once and not in every test.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

GLOBAL_OPTIONS: dict[str, Any] = {
    "config": None, "profile": None, "read_only": False, "theme": None,
    "demo": False, "scenario": None, "seed": None, "speed": None,
}


def session_args(**overrides: Any) -> argparse.Namespace:
    """The global options with no flag given, then `overrides` (a Path config becomes a str)."""
    unknown = set(overrides) - set(GLOBAL_OPTIONS)
    if unknown:
        raise TypeError(f"not a global option of cs-console: {', '.join(sorted(unknown))}")
    values = {**GLOBAL_OPTIONS, **overrides}
    if isinstance(values["config"], Path):
        values["config"] = str(values["config"])
    return argparse.Namespace(**values)
