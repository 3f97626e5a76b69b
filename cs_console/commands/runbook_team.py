"""Team mode from the command line: `runbook runs --team`, `takeover`, `handover`, `approve`, `reject`.

Exit codes are `runbook`'s: 0 done, 2 refused / bad input (also: not in team mode, the
team store does not answer), 3 waiting for the operator. A take-over needs the run id
typed (`--confirm RUN_ID`, or typed at the prompt on a terminal); an approval needs the
step's confirm phrase typed by the approver (`--confirm PHRASE`); a rejection a reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from cs_console.commands.registration import add_command

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_WAITING = 0, 1, 2, 3
NOT_TEAM = "not in team mode: the profile needs store = \"postgres\" and team_dsn (runs, take-overs and approvals are the team's)"


def register_team(rsub: Any) -> None:
    p = add_command(rsub, "takeover", "take over a team run whose owner's console is gone (typed run id; audited)", _takeover)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--confirm", metavar="RUN_ID", help="the run id, typed again (asked on a terminal when missing)")

    p = add_command(rsub, "handover", "hand your team run over (audited): another engineer may then take it over", _handover)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--note", metavar="TEXT", default="", help="where it stands, for whoever takes it over")

    p = add_command(rsub, "approve", "approve another engineer's guarded step (two-person rule)", _approve)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("step", metavar="STEP")
    p.add_argument("--confirm", metavar="PHRASE", required=True, help="the step's confirm phrase, typed by you")

    p = add_command(rsub, "reject", "reject another engineer's guarded step (two-person rule)", _reject)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("step", metavar="STEP")
    p.add_argument("--reason", metavar="R", required=True, help="why (the runner reads it)")


def _team_session(args: argparse.Namespace) -> Any:
    from cs_console.services.session import open_session_or_exit

    session = open_session_or_exit(args)
    target = session.team_store
    return session if target is not None and target.dsn else None


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


def team_runs(args: argparse.Namespace, session: Any) -> int:
    """`runbook runs --team`: the team's runs in progress, and the approvals they wait for."""
    from cs_console.domain.safe_text import safe_text
    from cs_console.stores.run_store import RunStoreError
    from cs_console.wiring.runbooks import build_run_store

    target = session.team_store
    if target is None or not target.dsn:
        print(NOT_TEAM, file=sys.stderr)
        return EXIT_REFUSED
    store = build_run_store(session)
    try:
        runs = asyncio.run(store.team_runs(session.profile.name))
    except RunStoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], indent=2, default=str))
        return EXIT_OK
    if not runs:
        print("no team runs in progress")
    for r in runs:
        state = "live" if r.live else "OWNER GONE: cs-console runbook takeover " + r.run_id
        waiting = f"  waiting for approval: {', '.join(r.pending_approvals)}" if r.pending_approvals else ""
        print(safe_text(f"{r.run_id}  {r.runbook_id}  {r.status}  by {r.owner}  at {r.current_step or '-'} since {_when(r.since)}"
                        f"  [{state}]{waiting}", max_len=400))
    return EXIT_OK


def _in_team(job: Callable[[argparse.Namespace, Any], Coroutine[Any, Any, int]]) -> Callable[[argparse.Namespace], int]:
    """A team command: refused outside team mode, else `job` run on the team session."""

    def command(args: argparse.Namespace) -> int:
        session = _team_session(args)
        if session is None:
            print(NOT_TEAM, file=sys.stderr)
            return EXIT_REFUSED
        return asyncio.run(job(args, session))

    return command


def _takeover(args: argparse.Namespace) -> int:
    return _in_team(_takeover_async)(args)


