"""Starting a runbook (its inputs, the incident to link, dry run) and resuming a cut-off run.

Nothing runs from these dialogs: they only collect what the wizard needs to
start or resume a run. Inputs are validated here with the runbook's own rules
(the engine validates them again), so a typo is one line under the form, not
a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from cs_console.domain.runbooks.inputs import InputError, resolve_inputs
from cs_console.domain.runbooks.schema import InputType, Runbook
from cs_console.domain.safe_text import safe_text
from cs_console.services.runbooks.input_suggestions import Suggested
from cs_console.services.runbooks.runs import InterruptedRun

NO_INCIDENT = "__none__"


@dataclass
class StartRequest:
    runbook: Runbook
    inputs: dict[str, Any] = field(default_factory=dict)
    incident_ref: str | None = None
    dry_run: bool = False


@dataclass
class ResumeRequest:
    runbook: Runbook
    run_id: str
    changed_confirmation: Any = None  # a Confirmation of the changed-runbook gate, when needed
    takeover_confirmation: Any = None  # a Confirmation of the take-over gate (a team run another engineer owned)


@dataclass
class WizardRequest:
    """How the wizard is opened: a new run, or the resumption of one."""

    start: StartRequest | None = None
    resume: ResumeRequest | None = None

    @property
    def runbook(self) -> Runbook:
        return self.start.runbook if self.start else self.resume.runbook  # type: ignore[union-attr]


def _input_label(spec: Any) -> str:
    kind = spec.type.value if spec.type is not InputType.STRING else ""
    bits = [spec.prompt or spec.name]
    if kind:
        bits.append(f"[{kind}]")
    if not spec.required:
        bits.append("(optional)")
    return " ".join(bits)


class RunbookStartScreen(ModalScreen[StartRequest | None]):
    """Start a runbook: inputs, incident link, dry run. Esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="runbook_start.cancel"),
        Binding("f2", "start", "Start", id="runbook_start.start"),
    ]

    def __init__(self, runbook: Runbook, *, dry_run: bool = False, incidents: list[tuple[str, str]] | None = None,
                 incident_ref: str | None = None, window_message: str = "", values: dict[str, str] | None = None,
                 suggestions: dict[str, Suggested] | None = None) -> None:
        """values: inputs pre-filled (a drill-down from the Overview), over the suggestions
        (`[inputs.suggest]`, read from the console now), over the defaults."""
        super().__init__()
        self.runbook = runbook
        self._values = values or {}
        self._suggestions = {name: s for name, s in (suggestions or {}).items() if s.value is not None}
        self._dry_run = dry_run
        self._incidents = incidents or []
        self._incident_ref = incident_ref
        self._window_message = window_message

    def compose(self) -> ComposeResult:
        rb = self.runbook
        with Vertical(id="rbs-box", classes="rb-dialog") as box:
            box.border_title = safe_text(f"Start: {rb.title}", 70)
            with VerticalScroll(id="rbs-body"):
                if rb.summary:
                    yield Static(Content(safe_text(" ".join(rb.summary.split()), 1000)), classes="rbs-summary")
                if self._window_message:
                    yield Static(Content(safe_text(self._window_message, 300)), classes="rbs-window")
                for spec in rb.inputs:
                    yield Static(Content(safe_text(_input_label(spec), 200)), classes="rbs-label")
                    fixed = "" if spec.default is None else str(spec.default)
                    suggested = self._suggestions.get(spec.name)
                    default = self._values.get(spec.name, suggested.value if suggested else fixed)
                    yield Input(value=default, placeholder=spec.help or spec.name, id=f"rbs-in-{spec.name}",
                                classes="rbs-input", select_on_focus=False)
                    if suggested and spec.name not in self._values:
                        note = f"suggested {suggested.value}" + (f" (default {fixed})" if fixed else "") + f": {suggested.why}"
                        yield Static(Content(safe_text(note, 300)), classes="rbs-suggest", id=f"rbs-suggest-{spec.name}")
                    if spec.help:
                        yield Static(Content(safe_text(spec.help, 300)), classes="rbs-help")
                yield Static(Content("Link to the incident (its timeline receives every step)"), classes="rbs-label")
                options: list[tuple[str, str]] = [("(no incident)", NO_INCIDENT)]
                options += [(safe_text(f"{ref}  {title}", 70), ref) for ref, title in self._incidents]
                initial = self._incident_ref if any(ref == self._incident_ref for _, ref in options) else NO_INCIDENT
                yield Select(options, value=initial, allow_blank=False, id="rbs-incident")
                yield Checkbox("Dry run (read-only checks run; nothing changes)", value=self._dry_run, id="rbs-dry")
            yield Static(Content(""), id="rbs-error")
            with Horizontal(id="rbs-buttons"):
                yield Button("Cancel", id="rbs-cancel")
                yield Button("Start (F2)", id="rbs-start", variant="primary")

    def on_mount(self) -> None:
        first = self.query(".rbs-input")
        if first:
            first.first().focus()
        else:
            self.query_one("#rbs-start", Button).focus()

    def collect(self) -> StartRequest:
        """The request from the form; raises InputError with what was expected."""
        given: dict[str, Any] = {}
        for spec in self.runbook.inputs:
            value = self.query_one(f"#rbs-in-{spec.name}", Input).value
            # An optional input left empty takes its default (or none).
            if value.strip() or spec.required:
                given[spec.name] = value
        resolve_inputs(self.runbook.inputs, given)
        incident = self.query_one("#rbs-incident", Select).value
        ref = None if incident in (NO_INCIDENT, Select.BLANK) else str(incident)
        return StartRequest(self.runbook, given, ref, self.query_one("#rbs-dry", Checkbox).value)

    def action_start(self) -> None:
        try:
            request = self.collect()
        except InputError as exc:
            self.query_one("#rbs-error", Static).update(Content(safe_text(str(exc), 200)))
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#rbs-start")
    def _start_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    @on(Button.Pressed, "#rbs-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()


class ResumeOfferScreen(ModalScreen[str | None]):
    """Interrupted runs: Enter resumes the highlighted one, Esc leaves them for later."""

    BINDINGS = [
        Binding("escape", "later", "Later", id="runbook_resume.later"),
    ]

    def __init__(self, runs: list[InterruptedRun]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(id="rbr-box", classes="rb-dialog") as box:
            box.border_title = f"{len(self.runs)} interrupted run(s)"
            yield Static(Content("These runs stopped before they finished (a dropped link, a closed console, "
                                 "or a step waiting for you). Resuming continues at the step shown; a step whose "
                                 "outcome is unknown is never re-run by itself."), classes="rbs-summary")
            options = []
            for r in self.runs:
                where = f"at {r.current}" if r.current else "at its end"
                extra = f"; unknown: {', '.join(r.unknown_steps)}" if r.unknown_steps else ""
                changed = "; runbook changed since" if r.changed else ""
                options.append(Option(Content(safe_text(f"{r.title} · {r.status} {where}{extra}{changed} · {r.started_at}", 200)), id=r.run_id))
            yield OptionList(*options, id="rbr-list")
            with Horizontal(id="rbs-buttons"):
                yield Button("Later (Esc)", id="rbr-later")
                yield Button("Resume", id="rbr-resume", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#rbr-list", OptionList).focus()

    def _chosen(self) -> str | None:
        lst = self.query_one("#rbr-list", OptionList)
        if lst.highlighted is None:
            return self.runs[0].run_id if self.runs else None
        return lst.get_option_at_index(lst.highlighted).id

    @on(OptionList.OptionSelected, "#rbr-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#rbr-resume")
    def _resume(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._chosen())

    @on(Button.Pressed, "#rbr-later")
    def _later(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_later(self) -> None:
        self.dismiss(None)
