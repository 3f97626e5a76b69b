"""The runbook wizard's panels: the step on show (why, what will run, preconditions,
preview, refusal, result, answers), the progress list's lines and the header line.

They paint what they are given (texts from ``runbook_step_view``); the wizard screen
decides what to show and drives the engine.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, RichLog, Static
from textual.widgets.option_list import Option

from cs_console.domain.runbooks.run_state import StepState
from cs_console.domain.runbooks.schema import Runbook, Step, StepKind
from cs_console.domain.safe_text import safe_text
from cs_console.tui.screens import runbook_step_view as view


def paragraph(text: str, limit: int = 400) -> Content:
    """Untrusted multi-line text, literally (each line made safe, at most `limit` lines)."""
    lines = text.splitlines() or [""]
    shown = [safe_text(line, 300) for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"… {len(lines) - limit} more lines")
    return Content("\n".join(shown))


class StepDetail(VerticalScroll):
    """One step: its title and risk, why, what will run, preconditions, preview, refusal, result, answers."""

    def __init__(self) -> None:
        super().__init__(id="rbw-detail")
        self.choice_labels: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="rbw-title")
        yield Static(id="rbw-why", classes="rbw-section")
        yield Static(id="rbw-pre", classes="rbw-section")
        yield Static(Content("What will run"), id="rbw-what-label", classes="rbw-label")
        yield Static(id="rbw-what")
        yield Static(id="rbw-preview", classes="rbw-section")
        yield Static(id="rbw-blocked", classes="rbw-section")
        yield Static(id="rbw-result", classes="rbw-section")
        yield OptionList(id="rbw-choices")

    def show(self, step: Step, *, index: int, total: int, rec: Any, plan: Any, preparing: bool, dry_run: bool,
             read_only: bool, tick: Any, choices: list[str]) -> None:
        """plan: the engine's plan of this step (None before it is prepared); choices: the answers offered now."""
        title = Content.assemble(f"Step {index}/{total} · {step.kind.value} · ", (safe_text(step.title, 120), "bold"), "  ")
        self.query_one("#rbw-title", Static).update(Content.assemble(title, (f" {view.RISK_LABELS[step.risk]} ", view.RISK_STYLES[step.risk])))
        self._set("#rbw-why", f"Why: {step.why}" if step.why else "")
        if step.kind is StepKind.MANUAL:
            self._set("#rbw-what", step.instructions.strip())
            self.query_one("#rbw-what-label", Static).update(Content("What to do"))
        else:
            self.query_one("#rbw-what-label", Static).update(Content("What will run"))
            self._set("#rbw-what", view.what_text(step, plan, preparing=preparing))
        approval = getattr(plan, "approval", "") if plan is not None else ""
        pre = view.preconditions_text(step, plan)
        self._set("#rbw-pre", "\n".join(t for t in (pre, f"Second person: {approval}" if approval else "") if t))
        self._set("#rbw-preview", view.preview_text(step, plan, dry_run=dry_run))
        blocked = view.blocked_text(step, plan, read_only=read_only, dry_run=dry_run)
        self._set("#rbw-blocked", f"REFUSED: {blocked}" if blocked else "")
        self.query_one("#rbw-blocked", Static).set_class(bool(blocked), "-refused")
        if rec is None or rec.state is StepState.PENDING and not rec.detail:
            self._set("#rbw-result", "")
        else:
            self._set("#rbw-result", view.result_text(rec, tick))
            self.query_one("#rbw-result", Static).set_class(rec.state in (StepState.FAILED, StepState.REFUSED), "-bad")
        self._show_choices(step, choices)

    def _show_choices(self, step: Step, wanted: list[str]) -> None:
        choices = self.query_one("#rbw-choices", OptionList)
        if not wanted:
            choices.display = False
            return
        choices.set_options([Option(Content(safe_text(w, 100)), id=f"answer-{i}") for i, w in enumerate(wanted)])
        choices.border_title = "Answer (Enter)" if step.kind is StepKind.MANUAL else "Choose (Enter)"
        choices.display = True
        self.choice_labels = wanted

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        widget.update(paragraph(text) if text else Content(""))
        widget.display = bool(text)


