"""`cs-console runbook list|show|run|runs`: the runbooks from the command line.

Team mode adds `runs --team`, `takeover`, `approve` and `reject` (commands/runbook_team.py).

There is no `--yes`. `--confirm PHRASE` must repeat the exact phrase of EACH
guarded step (Heroku's rule; one `--confirm` per guarded step); a missing or
wrong phrase is refused by the engine itself, audited, printed as one line on
stderr, exit 2. Manual steps need `--answer STEP=VALUE` (else the run stops,
resumable, exit 3).

Exit codes: 0 done, 1 a step failed, 2 refused / bad input, 3 waiting for the
operator (manual step, decision, unknown step after an interruption, a second person's
approval not given: `--wait [SECONDS]` waits for it, then runs the step or, rejected, exits 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cs_console.commands.registration import add_command

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_WAITING = 0, 1, 2, 3
MAX_STREAMED_LINES = 40
WAIT_DEFAULT_S = 900  # --wait without SECONDS: how long a second person's decision is awaited
WAIT_POLL_S = 5.0  # the decision is also re-read this often (a NOTIFY wakes the wait sooner)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("between 1 and 86400 seconds")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser("runbook", help="list, show and run runbooks (guarded, audited, resumable)",
                            description="List, show and run runbooks (guarded, audited, resumable).")
    rsub = parser.add_subparsers(dest="runbook_command", metavar="ACTION")
    parser.set_defaults(handler=lambda args: (parser.print_help(), EXIT_REFUSED)[1])

    p = add_command(rsub, "list", "list the runbooks (built-in and user)", _list)
    p.add_argument("--json", action="store_true", help="JSON: id, title, group, tags, highest risk")

    p = add_command(rsub, "show", "show one runbook: inputs, steps, risks, phrases", _show)
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true")

    p = add_command(rsub, "run", "run a runbook non-interactively (each guarded step needs its --confirm PHRASE)", _run)
    p.add_argument("id", metavar="ID")
    p.add_argument("--dry-run", action="store_true", help="run only read-only checks; simulate the rest and show the phrases needed")
    p.add_argument("--input", action="append", default=[], metavar="K=V", help="an input value (secrets: K=env:VAR)")
    p.add_argument("--confirm", action="append", default=[], metavar="PHRASE",
                   help="the exact phrase of one guarded step (repeat for each guarded step); no --yes exists")
    p.add_argument("--answer", action="append", default=[], metavar="STEP=VALUE", help="answer a manual step or an ask decision")
    p.add_argument("--incident", metavar="REF", help="write each step to this incident's timeline")
    p.add_argument("--resume", metavar="RUN_ID", help="resume an interrupted run at the step where it stopped")
    p.add_argument("--mark", action="append", default=[], metavar="STEP=done|not-done|verify",
                   help="resolve a step whose outcome is unknown after an interruption (audited)")
    p.add_argument("--wait", nargs="?", type=_seconds, const=WAIT_DEFAULT_S, default=None, metavar="SECONDS",
                   help="at a step that needs a second person's approval (team mode), wait for another engineer's "
                        f"decision (default {WAIT_DEFAULT_S} s), then run it (approved) or stop, refused (rejected; "
                        "exit 2); no decision in time: exit 3, resumable")
    p.add_argument("--json", action="store_true", help="print the final run state as JSON on stdout")

    p = add_command(rsub, "runs", "list runs (interrupted ones can be resumed)", _runs)
    p.add_argument("--json", action="store_true")
    p.add_argument("--team", action="store_true", help="the team's runs in progress (team mode): owner, current step, since when")

    from cs_console.commands.runbook_team import register_team

    register_team(rsub)


def _pairs(items: list[str], flag: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            print(f"runbook: {flag} {item.split('=')[0]!r}: expected KEY=VALUE", file=sys.stderr)
            return None
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def _catalog() -> Any:
    from cs_console.services.runbooks.catalog import load_catalog

    return load_catalog()


def _list(args: argparse.Namespace) -> int:
    catalog = _catalog()
    for err in catalog.errors:
        print(str(err), file=sys.stderr)
    rows = [{"id": rb.id, "title": rb.title, "group": rb.group, "tags": list(rb.tags), "highest_risk": rb.highest_risk.value,
             "builtin": rb.builtin} for rb in catalog.ordered()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no runbooks found")
        return EXIT_OK
    width = max(len(r["id"]) for r in rows)
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            print(f"{group}:")
        tags = f"  [{', '.join(r['tags'])}]" if r["tags"] else ""
        print(f"  {r['id'].ljust(width)}  {r['highest_risk']:<12} {r['title']}{tags}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from cs_console.services.runbooks.catalog import load_runbook_or_error

    rb, err = load_runbook_or_error(args.id)
    if rb is None:
        print(err, file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(_runbook_json(rb), indent=2, default=str))
        return EXIT_OK
    print(f"{rb.title}  ({rb.id}, {rb.group}, highest risk: {rb.highest_risk.value})")
    if rb.summary:
        print(rb.summary.strip())
    if rb.manual_ref:
        print(f"manual: {rb.manual_ref}")
    print(f"source: {rb.source}  sha256: {rb.sha256[:16]}")
    if rb.is_maintenance:
        print("maintenance runbook: checked against the maintenance windows" + (f" ({', '.join(rb.maintenance_windows)})" if rb.maintenance_windows else ""))
    if rb.inputs:
        print("inputs:")
        for i in rb.inputs:
            default = "" if i.default is None else f" (default {i.default})"
            print(f"  {i.name}: {i.type.value}{'' if i.required else ', optional'}{default}  {i.prompt}")
    print("steps:")
    for n, s in enumerate(rb.steps, 1):
        print(f"  {n}. {s.id} [{s.kind.value}, {s.risk.value}{'' if s.idempotent else ', not idempotent'}] {s.title}")
        if s.why:
            print(f"       why: {s.why}")
        if s.confirm:
            print(f"       confirm phrase: {s.confirm.phrase}")
        if s.rollback:
            print(f"       rollback: {s.rollback}")
    return EXIT_OK


def _runbook_json(rb: Any) -> dict[str, Any]:
    return {
        "id": rb.id, "title": rb.title, "group": rb.group, "summary": rb.summary, "tags": list(rb.tags),
        "highest_risk": rb.highest_risk.value, "source": rb.source, "sha256": rb.sha256, "manual_ref": rb.manual_ref,
        "inputs": [{"name": i.name, "type": i.type.value, "required": i.required, "default": i.default, "prompt": i.prompt} for i in rb.inputs],
        "steps": [{"id": s.id, "kind": s.kind.value, "title": s.title, "risk": s.risk.value, "idempotent": s.idempotent,
                   "confirm_phrase": s.confirm.phrase if s.confirm else None, "rollback": s.rollback} for s in rb.steps],
    }


def _runs(args: argparse.Namespace) -> int:
    from cs_console.services.session import open_session_or_exit
    from cs_console.stores.run_store import summary_dict
    from cs_console.wiring.runbooks import build_run_store

    session = open_session_or_exit(args)
    if args.team:
        from cs_console.commands.runbook_team import team_runs

        return team_runs(args, session)
    store = build_run_store(session)
    if store.kind != "local":
        from cs_console.stores.run_store import RunStore

        store = RunStore.in_state_dir(session.state_dir)  # this machine's runs; --team lists the team's
        if not args.json:
            print("team mode: runs live in the team store (cs-console runbook runs --team); this machine's:", file=sys.stderr)
    summaries = store.summaries()
    if args.json:
        print(json.dumps([summary_dict(s) for s in summaries], indent=2))
        return EXIT_OK
    if not summaries:
        print("no runs")
    for s in summaries:
        flag = "  INTERRUPTED: resume with --resume " + s.run_id if s.interrupted else ""
        unknown = f"  unknown: {', '.join(s.unknown_steps)}" if s.unknown_steps else ""
        print(f"{s.run_id}  {s.runbook_id}  {s.status}  [{s.profile}]  at {s.current or '-'}{unknown}{flag}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from cs_console.services.session import open_session_or_exit

    inputs = _pairs(args.input, "--input")
    answers = _pairs(args.answer, "--answer")
    marks = _pairs(args.mark, "--mark")
    if inputs is None or answers is None or marks is None:
        return EXIT_REFUSED
    session = open_session_or_exit(args)
    from cs_console.services.runbooks.catalog import load_runbook_or_error

    rb, err = load_runbook_or_error(args.id)
    if rb is None:
        print(err, file=sys.stderr)
        return EXIT_REFUSED
    return asyncio.run(_run_async(args, session, rb, inputs, answers, marks))


async def _run_async(args: argparse.Namespace, session: Any, rb: Any, inputs: dict[str, str], answers: dict[str, str],
                     marks: dict[str, str]) -> int:
    from cs_console.domain.safe_text import safe_text
    from cs_console.services.runbooks.batch import run_all
    from cs_console.services.runbooks.plan import EngineError
    from cs_console.wiring.environment import build_environment
    from cs_console.stores.run_store import RunStoreError
    from cs_console.wiring.runbooks import build_run_store, open_engine

    try:
        env: Any = build_environment(session, one_shot=True)
    except Exception as exc:  # no sources is a degraded console, not a crash
        print(f"warning: environment unavailable ({type(exc).__name__}): console checks cannot run", file=sys.stderr)
        env = None

    shown: dict[str, int] = {}

    def out(step_id: str, line: str) -> None:
        # Stream, but keep a terminal readable: the full output is in the run state.
        n = shown.get(step_id, 0) + 1
        shown[step_id] = n
        if n <= MAX_STREAMED_LINES:
            print(f"    | {safe_text(line, max_len=300)}", flush=True)
        elif n == MAX_STREAMED_LINES + 1:
            print("    | … (more output in the run state: cs-console runbook runs)", flush=True)

    engine = open_engine(session, rb, environment=env, on_output=out)
    try:
        if args.resume:
            from cs_console.domain.runbooks.guard import phrase_matches
            from cs_console.services.runbooks.plan import CHANGED_RUNBOOK_PHRASE

            changed_conf = None
            typed = next((p for p in args.confirm if phrase_matches(CHANGED_RUNBOOK_PHRASE, p)), None)
            if typed is not None:
                args.confirm.remove(typed)
                # Bound to this run by resume() itself (it builds the gate once the run is loaded).
                changed_conf = typed
            try:
                report = await _resume(engine, args.resume, changed_conf)
            except EngineError as exc:
                print(str(exc), file=sys.stderr)
                return EXIT_REFUSED
            for note in report.notes:
                print(f"note: {note}", file=sys.stderr)
            if report.unknown_steps:
                print(f"run {report.run.run_id}: outcome unknown for {', '.join(report.unknown_steps)} "
                      "(never re-run automatically: --mark STEP=verify|done|not-done)", file=sys.stderr)
            print(f"resuming run {report.run.run_id} of {rb.id} at {report.next_step or '(nothing left)'}")
        else:
            interrupted = await _interrupted(build_run_store(session), rb.id, session.profile.name)
            for r in interrupted[:3]:
                print(f"note: run {r.run_id} of {rb.id} did not finish ({r.status.value}); resume it with --resume {r.run_id}",
                      file=sys.stderr)
            if env is not None and any(spec.suggest and spec.name not in inputs for spec in rb.inputs):
                from cs_console.services.runbooks.input_suggestions import suggest_inputs

                for name, suggested in (await suggest_inputs(rb, env)).items():
                    if name not in inputs and suggested.value is not None:  # an --input always wins
                        inputs[name] = suggested.value
                        print(f"input {name} = {suggested.value} (suggested: {safe_text(suggested.why, 200)}; "
                              f"--input {name}=V to choose)", file=sys.stderr)
            try:
                run = await engine.start(inputs, dry_run=args.dry_run, incident_ref=args.incident)
            except EngineError as exc:
                print(str(exc), file=sys.stderr)
                return EXIT_REFUSED
            mode = "dry run" if args.dry_run else ("READ-ONLY" if session.read_only else "live")
            print(f"run {run.run_id} of {rb.id} on {engine.environment_name} ({mode})")
            if engine.window.applies:
                print(f"maintenance: {engine.window.message}")
        wait = _approval_wait(engine, rb.id, args.wait) if args.wait is not None else None
        try:
            last = await run_all(engine, list(args.confirm), answers, marks=marks, report=lambda line: print(line, flush=True),
                                 wait=wait)
        except RunStoreError as exc:  # the state cannot be saved (taken over, store gone): nothing more runs
            print(f"refused: {rb.id}: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        run = engine.run
        assert run is not None
        for w in engine.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if args.json:
            print(json.dumps(run.to_dict(), indent=1, default=str))
        if last is not None and last.refused:
            print(f"refused: {rb.id}/{last.step_id}: {last.detail}", file=sys.stderr)
            return EXIT_REFUSED
        if last is not None and last.waiting_approval:
            waited = f"no decision within {args.wait:g} s; " if args.wait is not None else ""
            print(f"waiting: {rb.id}/{last.step_id}: {waited}{last.detail}; once approved, continue with --resume {run.run_id} "
                  "--confirm PHRASE [--wait]", file=sys.stderr)
            return EXIT_WAITING
        if last is not None and last.stopped and run.status.value == "failed":
            print(f"failed: {rb.id}/{last.step_id}: {last.detail} (resume with --resume {run.run_id})", file=sys.stderr)
            return EXIT_FAILED
        if last is not None and last.stopped and last.state.value == "unknown":
            print(f"waiting: {rb.id}/{last.step_id}: {last.detail}: --resume {run.run_id} --mark {last.step_id}=verify|done|not-done",
                  file=sys.stderr)
            return EXIT_WAITING
        if last is not None and last.stopped:
            print(f"waiting: {rb.id}/{last.step_id}: {last.detail}; continue with --resume {run.run_id} "
                  f"--answer {last.step_id}=VALUE", file=sys.stderr)
            return EXIT_WAITING
        nxt = engine.next_step_id()
        if nxt is not None and run.steps[nxt].state.value == "unknown":
            print(f"waiting: {rb.id}/{nxt}: outcome unknown; --resume {run.run_id} --mark {nxt}=verify|done|not-done", file=sys.stderr)
            return EXIT_WAITING
        failed = run.failed_checks
        print(f"run {run.run_id}: {run.outcome_text()}")
        if failed:
            print(f"    failed, not waived: {', '.join(failed)}")
        if run.rehearsed_steps:
            print(f"    rehearsed (not simulated): {', '.join(run.rehearsed_steps)}")
        # A failed check that was not waived is a failed run for scripts too.
        return EXIT_FAILED if failed else EXIT_OK
    finally:
        await engine.close()
        if env is not None:
            try:
                await env.aclose()
            except Exception:
                pass


def _approval_wait(engine: Any, runbook_id: str, seconds: float) -> Any:
    """run_all's wait for --wait: says who it waits for, then waits for the decision, at most `seconds` in all."""
    import time

    from cs_console.domain.runbooks.approval import APPROVED, who
    from cs_console.domain.safe_text import safe_text

    deadline = time.monotonic() + seconds

    async def wait(outcome: Any) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        run_id, step_id = engine.run.run_id, outcome.step_id
        print(f"waiting up to {left:.0f} s for a second person's approval of {runbook_id}/{step_id}: another engineer "
              f"than {who(engine.operator)} (another OS user, from another SSH client) runs "
              f"`cs-console runbook approve {run_id} {step_id} --confirm PHRASE` or approves it in the Runbooks pane",
              flush=True)
        try:
            req = await engine.wait_for_decision(step_id, timeout_s=left, poll_s=WAIT_POLL_S)
        except Exception as exc:  # the team store gone while waiting: still waiting, resumable
            print(safe_text(f"the approval cannot be checked: {exc}", 300) or type(exc).__name__, file=sys.stderr)
            return False
        if req is None:
            return False
        if req.status == APPROVED:
            print(f"approved by {who(req.decided_by)}: running {step_id}", flush=True)
        else:
            print(safe_text(f"{req.status} by {who(req.decided_by)}" + (f": {req.reason}" if req.reason else ""), 300), flush=True)
        return True

    return wait


async def _interrupted(store: Any, runbook_id: str, profile: str) -> list[Any]:
    """This runbook's runs that did not finish (the team's in team mode); [] when the store does not answer."""
    from cs_console.stores.run_store import RunStoreError

    try:
        if store.kind == "local":
            return store.interrupted_runs(runbook_id, profile)
        return await store.interrupted_runs(runbook_id, profile)
    except RunStoreError:
        return []


async def _resume(engine: Any, run_id: str, changed_typed: str | None) -> Any:
    from cs_console.services.runbooks.engine import changed_runbook_gate

    conf = None
    if changed_typed is not None:
        # The gate needs the loaded run; resume() checks the confirmation against the same gate.
        conf = changed_runbook_gate(run_id, engine.environment_name, engine.runbook.id).confirm(changed_typed)
    return await engine.resume(run_id, changed_confirmation=conf)
