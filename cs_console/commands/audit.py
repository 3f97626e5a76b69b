"""`cs-console audit [--json] [--limit N]`: what was run, refused or marked, by whom, from where.

`--json` (for scripts) gives every record unless `--limit` is given; the text
view shows the newest 50. Whenever records were left out, stderr says how to
see them all: a script never misses a run without being told.

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


TEXT_LIMIT = 50


def register(sub: Any) -> None:
    p = add_command(sub, "audit", "show the audit log of runbook steps and refusals", _audit)
    p.add_argument("--json", action="store_true", help="JSON lines, one record per line")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help=f"the newest N records (default: all with --json, {TEXT_LIMIT} otherwise; 0 = all)")


def _audit(args: argparse.Namespace) -> int:
    import asyncio

    from cs_console.services.session import open_session_or_exit
    from cs_console.stores.audit_log import format_record
    from cs_console.wiring.runbooks import build_audit_trail

    if args.limit is not None and args.limit < 0:
        print("audit: --limit: expected a number >= 0", file=sys.stderr)
        return 2
    limit = args.limit if args.limit is not None else (0 if args.json else TEXT_LIMIT)
    session = open_session_or_exit(args)
    trail = build_audit_trail(session)
    # One more than asked: the only way to know whether some were left out.
    records = asyncio.run(trail.read(limit + 1 if limit else None))
    limited = bool(limit) and len(records) > limit
    if limited:
        records = records[-limit:]
    for w in trail.warnings:
        print(f"warning: {w}", file=sys.stderr)
    skipped = getattr(trail.local, "skipped", 0)
    if skipped:
        print(f"warning: {skipped} unreadable line(s) in {trail.local.path} skipped", file=sys.stderr)
    if limited:
        print(f"note: only the newest {limit} records are shown (older ones exist); --limit 0 shows all", file=sys.stderr)
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
