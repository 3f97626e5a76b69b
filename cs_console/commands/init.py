"""`cs-console init`: write a profile to the config file (never a secret; mode 0600)."""

from __future__ import annotations

import argparse
import re
import sys

from cs_console.commands.registration import add_command


_FIELDS: tuple[tuple[str, str, str], ...] = (
    # (profile key, flag, prompt)
    ("environment", "--environment", "Environment name (production, staging, ...)"),
    ("project_ref", "--project-ref", "Supabase project ref (20 lowercase letters)"),
    ("db_dsn", "--db-dsn", "PostgreSQL DSN without password (postgresql://user@host:5432/postgres)"),
    ("management_api_url", "--management-api-url", "Management API URL"),
    ("project_url", "--project-url", "Project URL (blank: https://<ref>.supabase.co)"),
    ("access_token_env", "--access-token-env", "Env var holding the Management API token"),
    ("service_role_key_env", "--service-role-key-env", "Env var holding the service role key"),
    ("db_password_env", "--db-password-env", "Env var holding the DB password"),
)
_PROMPTED = ("environment", "project_ref", "db_dsn")


def _problem(key: str, flag: str, value: object) -> str | None:
    """What is wrong with a value for `key`, phrased for the operator; None when it is fine."""
    from cs_console.config import PROFILE_FIELDS, _check_value
    from cs_console.domain.redaction import looks_like_secret

    if key.endswith("_env") and looks_like_secret(str(value)):
        return f"{flag}: expected the NAME of an environment variable, not a secret"
    problem = _check_value(PROFILE_FIELDS[key], value)
    return f"{flag}: expected {problem}" if problem else None


def _ask(prompt: str, default: str, check) -> str | None:  # noqa: ANN001 - check(str) -> str | None
    """Ask until the answer is acceptable (three tries); blank takes the default."""
    for _ in range(3):
        answer = input(f"{prompt}{f' [{default}]' if default else ''}: ").strip() or default
        problem = check(answer) if answer else None
        if problem is None:
            return answer or None
        print(f"  {problem}; try again", file=sys.stderr)
    raise ValueError(problem)


def _run(args: argparse.Namespace) -> int:
    try:
        return _init(args)
    except (EOFError, KeyboardInterrupt):
        print("\ninit: cancelled (nothing was written)", file=sys.stderr)
        return 130


def _init(args: argparse.Namespace) -> int:
    from cs_console.config import PROFILE_FIELDS, ConfigError, load_config, resolve_config_path, write_profile

    path, _ = resolve_config_path(getattr(args, "config", None))
    name = getattr(args, "profile", None)
    interactive = sys.stdin.isatty() and not args.no_input
    if not name:
        if not interactive:
            print("init: --profile NAME is required", file=sys.stderr)
            return 2
        name = input("Profile name [production]: ").strip() or "production"
    if not re.match(r"^[A-Za-z0-9_-]+$", name):
        print(f"init: profile name {name!r}: expected letters, digits, - or _", file=sys.stderr)
        return 2
    existing = None
    if path.exists():
        try:
            existing = load_config(str(path))
        except ConfigError as exc:
            print(f"{exc} (fix it before init adds a profile; nothing was written)", file=sys.stderr)
            return 2
        if name in existing.profile_names and not args.force:
            # Replacing would drop its thresholds, refresh intervals and maintenance windows.
            if not interactive or input(f"Profile {name!r} exists in {path}; replace it? [y/N]: ").strip().lower() not in ("y", "yes"):
                print(f"init: profile {name!r} already exists in {path} (--force replaces it; nothing was written)", file=sys.stderr)
                return 2
    values: dict[str, object] = {}
    for key, flag, prompt in _FIELDS:
        value = getattr(args, key)
        if value is None and interactive and key in _PROMPTED:
            default = name if key == "environment" else ""
            try:
                value = _ask(prompt, default, lambda answer, key=key, flag=flag: _problem(key, flag, answer))
            except ValueError as exc:
                print(f"init: {exc} (nothing was written)", file=sys.stderr)
                return 2
        if value is None:
            continue
        problem = _problem(key, flag, value)
        if problem:
            print(f"init: {problem} (nothing was written)", file=sys.stderr)
            return 2
        values[key] = value
    if args.read_only:
        values["read_only"] = True
    if getattr(args, "theme", None):
        values["theme"] = args.theme
    values.setdefault("environment", name)
    write_profile(path, name, values, make_default=args.default)
    print(f"wrote profile {name!r} to {path} (mode 0600). Secrets stay in the environment:")
    for key in ("access_token_env", "service_role_key_env", "db_password_env"):
        env_name = values.get(key) or PROFILE_FIELDS[key].default
        print(f"  export {env_name}=...   # {PROFILE_FIELDS[key].doc}")
    if existing is not None and any(line.lstrip().startswith("#") for line in existing.text.splitlines()):
        print(f"note: the comments that were in {path} are not kept (the file is rewritten)")
    return 0


def register(sub) -> None:
    p = add_command(sub, "init", "Write a profile to the config file (interactive when flags are missing on a TTY).", _run)
    for key, flag, prompt in _FIELDS:
        p.add_argument(flag, dest=key, default=None, help=prompt)
    p.add_argument("--default", action="store_true", help="make this the default profile")
    p.add_argument("--no-input", action="store_true", help="never prompt")
    p.add_argument("--force", action="store_true", help="replace the profile if it exists (its thresholds, refresh and windows go too)")
