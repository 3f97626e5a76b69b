"""What the runbook wizard says about a step, as plain text: pure functions of the step,
its record and the engine's prepared plan (no Textual, no I/O), so the screen only paints."""

from __future__ import annotations

from typing import Any

from cs_console.domain.runbooks.run_state import StepState
from cs_console.domain.runbooks.schema import Risk, Step, StepKind
from cs_console.domain.safe_text import safe_text
from cs_console.tui.screens.confirm_destructive import ConfirmRequest

STATE_ICONS: dict[StepState, tuple[str, str]] = {
    StepState.PENDING: ("·", "$text-muted"),
    StepState.RUNNING: ("▶", "$warning bold"),
    StepState.SUCCEEDED: ("✓", "$success"),
    StepState.FAILED: ("✗", "$error bold"),
    StepState.SKIPPED: ("↷", "$text-muted"),
    StepState.REFUSED: ("⊘", "$error bold"),
    StepState.UNKNOWN: ("?", "$warning bold"),
    StepState.CANCELLED: ("–", "$text-muted"),
}

RISK_LABELS = {Risk.READ: "READ", Risk.WRITE: "WRITE", Risk.DESTRUCTIVE: "DESTRUCTIVE", Risk.IRREVERSIBLE: "IRREVERSIBLE"}

RISK_STYLES = {
    Risk.READ: "reverse $success",
    Risk.WRITE: "reverse $primary",
    Risk.DESTRUCTIVE: "reverse $warning bold",
    Risk.IRREVERSIBLE: "reverse $error bold",
}

# Verbs for the confirmation button, by what the step does.
ACTION_VERBS = (("terminate", "Terminate"), ("cancel", "Cancel queries"), ("ban", "Ban"), ("restore", "Restore"),
                ("deploy", "Deploy"), ("revoke", "Revoke"), ("delete", "Delete"), ("end", "End sessions"))


def verb(step: Step) -> str:
    title = step.title.lower()
    for key, word in ACTION_VERBS:
        if title.startswith(key) or f" {key}" in title[:20]:
            return word
    return "Run it"


