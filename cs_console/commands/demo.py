"""`cs-console demo`: the console on the built-in simulated CustomerSignal project."""

from __future__ import annotations

import argparse

from cs_console.commands.registration import add_command


def _run(args: argparse.Namespace) -> int:
    from cs_console.commands.console import run_console

    return run_console(args, force_demo=True)


def register(sub) -> None:
    add_command(
        sub, "demo", "Open the console on the built-in demo environment (no credentials, no network).", _run,
        epilog="Scenarios: calm, connection-exhaustion, function-failures, traffic-spike, security-breach, platform-incident. "
        "--seed makes a run repeatable; --speed 10 runs simulated time ten times faster.",
    )
