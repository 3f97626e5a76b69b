"""`cs-console logs`: print (or follow) log records from one source, filtered.

    cs-console logs --source function --filter 'level=error' --since 1h
    cs-console logs --source file:/var/log/app.jsonl --follow
    some-command | cs-console logs --source - --filter '/timeout/i'
    cs-console logs --source file:big.jsonl --filter status>=500 --tui

Output: `--json` prints one JSON object per record (ts ISO UTC, level,
source, function, status, request_id, message); otherwise one text line per
record, coloured on a terminal. Every field from a log is data: control
characters and escape sequences are made visible, Rich markup is never
interpreted, and very long messages are cut with a marker.
Exit codes: 0 done, 1 the source failed, 2 bad filter / --since / source.
Local sources (file:PATH, -) need no profile.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import deque
from typing import TYPE_CHECKING, Any

from cs_console.commands.registration import add_command

if TYPE_CHECKING:
    from cs_console.domain.log_record import LogRecord

SOURCES_HELP = "function, edge, auth, postgres, all (Supabase or demo), drain (what `drain serve` stored), file:PATH, or - for stdin"


def register(sub: Any) -> None:
    parser = add_command(
        sub, "logs", "Print or follow log records from Supabase, the demo, a file or stdin, filtered.", _run,
        epilog="Filter language: `cs-console logs --help-filter`. Exit 0 ok, 1 the source failed, 2 bad filter or source.",
    )
    parser.add_argument("--source", "--type", dest="source", metavar="S", default="all", help=f"log source: {SOURCES_HELP} (default all)")
    parser.add_argument("--filter", metavar="F", default="", help="filter, e.g. 'level>=warn function=send-email -/health/' (quote it; one starting with - needs --filter=-word)")
    # nargs="?": a bare --since (its value forgotten, or one starting with -) gets the one-line error below, not argparse's usage.
    parser.add_argument("--since", metavar="T", nargs="?", const="", default=None, help="only records since T: 15m, 1h, 2d or 2026-11-27T03:00Z")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new records (Ctrl-C to stop)")
    parser.add_argument("--limit", metavar="N", type=int, default=None, help="the N most recent matching records (with --follow: of the backlog)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--tui", action="store_true", help="open the console on the Logs pane with this source and filter")
    parser.add_argument("--help-filter", action="store_true", help="explain the filter language and exit")


def _fail(message: str, code: int = 2) -> int:
    from cs_console.domain.safe_text import safe_text

    print(f"logs: {safe_text(message, 400)}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    from cs_console.domain.log_filter import FILTER_HELP, FilterError, parse_filter, parse_since

    if args.help_filter:
        print(FILTER_HELP, end="")
        return 0
    try:
        flt = parse_filter(args.filter or "")
    except FilterError as exc:
        from cs_console.domain.safe_text import safe_text

        print(f"filter error: {safe_text(str(exc), 400)}", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 0:
        return _fail("--limit: expected a number >= 0")
    since_text = args.since
    if since_text == "":
        return _fail("--since: expected a value: a duration like 15m, 1h, 2d or a UTC time like 2026-11-27T03:00Z"
                     " (one starting with - goes as --since=VALUE)")
    if since_text is not None:
        try:
            parse_since(since_text)
        except FilterError as exc:
            return _fail(f"--since: {exc.message}")
    spec = args.source
    local = spec == "-" or spec.startswith("file:")

    if args.tui:
        return _run_tui(args, spec, local)

    import asyncio

    try:
        return asyncio.run(_print_logs(args, spec, local, flt))
    except _SourceProblem as exc:
        return _fail(str(exc), exc.code)


class _SourceProblem(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _run_tui(args: argparse.Namespace, spec: str, local: bool) -> int:
    from cs_console.commands.console import run_console

    if local:
        from cs_console.backends.log_files import open_local_log_source
        from cs_console.backends.log_files.file_source import LocalLogSourceError
        from cs_console.backends.log_files.pipes import detach_stdin_for_tui

        try:
            open_local_log_source(spec)
        except LocalLogSourceError as exc:
            return _fail(str(exc))
        if spec == "-" and not detach_stdin_for_tui():
            return _fail("--source - with --tui needs data piped into stdin and a terminal to type on")
    options = {"source": spec, "filter": args.filter or ""}
    if args.since:
        options["since"] = args.since
    # A local file needs no profile (like `lnav FILE`): without one the console opens
    # on the file alone, labelled LOCAL, with no demo and no "no profile" notice.
    # So does the drain's local ring (`drain serve` ran with no profile either).
    return run_console(args, initial_pane="logs", pane_options=options, local_only=local or spec == "drain")


async def _print_logs(args: argparse.Namespace, spec: str, local: bool, flt: Any) -> int:
    import inspect
    from datetime import datetime, timezone

    from cs_console.domain.log_filter import parse_since

    env = None
    if local:
        from cs_console.backends.log_files import open_local_log_source
        from cs_console.backends.log_files.file_source import LocalLogSourceError

        try:
            source: Any = open_local_log_source(spec)
        except LocalLogSourceError as exc:
            raise _SourceProblem(str(exc), 2) from None
        now = datetime.now(timezone.utc)
    else:
        env, source = _environment_source(args, spec)
        now = env.clock.now()
    since = parse_since(args.since, now) if args.since else None
    matcher = flt.compile(now)
    if hasattr(source, "set_pushdown"):
        source.set_pushdown(flt.pushdown(now))
    out = _Output(args.json)
    limit = args.limit
    match = matcher.match
    backlog: deque[LogRecord] | None = deque(maxlen=limit) if limit else None
    try:
        if limit == 0:
            return 0
        if local and flt.is_empty and limit and not args.follow and spec != "-":
            records = source.records(since, False, tail=limit)
        elif not local and limit and "tail" in inspect.signature(source.records).parameters:
            # A remote source reads a bounded history (1,000 records by default): ask for enough.
            records = source.records(since, args.follow, tail=max(limit, 1000))
        else:
            records = source.records(since, args.follow)
        async for batch in records:
            hits = batch if matcher.accepts_all else [r for r in batch if match(r)]
            if backlog is not None:
                backlog.extend(hits)
                caught_up = not args.follow or (
                    source.caught_up() if hasattr(source, "caught_up") else source.lag_seconds() in (0, 0.0, None)
                )
                if args.follow and caught_up:
                    out.write(backlog)
                    backlog = None
                continue
            out.write(hits)
        if backlog is not None:
            out.write(backlog)
    except Exception as exc:  # a source failing mid-way: one line, exit 1
        from cs_console.domain.safe_text import safe_text

        if isinstance(exc, (KeyboardInterrupt, SystemExit, BrokenPipeError)):
            raise  # `| head` closing the pipe is not a source failure (cli.main exits 0)
        raise _SourceProblem(f"{spec}: {safe_text(str(exc) or type(exc).__name__, 300)}", 1) from None
    finally:
        out.flush()
        if env is not None:
            await env.aclose()
    return 0


def _environment_source(args: argparse.Namespace, spec: str) -> tuple[Any, Any]:
    from cs_console.services.environment import LOG_SOURCE_NAMES, UnknownLogSource
    from cs_console.services.session import open_session_or_exit
    from cs_console.wiring.environment import build_environment

    session = open_session_or_exit(args, local_only=spec == "drain")
    for notice in session.notices:
        if not notice.startswith("warning:"):
            print(f"logs: {notice}", file=sys.stderr)
    env = build_environment(session, one_shot=True)
    if spec == "drain" and spec not in env.log_factories:
        raise _SourceProblem("source 'drain' reads what `cs-console drain serve` stored: not on the demo", 2)
    if spec in LOG_SOURCE_NAMES and spec not in env.log_factories and not env.is_demo:
        raise _SourceProblem(
            f"source {spec!r} needs a Supabase project: set project_ref in profile {session.profile.name!r} "
            "and the token env var (or try --demo)", 2,
        )
    try:
        source = env.log_source(spec)
        if getattr(source, "lag_label", "") == "drain lag":
            state = source.status()
            if str(state.state) == "DOWN":
                print(f"logs: {state.detail}", file=sys.stderr)
            elif args.follow:
                print("logs: following the drain (the logs endpoint is not polled)", file=sys.stderr)
        return env, source
    except UnknownLogSource as exc:
        raise _SourceProblem(str(exc), 2) from None
    except ValueError as exc:
        raise _SourceProblem(str(exc), 2) from None


# ----------------------------------------------------------------- output

# JSON escapes C0 controls itself; these would still reach a terminal raw.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

_LEVEL_STYLE = {
    "debug": "dim",
    "info": "green",
    "warn": "yellow",
    "error": "bold red",
    "fatal": "bold white on red",
}


def json_line(record: "LogRecord") -> str:
    import json

    text = json.dumps(record.summary(), ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def text_fields(record: "LogRecord", max_message: int | None) -> list[tuple[str, str]]:
    """(text, style) pieces of one output line; every piece is made safe."""
    from cs_console.domain.log_record import iso_utc
    from cs_console.domain.safe_text import safe_text

    ts = iso_utc(record.ts)
    ts = ts[:23] + "Z" if len(ts) == 27 else ts  # milliseconds are enough on screen
    label = record.level.label
    pieces = [(ts, "dim"), (" ", ""), (f"{label.upper():<5}", _LEVEL_STYLE.get(label, "")), (" ", ""), (safe_text(record.source, 40), "cyan")]
    if record.function:
        pieces += [(" ", ""), (safe_text(record.function, 80), "magenta")]
    if record.status is not None:
        pieces += [(" ", ""), (str(record.status), "bold red" if record.status >= 500 else "yellow" if record.status >= 400 else "")]
    pieces += [(" ", ""), (safe_text(record.message, max_message), "")]
    return pieces


class _Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.tty = sys.stdout.isatty()
        self._console: Any = None
        if self.tty and not as_json:
            from rich.console import Console

            self._console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)

    def write(self, records: Any) -> None:
        if self.as_json:
            sys.stdout.write("".join(json_line(r) + "\n" for r in records))
        elif self._console is not None:
            from rich.text import Text

            for r in records:
                # Text pieces, never markup: data cannot style itself.
                self._console.print(Text.assemble(*text_fields(r, 4000)))
        else:
            sys.stdout.write("".join("".join(p for p, _ in text_fields(r, None)) + "\n" for r in records))
        if not self.tty:
            sys.stdout.flush()

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass
