"""`cs-console incident`: declare, update and export incidents from the shell.

Bad references, invalid transitions and missing reasons print one line on
stderr and exit 2; an unreachable team store exits 1. Heavy imports happen
inside the handlers so `cs-console --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from cs_console.commands.registration import add_command, add_global_flags

ACTIONS = ("list", "open", "show", "note", "status", "ack", "severity", "role", "update", "postmortem", "check", "export")


def register(sub: Any) -> None:
    parser = add_command(sub, "incident", "declare, update and export incidents (severity P0-P3, SLA timers, timeline)", run)
    actions = parser.add_subparsers(dest="incident_action", metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text, description=help_text)
        add_global_flags(p, in_subcommand=True)
        return p

    p = action("list", "open incidents, most severe and oldest first")
    p.add_argument("--all", action="store_true", help="include closed, declined and merged incidents")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = action("open", "declare an incident (asks the triage questions when --severity is missing on a terminal)")
    p.add_argument("--title", help="one line saying what is wrong")
    p.add_argument("--severity", help="P0, P1, P2 or P3")
    p.add_argument("--summary", default="", help="what is known so far")
    p.add_argument("--component", action="append", default=[], metavar="NAME", help="affected component (repeatable)")
    p.add_argument("--reason", default="", help="why the severity differs from the triage proposal")
    p.add_argument("--declared-at", metavar="WHEN", help="declared earlier elsewhere: ISO 8601 (UTC if no offset), \"2h ago\", \"1h30m ago\" or =-90m; timers start then")
    p.add_argument("--detected-at", metavar="WHEN", help="when the problem was first seen (same forms)")
    p.add_argument("--json", action="store_true", help="print the new incident as JSON")

    p = action("show", "one incident: roles, timers, phases and timeline")
    p.add_argument("ref")
    p.add_argument("--json", action="store_true", help="the full incident with its events")
    p.add_argument("--hide-generated", action="store_true", help="leave out events the console generated")

    p = action("note", "add a note to the timeline")
    p.add_argument("ref")
    p.add_argument("text")
    p.add_argument("--pin", action="store_true", help="pin it (it goes into the post-mortem timeline)")

    p = action("status", "move the incident along its workflow")
    p.add_argument("ref")
    p.add_argument("status", help="triage, investigating, identified, mitigated, resolved, postmortem, closed, declined, merged")
    p.add_argument("--reason", default="", help="why (required to decline)")
    p.add_argument("--into", default="", metavar="REF", help="the incident this one duplicates (for merged)")

    p = action("ack", "acknowledge (meets the response target; update reminders continue)")
    p.add_argument("ref")

    p = action("severity", "change the severity (re-bases the timers; needs a reason)")
    p.add_argument("ref")
    p.add_argument("severity")
    p.add_argument("--reason", default="", help="why (required; recorded on the timeline)")

    p = action("role", "assign commander, scribe or communications (empty PERSON clears)")
    p.add_argument("ref")
    p.add_argument("role")
    p.add_argument("person")

    p = action("update", "print the stakeholder update; --post sends it to the webhook, --record logs it as sent")
    p.add_argument("ref")
    p.add_argument("--message", help="send this text instead of the template")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--post", action="store_true", help="post to the profile's webhook (webhook_url_env)")
    g.add_argument("--record", action="store_true", help="record that it was sent by other means")

    p = action("postmortem", "write the post-mortem (blameless) or waive it with a reason")
    p.add_argument("ref")
    for field in ("summary", "impact", "detection", "root-cause", "contributing-factors", "what-went-well", "what-went-poorly"):
        p.add_argument(f"--{field}", metavar="TEXT")
    p.add_argument("--action", action="append", default=[], metavar="TEXT@OWNER[@DUE]",
                   help="an action item with its owner (repeatable; replaces the list)")
    p.add_argument("--waive", metavar="REASON", help="record that no post-mortem will be written, and why")

    p = action("check", "tick (or --undo) a phase checklist item")
    p.add_argument("ref")
    p.add_argument("item")
    p.add_argument("--undo", action="store_true")

    p = action("export", "post-mortem document in Markdown or JSON (UTC)")
    p.add_argument("ref")
    # Checked by the service, so a bad value is the one-line error, not an argparse usage dump.
    p.add_argument("--format", default="md", metavar="md|json")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    parser.set_defaults(_incident_parser=parser)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "incident_action", None):
        args._incident_parser.print_help(sys.stderr)
        return 2
    from cs_console.domain.incidents.errors import IncidentError, StoreUnavailable
    from cs_console.services.session import open_session_or_exit

    import logging

    session = open_session_or_exit(args)
    # The store's warnings (a torn last line, ...) are printed once, as "warning: ...",
    # below; without a handler Python would also print each one bare on stderr.
    logging.getLogger("cs_console").addHandler(logging.NullHandler())
    try:
        return asyncio.run(_dispatch(args, session))
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except IncidentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _dispatch(args: argparse.Namespace, session: Any) -> int:
    from cs_console.wiring.incidents import open_incident_service

    service = await open_incident_service(session)
    try:
        handler = globals()[f"_do_{args.incident_action}"]
        code = await handler(args, service)
        for warning in service.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return code
    finally:
        await service.close()


# ------------------------------------------------------------------ helpers


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _line(text: str, limit: int = 200) -> str:
    from cs_console.domain.safe_text import safe_text

    return safe_text(text, limit)


def _ok(message: str) -> None:
    print(message)


# ------------------------------------------------------------------ actions


async def _do_list(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.timers import sla
    from cs_console.domain.incidents.views import age_text, summary_json, timer_text

    incidents = await service.list(include_final=args.all)
    now = service.clock.now()
    if args.json:
        _print_json([summary_json(i, now) for i in incidents])
        return 0
    if not incidents:
        print("no open incidents" if not args.all else "no incidents")
        return 0
    print(f"{'REF':<14} {'SEV':<3} {'STATUS':<13} {'SLA':<14} {'AGE':<8} {'COMMANDER':<12} TITLE")
    for inc in incidents:
        report = sla(inc, now)
        print(f"{inc.ref:<14} {inc.severity.value:<3} {inc.status.value:<13} {timer_text(report.headline):<14} "
              f"{age_text(inc, now):<8} {_line(inc.commander or '—', 12):<12} {_line(inc.title, 80)}")
    return 0


def _ask_triage(title: str | None) -> tuple[str, dict[str, bool], Any, str]:
    """Interactive: the manual's questions, most severe first, stopping at the first yes."""
    from cs_console.domain.incidents.errors import ValidationError
    from cs_console.domain.incidents.severity import parse_severity
    from cs_console.domain.incidents.triage import propose, remaining_questions

    def ask(prompt: str) -> str:
        try:
            return input(prompt)
        except EOFError:
            raise ValidationError("cancelled (end of input)") from None

    while not title or not title.strip():
        title = ask("Title (one line): ")
    answers: dict[str, bool] = {}
    print("Triage (the manual's classification; Enter = no):")
    while True:
        questions = remaining_questions(answers)
        if not questions:
            break
        q = questions[0]
        reply = ask(f"  [{q.severity.value}] {q.question} [y/N] ").strip().lower()
        if reply not in ("", "y", "yes", "n", "no"):
            print("  answer y or n (Enter = no)")
            continue  # a typo must not silently count as "no"
        answers[q.id] = reply in ("y", "yes")
    proposal = propose(answers)
    print(f"Proposed severity: {proposal.explain()}")
    while True:
        chosen_text = ask(f"Severity [{proposal.severity.value}]: ").strip()
        try:
            chosen = parse_severity(chosen_text) if chosen_text else proposal.severity
            break
        except ValidationError as exc:
            print(f"  {exc}")  # ask again rather than throw the answers away
    reason = ""
    while chosen is not proposal.severity and not reason.strip():
        reason = ask(f"Reason for {chosen.value} instead of {proposal.severity.value}: ")
    return title, answers, chosen, reason


async def _do_open(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.errors import ValidationError
    from cs_console.domain.incidents.severity import parse_severity
    from cs_console.domain.incidents.views import summary_json

    answers: dict[str, bool] = {}
    reason = args.reason
    title = args.title
    if args.severity:
        severity = parse_severity(args.severity)
        if not title:
            raise ValidationError("--title is required")
    elif sys.stdin.isatty():
        title, answers, severity, reason = _ask_triage(title)
    else:
        raise ValidationError("--severity is required when stdin is not a terminal (P0, P1, P2 or P3)")
    now = service.clock.now()
    inc = await service.open(
        title=title, severity=severity, summary=args.summary, components=args.component,
        answers=answers, override_reason=reason,
        declared_at=parse_when(args.declared_at, now, "--declared-at") if args.declared_at else None,
        detected_at=parse_when(args.detected_at, now, "--detected-at") if args.detected_at else None,
    )
    if args.json:
        _print_json(summary_json(inc, service.clock.now()))
    else:
        policy = inc.severity.policy
        _ok(f"{inc.ref} opened: {inc.severity.value} {policy.name} — respond {policy.response_label}")
    return 0


async def _do_show(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.phases import phase_views
    from cs_console.domain.incidents.postmortem import describe, export_json, utc
    from cs_console.domain.durations import elapsed
    from cs_console.domain.incidents.timers import sla
    from cs_console.domain.incidents.views import timer_text

    inc = await service.get(args.ref)
    now = service.clock.now()
    if args.json:
        _print_json(export_json(inc, now))
        return 0
    report = sla(inc, now)
    print(f"{inc.ref}  {inc.severity.value} {inc.severity.policy.name}  {inc.status.value}  {_line(inc.title)}")
    if inc.summary:
        print(f"  {_line(inc.summary, 500)}")
    roles = ", ".join(f"{r.value}: {p or '—'}" for r, p in inc.roles.items())
    print(f"  {roles}")
    print(f"  declared {utc(inc.declared_at)}  acknowledged {utc(inc.acknowledged_at)}  components: {', '.join(inc.components) or '—'}")
    print(f"  response: {timer_text(report.response)}   next update: {timer_text(report.update)}")
    for b in report.breaches:
        print(f"  breach: {b.describe()} ({b.until_text()})")
    print("Phases:")
    for view in phase_views(inc, now):
        mark = {"done": "✓", "current": "▶", "upcoming": " "}[view.state]
        extra = f" {elapsed(view.elapsed)}" if view.elapsed is not None else ""
        late = " OVERDUE" if view.overdue else ""
        print(f"  {mark} {view.phase.title} ({view.phase.window}){extra}{late}")
        if view.state != "upcoming":
            for item in view.items:
                print(f"      [{'x' if item.done else ' '}] {item.item.label}  ({item.item.id})")
    print("Timeline (UTC):")
    for ev in inc.events:
        if args.hide_generated and ev.generated:
            continue
        pin = "*" if inc.is_pinned(ev) else " "
        print(f" {pin}{ev.seq:>4} {ev.ts:%Y-%m-%d %H:%M:%S} {_line(ev.actor, 20):<12} {_line(describe(ev), 300)}")
    return 0


async def _do_note(args: argparse.Namespace, service: Any) -> int:
    inc = await service.add_note(args.ref, args.text, pinned=args.pin)
    _ok(f"{inc.ref}: note added (event {inc.last_seq})")
    return 0


async def _do_status(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.status import parse_status

    status = parse_status(args.status)
    inc = await service.set_status(args.ref, status, reason=args.reason, merge_into=args.into)
    _ok(f"{inc.ref}: {inc.status.value}")
    return 0


async def _do_ack(args: argparse.Namespace, service: Any) -> int:
    before = await service.get(args.ref)
    inc = await service.acknowledge(args.ref)
    if before.acknowledged_at is not None:
        _ok(f"{inc.ref}: already acknowledged by {inc.acknowledged_by} at {inc.acknowledged_at:%H:%M:%S} UTC")
    elif inc.status.is_final:
        _ok(f"{inc.ref}: {inc.status.value}, nothing to acknowledge")
    else:
        _ok(f"{inc.ref}: acknowledged by {inc.acknowledged_by}; commander {inc.commander}")
    return 0


async def _do_severity(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.severity import parse_severity

    inc = await service.set_severity(args.ref, parse_severity(args.severity), args.reason)
    _ok(f"{inc.ref}: {inc.severity.value} {inc.severity.policy.name} (timers re-based)")
    return 0


async def _do_role(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.model import parse_role

    role = parse_role(args.role)
    inc = await service.assign_role(args.ref, role, args.person)
    _ok(f"{inc.ref}: {role.value} {inc.roles[role] or 'unassigned'}")
    return 0


async def _do_update(args: argparse.Namespace, service: Any) -> int:
    body = args.message if args.message is not None else await service.update_text(args.ref)
    if args.post:
        inc = await service.post_update(args.ref, body)
        _ok(f"{inc.ref}: update posted to the webhook and recorded")
    elif args.record:
        inc = await service.record_update(args.ref, body, channel="manual")
        _ok(f"{inc.ref}: update recorded as sent")
    else:
        await service.get(args.ref)
        sys.stdout.write(body)
    return 0


async def _do_postmortem(args: argparse.Namespace, service: Any) -> int:
    from cs_console.domain.incidents.errors import ValidationError

    if args.waive:
        inc = await service.waive_postmortem(args.ref, args.waive)
        _ok(f"{inc.ref}: post-mortem waived")
        return 0
    fields: dict[str, Any] = {}
    for name in ("summary", "impact", "detection", "root_cause", "contributing_factors", "what_went_well", "what_went_poorly"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    if args.action:
        items = []
        for raw in args.action:
            parts = [p.strip() for p in raw.split("@")]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise ValidationError(f"--action {raw!r}: expected TEXT@OWNER or TEXT@OWNER@DUE")
            items.append({"text": parts[0], "owner": parts[1], "due": parts[2] if len(parts) > 2 else ""})
        fields["action_items"] = items
    inc = await service.update_postmortem(args.ref, fields)
    from cs_console.domain.incidents.postmortem import postmortem_gaps

    gaps = postmortem_gaps(inc)
    _ok(f"{inc.ref}: post-mortem updated" + (f" (still missing: {', '.join(gaps)})" if gaps else " (complete)"))
    return 0


async def _do_check(args: argparse.Namespace, service: Any) -> int:
    inc = await service.check_item(args.ref, args.item, not args.undo)
    _ok(f"{inc.ref}: {args.item} {'not done' if args.undo else 'done'}")
    return 0


async def _do_export(args: argparse.Namespace, service: Any) -> int:
    from pathlib import Path

    if not args.output:
        sys.stdout.write(await service.export(args.ref, args.format))
        return 0
    path = await service.export_to_file(args.ref, args.format, Path(args.output))
    _ok(f"{normalize(args.ref)}: exported to {path}")
    return 0


def parse_when(text: str, now: Any, flag: str) -> Any:
    """ISO 8601 (no offset = UTC) or a relative past time: -90m, -2h, -1d, '90m ago', '1h30m ago'."""
    import re
    from datetime import datetime, timedelta, timezone

    from cs_console.domain.incidents.errors import ValidationError

    t = text.strip().lower()
    unit = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    m = re.fullmatch(r"(-?)\s*((?:\d+\s*(?:min|s|m|h|d)\s*)+?)(\s*ago)?", t)
    if m and (m.group(1) or m.group(3)):
        parts = re.findall(r"(\d+)\s*(min|s|m|h|d)", m.group(2))
        return now - timedelta(seconds=sum(int(n) * unit[u] for n, u in parts))
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{flag} {text!r}: expected ISO 8601 (2025-03-04T09:58:00Z) or a time ago: 90m ago, 1h30m ago, =-2h") from None
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    if at > now:
        raise ValidationError(f"{flag} {text!r} is in the future")
    return at


def normalize(ref: str) -> str:
    from cs_console.domain.incidents.reference import normalize_ref

    return normalize_ref(ref)
