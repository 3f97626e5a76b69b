"""`cs-console audit [--json] [--limit N]`: what was run, refused or marked, by whom, from where.

Reads the team store when the profile's store is postgres (falling back to
the local file, with a warning, when it is unreachable), else the local
`audit.jsonl` under the state dir. Values were redacted when written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cs_console.commands.registration import add_command


def register(sub: Any) -> None:
    p = add_command(sub, "audit", "show the audit log of runbook steps and refusals", _audit)
    p.add_argument("--json", action="store_true", help="JSON lines, one record per line")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="the newest N records (default 50; 0 = all)")


def _audit(args: argparse.Namespace) -> int:
    import asyncio

    from cs_console.services.session import open_session_or_exit
    from cs_console.stores.audit_log import format_record
    from cs_console.wiring.runbooks import build_audit_trail

    if args.limit < 0:
        print("audit: --limit: expected a number >= 0", file=sys.stderr)
        return 2
    session = open_session_or_exit(args)
    trail = build_audit_trail(session)
    records = asyncio.run(trail.read(args.limit or None))
    for w in trail.warnings:
        print(f"warning: {w}", file=sys.stderr)
    skipped = getattr(trail.local, "skipped", 0)
    if skipped:
        print(f"warning: {skipped} unreadable line(s) in {trail.local.path} skipped", file=sys.stderr)
    if args.json:
        for rec in records:
            print(json.dumps(rec, ensure_ascii=False))
        return 0
    if not records:
        print("audit log is empty")
        return 0
    from cs_console.domain.safe_text import safe_text

    for rec in records:
        print(safe_text(format_record(rec), max_len=400))
    return 0
