"""Declare an incident: evidence → details → the manual's triage questions → severity.

Step by step so it works at 80x24 and over a slow link: pick live evidence
(an alert or a failed health component) or a blank form, give a title, answer
yes/no questions from P0 down (the first yes settles it), then accept the
proposed severity or override it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import ContentSwitcher, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.incidents.severity import POLICIES, Severity
from cs_console.domain.incidents.triage import CRITERION_BY_ID, Prefill, propose, remaining_questions
from cs_console.domain.safe_text import safe_text


@dataclass
class OpenDraft:
    """What the operator decided; the pane hands it to the service."""

    title: str
    summary: str
    components: list[str]
    answers: dict[str, bool]
    severity: Severity
    reason: str
    prefill: Prefill | None = None
    extra: dict[str, object] = field(default_factory=dict)


class QuestionBox(Static, can_focus=True):
    """The current triage question (y / n / b)."""


class IncidentOpenScreen(ModalScreen[OpenDraft | None]):
    """Declare an incident with the manual's triage questions."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="incident_open.cancel"),
        Binding("y", "answer(True)", "Yes", id="incident_open.yes"),
        Binding("n", "answer(False)", "No", id="incident_open.no"),
        Binding("b", "back", "Back", id="incident_open.back"),
        Binding("f2", "declare", "Declare", id="incident_open.declare"),
        # Priority: moves the focus before the keys typed after Enter are delivered, so
        # "title<Enter>summary<Enter>" arriving in one SSH packet lands in the right fields.
        Binding("enter", "next_field", "Next", show=False, priority=True, id="incident_open.next_field"),
    ]

    def __init__(self, sources: list[tuple[str, Prefill]] | None = None, prefill: Prefill | None = None) -> None:
        super().__init__()
        self._sources = sources or []
        self._prefill = prefill
        self._answers: dict[str, bool] = {}
        self._order: list[str] = []  # answer order, for "back"
        self._step = "src" if self._sources and prefill is None else "details"
        self._chosen: Severity | None = None

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="inc-open", classes="inc-dialog") as box:
            box.border_title = "Declare an incident"
            yield Static(id="inc-open-hint", classes="inc-hint")
            with ContentSwitcher(initial=self._step, id="inc-open-steps"):
                with Vertical(id="src"):
                    options = [Option(Content("Blank incident (no evidence)"), id="blank")]
                    for n, (label, _) in enumerate(self._sources):
                        options.append(Option(Content(safe_text(label, 120)), id=f"s{n}"))
                    yield OptionList(*options, id="inc-open-src")
                with Vertical(id="details"):
                    # Labels stay when a field is filled (a placeholder does not); no select-on-focus,
                    # so the first key typed edits a pre-filled title instead of replacing it.
                    yield Label("Title", classes="inc-label")
                    yield Input(placeholder="one line saying what is wrong", id="inc-open-title", max_length=200, select_on_focus=False)
                    yield Label("Summary (optional)", classes="inc-label")
                    yield Input(placeholder="what is known so far", id="inc-open-summary", select_on_focus=False)
                    yield Label("Components (optional, comma separated)", classes="inc-label")
                    yield Input(placeholder="e.g. Database, REST", id="inc-open-components", select_on_focus=False)
                with Vertical(id="questions"):
                    yield QuestionBox(id="inc-open-question")
                    yield Static(id="inc-open-answers", classes="inc-muted")
                with Vertical(id="decide"):
                    yield Static(id="inc-open-proposal")
                    yield OptionList(id="inc-open-severity")
                    yield Label("Reason (required when overriding the proposal)", classes="inc-label")
                    yield Input(placeholder="why this severity", id="inc-open-reason", max_length=2000, select_on_focus=False)
            yield Static(id="inc-open-error", classes="inc-error")

    def on_mount(self) -> None:
        if self._prefill is not None:
            self._apply_prefill(self._prefill)
        self._show(self._step)

    # ------------------------------------------------------------ steps

    def _show(self, step: str) -> None:
        self._step = step
        self.query_one("#inc-open-steps", ContentSwitcher).current = step
        self._error("")
        hint = {
            "src": "Start from live evidence (↑↓ Enter) or a blank incident. Esc cancels.",
            "details": "Enter moves on. Esc cancels.",
            "questions": "Answer y / n (b goes back). The first yes settles the class.",
            "decide": "Pick the severity (↑↓ Enter); overriding the proposal needs a reason. F2 declares.",
        }[step]
        self.query_one("#inc-open-hint", Static).update(Content(hint))
        # set_focus, not focus(): at once, so keys already on their way go to the new step.
        if step == "src":
            self.set_focus(self.query_one("#inc-open-src", OptionList))
        elif step == "details":
            self.set_focus(self.query_one("#inc-open-title", Input))
        elif step == "questions":
            if not remaining_questions(self._answers):
                self._show("decide")
                return
            self._render_question()
            self.set_focus(self.query_one(QuestionBox))
        elif step == "decide":
            self._render_decide()
            self.set_focus(self.query_one("#inc-open-severity", OptionList))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("answer", "back"):
            return self._step == "questions" or (action == "back" and self._step == "decide")
        if action == "declare":
            return self._step == "decide"
        if action == "next_field":
            return self._step == "details" and self.focused in self._detail_fields()
        return True

    def _detail_fields(self) -> list[Input]:
        return [self.query_one(f"#inc-open-{name}", Input) for name in ("title", "summary", "components")]

    def action_next_field(self) -> None:
        """Enter in the details: next field, then the questions."""
        fields = self._detail_fields()
        left = self.focused
        if not isinstance(left, Input) or left not in fields:
            return
        index = fields.index(left)
        if index + 1 < len(fields):
            self.set_focus(fields[index + 1])
        else:
            self._show("questions")
        # Checked after the keys already sent to that field are in it (its own queue runs first).
        left.call_later(self._require_title)

    def _require_title(self) -> None:
        title = self.query_one("#inc-open-title", Input)
        if not title.value.strip() and self._step in ("details", "questions", "decide"):
            if self._step != "details":
                self._show("details")
            self.set_focus(title)
            self._error("a title is required")

    def _apply_prefill(self, prefill: Prefill) -> None:
        self._prefill = prefill
        self.query_one("#inc-open-title", Input).value = safe_text(prefill.title, 200)
        self.query_one("#inc-open-summary", Input).value = safe_text(prefill.summary, 2000)
        self.query_one("#inc-open-components", Input).value = ", ".join(prefill.components)
        for field_input in self._detail_fields():
            field_input.cursor_position = len(field_input.value)  # at the end: typing adds to it
        # Pre-filled answers stand for "yes"; the rest are asked unless settled.
        self._answers = dict(prefill.answers)
        self._order = list(prefill.answers)

    @on(OptionList.OptionSelected, "#inc-open-src")
    def _source_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id and event.option_id != "blank":
            self._apply_prefill(self._sources[int(event.option_id[1:])][1])
        self._show("details")

    @on(Input.Submitted, "#inc-open-title, #inc-open-summary, #inc-open-components")
    def _details_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.query_one("#inc-open-title", Input).value.strip():
            self._error("a title is required")
            self.query_one("#inc-open-title", Input).focus()
            return
        if event.input.id == "inc-open-title":
            self.query_one("#inc-open-summary", Input).focus()
        elif event.input.id == "inc-open-summary":
            self.query_one("#inc-open-components", Input).focus()
        else:
            self._show("questions")

    def _render_question(self) -> None:
        q = remaining_questions(self._answers)[0]
        text = Content.assemble((f" {q.severity.value} ", f"bold $background on {_SEV_VAR[q.severity]}"), " ", q.question)
        self.query_one(QuestionBox).update(text)
        # An answer the evidence gave says so: a "yes" above the question asked is not the operator's.
        answered = [f"{'yes' if v else 'no '}  {CRITERION_BY_ID[k].label}{'  (from the evidence)' if self._by_evidence(k) else ''}"
                    for k, v in self._answers.items()]
        answered = answered[-5:]
        proposal = propose(self._answers)
        if proposal.because:
            answered.insert(0, f"So far {proposal.severity.value}; a yes here raises it, no keeps it.")
        self.query_one("#inc-open-answers", Static).update(Content("\n".join(answered)))

    def _by_evidence(self, criterion_id: str) -> bool:
        """The answer is still the one the evidence pre-filled (not given or changed by the operator)."""
        prefill = self._prefill
        return prefill is not None and prefill.answers.get(criterion_id) == self._answers.get(criterion_id) \
            and criterion_id in prefill.answers

    def action_answer(self, yes: bool) -> None:
        questions = remaining_questions(self._answers)
        if not questions:
            return
        q = questions[0]
        self._answers[q.id] = yes
        self._order.append(q.id)
        self._show("questions")

    def action_back(self) -> None:
        if self._step == "decide":
            if self._order:
                self._answers.pop(self._order.pop(), None)
            self._show("questions")
        elif self._order:
            self._answers.pop(self._order.pop(), None)
            self._show("questions")
        else:
            self._show("details")

    def _render_decide(self) -> None:
        proposal = propose(self._answers)
        # "From evidence" only when the evidence's answer settled it, not the operator's own yes.
        source = " (pre-filled from evidence)" if any(self._by_evidence(c.id) for c in proposal.because) else ""
        self.query_one("#inc-open-proposal", Static).update(Content.assemble(
            "Proposed: ", (f" {proposal.severity.value} ", f"bold $background on {_SEV_VAR[proposal.severity]}"),
            " ", proposal.explain().split(": ", 1)[1] + source,
        ))
        sev_list = self.query_one("#inc-open-severity", OptionList)
        sev_list.clear_options()
        for sev in Severity:
            policy = POLICIES[sev]
            mark = "  ← proposed" if sev is proposal.severity else ""
            sev_list.add_option(Option(Content(f"{policy.label:<12} respond {policy.response_label}{mark}"), id=sev.value))
        chosen = self._chosen or proposal.severity
        sev_list.highlighted = list(Severity).index(chosen)

    @on(OptionList.OptionHighlighted, "#inc-open-severity")
    def _severity_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id:
            self._chosen = Severity(event.option_id)

    @on(OptionList.OptionSelected, "#inc-open-severity")
    def _severity_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._chosen = Severity(event.option_id or "P3")
        if self._chosen is not propose(self._answers).severity and not self.query_one("#inc-open-reason", Input).value.strip():
            self._error(f"{self._chosen.value} overrides the proposal: give a reason, then Enter")
            self.query_one("#inc-open-reason", Input).focus()
            return
        self.action_declare()

    @on(Input.Submitted, "#inc-open-reason")
    def _reason_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_declare()

    def action_declare(self) -> None:
        title = self.query_one("#inc-open-title", Input).value.strip()
        if not title:
            self._show("details")
            self._error("a title is required")
            return
        proposal = propose(self._answers)
        chosen = self._chosen or proposal.severity
        reason = self.query_one("#inc-open-reason", Input).value.strip()
        if chosen is not proposal.severity and not reason:
            self._error(f"{chosen.value} overrides the proposed {proposal.severity.value}: a reason is required")
            self.query_one("#inc-open-reason", Input).focus()
            return
        components = [c.strip() for c in self.query_one("#inc-open-components", Input).value.split(",") if c.strip()]
        self.dismiss(OpenDraft(
            title=title, summary=self.query_one("#inc-open-summary", Input).value.strip(), components=components,
            answers=dict(self._answers), severity=chosen, reason=reason if chosen is not proposal.severity else "",
            prefill=self._prefill,
        ))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _error(self, text: str) -> None:
        self.query_one("#inc-open-error", Static).update(Content(text))


_SEV_VAR = {Severity.P0: "$error", Severity.P1: "$warning", Severity.P2: "$primary", Severity.P3: "$secondary"}