def format_rows(value: Any, *, max_rows: int = 15, max_width: int = 28) -> str:
    """Rows (a list of dicts) as a small aligned table with a count; anything else as short text."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return "" if value is None else safe_text(str(value), 600)
    if not value:
        return "0 rows"
    if not all(isinstance(r, dict) for r in value):
        return f"{len(value)} item(s): " + safe_text(", ".join(str(v) for v in value[:max_rows]), 600)
    cols = list(value[0].keys())[:7]

    def cell(v: Any) -> str:
        text = safe_text("" if v is None else str(v), None)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    table = [[cell(c) for c in cols]] + [[cell(r.get(c)) for c in cols] for r in value[:max_rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = [f"{len(value)} row(s)"]
    lines += ["  ".join(row[i].ljust(widths[i]) for i in range(len(cols))).rstrip() for row in table]
    if len(value) > max_rows:
        lines.append(f"… and {len(value) - max_rows} more")
    return "\n".join(lines)


def static_what(step: Step) -> str:
    """What a step runs, from the runbook alone (before the engine renders it)."""
    action = step.action
    if step.kind is StepKind.DECISION:
        if step.ask:
            return "the operator chooses: " + " | ".join(c.label for c in step.choices)
        return "\n".join(f"if {c.when} -> {c.goto}" for c in step.choices) + f"\notherwise -> {step.default}"
    if action is None:
        return ""
    if action.sql:
        return action.sql.query.strip()
    if action.shell:
        return "$ " + (" ".join(action.shell.argv) if action.shell.argv else (action.shell.command or "").strip())
    if action.http:
        return f"{action.http.method} {action.http.url}"
    if action.console:
        return f"console: {action.console.call}"
    return ""


def what_text(step: Step, plan: Any, *, preparing: bool) -> str:
    """The "What will run" section (plan: this step's prepared plan, or None; preparing: a prepare of
    this step is under way, so its rendered call is coming)."""
    if plan is not None:
        what = plan.what_will_run or static_what(step)  # prepared: never "(preparing…)" again
    else:
        what = "(preparing…)" if preparing else static_what(step)
    if plan and plan.demo_note:
        what += f"\n[{plan.demo_note}]"
    return what


def preconditions_text(step: Step, plan: Any) -> str:
    lines = []
    if plan is not None:
        lines = [f"{'✓' if p.ok else '✗'} {p.step_id}: {p.detail}" for p in plan.preconditions]
    elif step.preconditions:
        lines.append("re-checked before it runs: " + ", ".join(step.preconditions))
    return ("Preconditions:\n" + "\n".join(lines)) if lines else ""


def preview_text(step: Step, plan: Any, *, dry_run: bool) -> str:
    preview = ""
    if plan is not None:
        if plan.preview_error:
            preview = f"Preview failed: {plan.preview_error}"
        elif plan.preview is not None:
            preview = "Preview: " + format_rows(plan.preview)
        if plan.gate is not None and not dry_run:
            preview += ("\n" if preview else "") + f"Needs the typed confirmation: {plan.gate.phrase or '(target unknown: refused)'}"
        if plan.shown:
            preview += ("\n" if preview else "") + "\n".join(f"{k}: {v}" for k, v in plan.shown)
        if plan.rollback:
            preview += ("\n" if preview else "") + f"Undo: {plan.rollback}"
    elif step.rollback:
        preview = f"Undo: {step.rollback}"
    return preview


def blocked_text(step: Step, plan: Any, *, read_only: bool, dry_run: bool) -> str:
    """Why the step would be refused (the engine's reason once prepared), "" if it would not."""
    blocked = plan.blocked if plan is not None else ""
    if not blocked and read_only and step.risk.mutating and not dry_run:
        blocked = f"read-only session: a {step.risk.value} step is refused"
    return blocked


def result_text(rec: Any, tick: Any) -> str:
    """The "Result" section of a step that ran (or was refused, skipped...)."""
    icon, _style = STATE_ICONS[rec.state]
    bits = [f"Result: {icon} {rec.state.value}"]
    facts = []
    if rec.rows_affected is not None:
        facts.append(f"{rec.rows_affected} row(s)")
    if rec.exit_code is not None:
        facts.append(f"exit {rec.exit_code}")
    if rec.http_status is not None:
        facts.append(f"HTTP {rec.http_status}")
    if rec.duration_ms is not None:
        facts.append(f"{rec.duration_ms} ms")
    if facts:
        bits[0] += " (" + ", ".join(facts) + ")"
    if rec.detail:
        bits.append(rec.detail)
    if rec.verified is not None:
        bits.append("Verification: " + ("passed" if rec.verified else "FAILED"))
    if rec.dry_run:
        bits.append(f"Dry run: {rec.dry_run}")
    if rec.answer:
        bits.append(f"Answer: {rec.answer}")
    if tick is not None:
        bits.append(f"Checklist: ticked today {tick.at:%H:%M} UTC by {tick.by}")
    return "\n".join(bits)


def answer_choices(step: Step) -> list[str]:
    """What the operator may answer at a manual step or an ask decision ([] for other steps)."""
    if step.kind is StepKind.MANUAL:
        return list(step.answer.choices) if (step.answer and step.answer.choices) else ["done"]
    if step.kind is StepKind.DECISION and step.ask:
        return [c.label for c in step.choices]
    return []


def confirm_request(plan: Any, *, environment: str, production: bool) -> ConfirmRequest:
    """The typed confirmation of a prepared guarded step."""
    return ConfirmRequest(
        gate=plan.gate, what_will_run=plan.what_will_run, environment=environment, production=production,
        facts=list(plan.shown), preview=format_rows(plan.preview) if plan.preview is not None else "",
        rollback=plan.rollback, action_label=verb(plan.step),
    )
