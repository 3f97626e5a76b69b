"""`cs-console config show`: the effective config and where each value came from."""

from __future__ import annotations

import argparse
import json
import os
import sys

from cs_console.commands.registration import add_command


def _show(args: argparse.Namespace) -> int:
    from cs_console.config import PROFILE_FIELDS, SECRET_ENV_FIELDS, state_dir
    from cs_console.domain.redaction import redact
    from cs_console.services.session import open_session_or_exit

    session = open_session_or_exit(args)
    cfg, profile = session.config, session.profile
    rows: list[dict[str, object]] = []
    for key in PROFILE_FIELDS:
        value = getattr(profile, key)
        # Config holds env var NAMES, never secrets; every string is still scrubbed (a pasted token, a DSN password).
        shown = redact(value) if isinstance(value, str) else value
        row: dict[str, object] = {"key": key, "value": shown, "origin": profile.origins.get(key, "default")}
        if key in SECRET_ENV_FIELDS and value:
            row["secret"] = "set (redacted)" if os.environ.get(str(value)) else "not set"
        rows.append(row)
    for key, value in profile.refresh.items():
        rows.append({"key": f"refresh.{key}", "value": value, "origin": profile.origins[f"refresh.{key}"]})
    for name, t in profile.thresholds.items():
        rows.append({"key": f"thresholds.{name}", "value": {"warning": t.warning, "critical": t.critical}, "origin": profile.origins[f"thresholds.{name}"]})
    for w in profile.maintenance:
        rows.append({"key": f"maintenance.{w.name}", "value": w.describe(), "origin": profile.origins[f"maintenance.{w.name}"]})
    for binding_id, key in cfg.keymap.items():
        rows.append({"key": f"keymap.{binding_id}", "value": key, "origin": f"file:{cfg.path}"})
    header = {
        "config_file": str(cfg.path),
        "config_file_origin": cfg.path_origin,
        "config_file_exists": cfg.exists,
        "state_dir": str(state_dir()),
        "profile": profile.name,
        "profiles": cfg.profile_names,
        "demo": session.demo is not None,
        "live_log_tail": _live_tail(session),
    }
    if args.json:
        print(json.dumps({**header, "values": rows}, indent=2, default=str))
        return 0
    print(f"config file : {cfg.path} ({cfg.path_origin}{'' if cfg.exists else ', not found: defaults'})")
    print(f"state dir   : {header['state_dir']}")
    print(f"profile     : {profile.name}   (defined: {', '.join(cfg.profile_names) or 'none'})")
    print(f"live log tail: {header['live_log_tail']}")
    width = max(len(str(r["key"])) for r in rows)
    for r in rows:
        value = r["value"]
        text = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
        if "secret" in r:
            text += f"  [{r['secret']}]"
        print(f"  {str(r['key']):<{width}}  {text:<40}  {r['origin']}")
    return 0


def _live_tail(session) -> str:
    from cs_console.wiring.drain import drain_in_use

    return "demo (simulated)" if session.demo is not None else drain_in_use(session)


def register(sub) -> None:
    p = sub.add_parser("config", help="Inspect the configuration.", description="Inspect the configuration.")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = add_command(csub, "show", "Print the effective config and where each value came from (secrets redacted).", _show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])
