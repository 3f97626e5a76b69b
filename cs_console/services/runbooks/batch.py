"""The CLI's non-interactive loop: every step in order, each guarded step consuming one
matching ``--confirm`` phrase (there is no ``--yes``); the engine refuses the rest.

A step left waiting for a second person's approval ends the loop, unless ``wait`` is given
(the CLI's ``--wait``): it is awaited with the outcome and returns True once the request was
decided, and the step is then executed again with the same phrase, so the engine runs it on
the approval or refuses it with the rejection's reason."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Mapping

from cs_console.domain.runbooks.guard import Confirmation, phrase_matches
from cs_console.domain.runbooks.run_state import StepState
from cs_console.services.runbooks.engine import RunbookEngine
from cs_console.services.runbooks.plan import EngineError, StepOutcome, StepPlan


async def run_all(engine: RunbookEngine, phrases: list[str], answers: Mapping[str, str], *,
                  marks: Mapping[str, str] | None = None, report: Callable[[str], None] | None = None,
                  wait: Callable[[StepOutcome], Awaitable[bool]] | None = None) -> StepOutcome | None:
    """Drive the run until it ends or needs the operator. Returns the last outcome (None when nothing was left to do)."""
    say = report or (lambda _line: None)
    pool = list(phrases)

    def take(phrase: str) -> str | None:
        for i, typed in enumerate(pool):
            if phrase_matches(phrase, typed):
                return pool.pop(i)
        return None

    for sid, action in (marks or {}).items():
        out = await engine.resolve_unknown(sid, action)
        say(f"{sid}: {out.detail}")
        if out.stopped:
            return out
    last: StepOutcome | None = None
    seen: set[tuple[str, int]] = set()
    run = engine.run
    if run is None:
        raise EngineError("no run started (call start() or resume())")
    while (step := engine.next_step()) is not None:
        key = (step.id, run.steps[step.id].attempts)
        if key in seen:  # no progress: never spin
            return StepOutcome(step.id, run.steps[step.id].state, "no progress on this step",
                               stopped=True, run_status=run.status, next_step=step.id)
        seen.add(key)
        if run.steps[step.id].state is StepState.UNKNOWN:
            return StepOutcome(step.id, StepState.UNKNOWN,
                               "outcome unknown after an interruption: never re-run automatically; verify it or mark it done / not done",
                               stopped=True, run_status=run.status, next_step=step.id)
        conf: Confirmation | None = None
        plan: StepPlan | None = None
        typed: str | None = None
        if step.risk.mutating and not run.dry_run:
            gate = engine.window_gate()
            if gate is not None:
                window_typed = take(gate.phrase)
                decision = await engine.confirm_window(gate.confirm(window_typed) if window_typed is not None else None)
                if not decision:
                    return StepOutcome(step.id, run.steps[step.id].state,
                                       f"{engine.window.message}: re-run with --confirm {shlex.quote(gate.phrase)} to run anyway",
                                       refused=True, stopped=True, run_status=run.status, next_step=step.id)
        if step.risk.guarded and not run.dry_run and not engine.read_only:
            plan = await engine.prepare(step.id)
            if plan.gate is not None:
                typed = take(plan.gate.phrase)
                if typed is None and pool:
                    typed = pool.pop(0)  # a wrong phrase is refused as a mismatch, not as "missing"
                if typed is not None:
                    conf = plan.gate.confirm(typed)
        say(f"[{engine.runbook.index_of(step.id) + 1}/{len(engine.runbook.steps)}] {step.id} ({step.kind.value}, {step.risk.value}): {step.title}")
        last = await engine.execute(step.id, plan=plan, confirmation=conf, answer=answers.get(step.id))
        say(f"    -> {last.state.value}: {last.detail}")
        while last.waiting_approval and wait is not None and await wait(last):
            # Decided: the same step, the same phrase, on a fresh plan (the engine re-checks everything).
            plan = await engine.prepare(step.id)
            conf = plan.gate.confirm(typed) if plan.gate is not None and typed is not None else None
            last = await engine.execute(step.id, plan=plan, confirmation=conf, answer=answers.get(step.id))
            say(f"    -> {last.state.value}: {last.detail}")
        if last.stopped:
            return last
    return last