def progress_options(runbook: Runbook, records: dict[str, Any], current: str | None, ticks: dict[str, Any]) -> list[Option]:
    """One line per step: the current-step marker, its state, number, ! when guarded (before the
    title, so a narrow list never cuts it off), the title, today's tick."""
    options = []
    for i, step in enumerate(runbook.steps, start=1):
        rec = records.get(step.id)
        state = rec.state if rec is not None else StepState.PENDING
        icon, style = view.STATE_ICONS[state]
        marker = "▸" if step.id == current else " "
        guard = ("!", "$error bold") if step.risk.guarded else " "
        parts: list[Any] = [marker, (icon, style), " ", f"{i:>2}", guard, safe_text(step.title, None)]
        if step.id in ticks and state is not StepState.SUCCEEDED:
            parts += [" ", ("✓today", "$success")]
        options.append(Option(Content.assemble(*parts), id=step.id))
    return options


def head_line(environment: str, production: bool, title: str, run: Any, read_only: bool) -> Content:
    """The environment (reversed for production), the runbook, the run's mode, incident and status."""
    bits: list[Any] = [(f" {environment} ", "reverse bold" if production else "bold"), " "]
    bits.append((safe_text(title, 60), "bold"))
    if run is not None:
        if run.dry_run:
            bits += ["  ", ("DRY RUN", "$warning bold")]
        if read_only:
            bits += ["  ", ("READ-ONLY", "$warning bold")]
        if run.incident_ref:
            bits += ["  → ", (safe_text(run.incident_ref, 20), "$accent bold")]
        failed = run.status.finished and bool(run.failed_checks)
        bits += ["  ", (run.outcome_text(), "$warning bold" if failed else "$text-muted")]
    return Content.assemble(*bits)


class StepOutputLog(RichLog):
    """The output of the step on show: its lines as they arrive, or the excerpt its record kept."""

    def __init__(self) -> None:
        super().__init__(id="rbw-output", max_lines=2000, wrap=False, markup=False, highlight=False)
        self._shown = 0  # how many of the step's lines are written

    def show(self, step_id: str, lines: list[str], excerpt: str) -> None:
        self.clear()
        for line in lines[-500:]:
            self.write(Content(line))
        self._shown = len(lines)
        if not lines and excerpt:
            for line in excerpt.splitlines()[-200:]:
                self.write(Content(safe_text(line, 2000)))
        self.border_title = f"Output · {step_id}"

    def restart(self) -> None:
        """The step runs (again): its output starts afresh."""
        self.clear()
        self._shown = 0

    def follow(self, lines: list[str]) -> None:
        """Write the lines that arrived since the last call."""
        for line in lines[self._shown:]:
            self.write(Content(line))
        self._shown = max(self._shown, len(lines))


def banner_lines(error: str, window_message: str, window_phrase: str | None, unknown_steps: list[str], notice: str) -> list[Content]:
    """What the wizard must say above everything: an error, the maintenance window, unknown outcomes, a notice."""
    lines: list[Content] = []
    if error:
        lines.append(Content.assemble(("✗ ", "$error bold"), safe_text(error, 300)))
    if window_phrase is not None:
        lines.append(Content.assemble(("⚠ ", "$warning bold"), safe_text(window_message, 200),
                                      f": w to confirm (type {window_phrase})"))
    if unknown_steps:
        lines.append(Content.assemble(("? ", "$warning bold"),
                                      f"outcome unknown: {', '.join(unknown_steps)} (v verify, m mark done, n mark not done)"))
    if notice:
        lines.append(Content(safe_text(notice, 300)))
    return lines