async def _takeover_async(args: argparse.Namespace, session: Any) -> int:
    from cs_console.domain.runbooks.approval import who
    from cs_console.services.runbooks.catalog import load_runbook_or_error
    from cs_console.services.runbooks.plan import EngineError
    from cs_console.services.runbooks.takeover import takeover_gate
    from cs_console.stores.run_store import RunStoreError
    from cs_console.wiring.runbooks import build_run_store, open_engine

    store = build_run_store(session)
    try:
        run = await store.load_async(args.run_id)
        live = await store.is_live_elsewhere_async(args.run_id)
    except RunStoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    owner = who(run.owner or run.operator)
    if run.status.finished:
        print(f"run {run.run_id} has finished ({run.status.value}): nothing to take over", file=sys.stderr)
        return EXIT_REFUSED
    if live:
        print(f"refused: run {run.run_id} is running in {owner}'s console right now: ask them to hand it over", file=sys.stderr)
        return EXIT_REFUSED
    rb, err = load_runbook_or_error(run.runbook_id)
    if rb is None:
        print(err, file=sys.stderr)
        return EXIT_REFUSED
    running = [sid for sid, rec in run.steps.items() if rec.state.value == "running"]
    print(f"run {run.run_id} of {run.runbook_id} on {run.environment}, owned by {owner} (console gone)")
    if running:
        print(f"step {', '.join(running)} was running when the owner's console went: it will be marked unknown")
    typed = args.confirm
    if typed is None and sys.stdin.isatty():
        try:
            typed = input(f"type the run id {run.run_id!r} to take it over: ")
        except EOFError:
            typed = None
    if typed is None:
        print(f"refused: a take-over needs the run id typed: --confirm {run.run_id}", file=sys.stderr)
        return EXIT_REFUSED
    engine = open_engine(session, rb)
    try:
        conf = takeover_gate(run.run_id, engine.environment_name).confirm(typed)
        try:
            report = await engine.resume(run.run_id, takeover=conf)
        except EngineError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REFUSED
        print(f"you ({who(engine.run.owner if engine.run else {})}) now own run {run.run_id}; taken over from {owner}")
        for note in report.notes:
            if not note.startswith("taken over from"):
                print(f"note: {note}")
        for sid in report.unknown_steps:
            print(f"outcome unknown for {sid} (never re-run automatically): decide with "
                  f"cs-console runbook run {rb.id} --resume {run.run_id} --mark {sid}=verify|done|not-done")
        if not report.unknown_steps:
            print(f"continue with cs-console runbook run {rb.id} --resume {run.run_id}")
        return EXIT_OK
    finally:
        await engine.close()


def _handover(args: argparse.Namespace) -> int:
    return _in_team(_handover_async)(args)


async def _handover_async(args: argparse.Namespace, session: Any) -> int:
    from cs_console.services.runbooks.catalog import load_runbook_or_error
    from cs_console.services.runbooks.plan import EngineError
    from cs_console.stores.run_store import RunStoreError
    from cs_console.wiring.runbooks import build_run_store, open_engine

    try:
        run = await build_run_store(session).load_async(args.run_id)
    except RunStoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    rb, err = load_runbook_or_error(run.runbook_id)
    if rb is None:
        print(err, file=sys.stderr)
        return EXIT_REFUSED
    engine = open_engine(session, rb)
    try:
        try:
            await engine.resume(run.run_id)  # only its owner gets here (anyone else must take it over)
            await engine.hand_over(args.note)
        except (EngineError, RunStoreError) as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REFUSED
        print(f"run {run.run_id} handed over: another engineer takes it over with cs-console runbook takeover {run.run_id}")
        return EXIT_OK
    finally:
        await engine.close()


def _approve(args: argparse.Namespace) -> int:
    return _in_team(lambda a, session: _decide_async(a, session, True))(args)


def _reject(args: argparse.Namespace) -> int:
    return _in_team(lambda a, session: _decide_async(a, session, False))(args)


async def _decide_async(args: argparse.Namespace, session: Any, approve: bool) -> int:
    from cs_console.domain.runbooks.approval import who
    from cs_console.domain.safe_text import safe_text
    from cs_console.services.runbooks.approvals import DecisionRefused, decide
    from cs_console.stores.operator_identity import operator_identity
    from cs_console.stores.run_store import RunStoreError
    from cs_console.wiring.runbooks import build_approval_store, build_audit_trail

    approvals = build_approval_store(session)
    assert approvals is not None
    try:
        req = await approvals.latest(args.run_id, args.step)
        if req is not None and req.status == "pending":
            print(f"{who(req.requested_by)} asks to run {req.runbook_id}/{req.step_id} on {req.target}:")
            for line in req.what.splitlines():
                print(f"    {safe_text(line, max_len=300)}")
        done = await decide(approvals, build_audit_trail(session), run_id=args.run_id, step_id=args.step, approve=approve,
                            identity=operator_identity(), typed=getattr(args, "confirm", "") or "",
                            reason=getattr(args, "reason", "") or "", profile=session.profile.name)
    except DecisionRefused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    except (RunStoreError, OSError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    verb = "approved" if approve else "rejected"
    print(f"{verb} {done.runbook_id}/{done.step_id} of run {done.run_id} (asked by {who(done.requested_by)}); "
          + ("the runner's console runs it on their confirmation" if approve else "the runner sees your reason"))
    return EXIT_OK
