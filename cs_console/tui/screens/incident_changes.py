"""Small dialogs that change an incident: status, severity, note, role.

Each returns what the operator chose; the service validates it again (the
workflow is the guard, not these dialogs), so a dialog only helps: it lists
the allowed statuses and insists on a reason where one is required.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.incidents.model import Incident, Role
from cs_console.domain.incidents.severity import POLICIES, Severity
from cs_console.domain.incidents.status import Status, allowed_next
from cs_console.domain.safe_text import safe_text

_STATUS_HELP = {
    Status.INVESTIGATING: "looking for the cause",
    Status.IDENTIFIED: "cause known, fix in progress",
    Status.MITIGATED: "impact stopped, permanent fix pending",
    Status.RESOLVED: "fixed and verified",
    Status.POSTMORTEM: "post-mortem under way",
    Status.CLOSED: "done (P0/P1: post-mortem or waiver first)",
    Status.DECLINED: "not an incident (reason required)",
    Status.MERGED: "duplicate of another incident",
}


class _Dialog(ModalScreen):
    """Shared frame: title, body, an error line, Esc to cancel."""

    def _error(self, text: str) -> None:
        self.query_one(".inc-error", Static).update(Content(text))

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class StatusChoice:
    status: Status
    reason: str
    merge_into: str


class IncidentStatusScreen(_Dialog):
    """Move the incident along its workflow."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="incident_status.cancel")]

    def __init__(self, inc: Incident) -> None:
        super().__init__()
        self._inc = inc
        reopen = inc.status in (Status.RESOLVED, Status.POSTMORTEM)
        self._choices = [s for s in Status if s in allowed_next(inc.status)]
        self._labels = {s: ("reopen (within 72 h)" if reopen and s is Status.INVESTIGATING else _STATUS_HELP.get(s, "")) for s in self._choices}
        self._chosen: Status | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog") as box:
            box.border_title = f"{self._inc.ref}: status (now {self._inc.status.value})"
            if not self._choices:
                yield Static(Content(f"{self._inc.status.value} is final: no further status."))
            yield OptionList(*[Option(Content(f"{s.value:<14} {self._labels[s]}"), id=s.value) for s in self._choices], id="inc-status-list")
            yield Input(placeholder="Reason (optional; required to decline)", id="inc-status-reason", max_length=2000)
            yield Input(placeholder="Duplicate of (INC-YYYY-NNNN)", id="inc-status-into", classes="-hidden")
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        self.query_one("#inc-status-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#inc-status-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._chosen = Status(event.option_id or "")
        into = self.query_one("#inc-status-into", Input)
        into.set_class(self._chosen is not Status.MERGED, "-hidden")
        if self._chosen is Status.MERGED:
            into.focus()
        elif self._chosen is Status.DECLINED:
            self.query_one("#inc-status-reason", Input).focus()
        else:
            self._finish()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish()

    def _finish(self) -> None:
        if self._chosen is None:
            self._error("pick a status first (↑↓ Enter)")
            self.query_one("#inc-status-list", OptionList).focus()
            return
        reason = self.query_one("#inc-status-reason", Input).value.strip()
        into = self.query_one("#inc-status-into", Input).value.strip()
        if self._chosen is Status.DECLINED and not reason:
            self._error("declining needs a reason")
            self.query_one("#inc-status-reason", Input).focus()
            return
        if self._chosen is Status.MERGED and not into:
            self._error("merging needs the incident this one duplicates")
            self.query_one("#inc-status-into", Input).focus()
            return
        self.dismiss(StatusChoice(self._chosen, reason, into))


class IncidentSeverityScreen(_Dialog):
    """Change the severity: the timers re-base, the reason is recorded."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="incident_severity.cancel")]

    def __init__(self, inc: Incident) -> None:
        super().__init__()
        self._inc = inc
        self._chosen: Severity | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog") as box:
            box.border_title = f"{self._inc.ref}: severity (now {self._inc.severity.value})"
            options = []
            for sev in Severity:
                policy = POLICIES[sev]
                now = "  (current)" if sev is self._inc.severity else ""
                options.append(Option(Content(f"{policy.label:<12} respond {policy.response_label}: {', '.join(policy.criteria)}{now}"), id=sev.value))
            yield OptionList(*options, id="inc-sev-list")
            yield Input(placeholder="Reason for the change (required)", id="inc-sev-reason", max_length=2000)
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        sev_list = self.query_one("#inc-sev-list", OptionList)
        sev_list.highlighted = list(Severity).index(self._inc.severity)
        sev_list.focus()

    @on(OptionList.OptionSelected, "#inc-sev-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._chosen = Severity(event.option_id or "P3")
        if self._chosen is self._inc.severity:
            self._error(f"already {self._chosen.value}")
            return
        self._error("")
        self.query_one("#inc-sev-reason", Input).focus()

    @on(Input.Submitted, "#inc-sev-reason")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if self._chosen is None or self._chosen is self._inc.severity:
            self._error("pick a different severity first (↑↓ Enter)")
            self.query_one("#inc-sev-list", OptionList).focus()
        elif not reason:
            self._error("a reason is required")
        else:
            self.dismiss((self._chosen, reason))


class PinBox(Checkbox, inherit_bindings=False):
    """A checkbox that Space toggles and Enter leaves to the dialog (Enter adds the note:
    with the stock Checkbox, Enter after ticking "pin" unticked it again)."""

    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False, id="incident_note.pin_toggle")]


class IncidentNoteScreen(_Dialog):
    """Add a note to the timeline (any responder)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="incident_note.cancel"),
        Binding("enter", "add", "Add", show=False, id="incident_note.add"),
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self._ref = ref

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog") as box:
            box.border_title = f"{self._ref}: note"
            yield Input(placeholder="What happened, what you saw, what you decided", id="inc-note-text", max_length=20_000)
            yield PinBox("Pin to the post-mortem timeline", id="inc-note-pin")
            yield Static(Content("Enter adds the note. Tab, Space pins it. Esc cancels."), classes="inc-hint")
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        self.query_one("#inc-note-text", Input).focus()

    @on(Input.Submitted, "#inc-note-text")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_add()

    def action_add(self) -> None:
        text = self.query_one("#inc-note-text", Input).value.strip()
        if not text:
            self._error("the note is empty")
            self.query_one("#inc-note-text", Input).focus()
            return
        self.dismiss((text, self.query_one("#inc-note-pin", PinBox).value))


class IncidentRoleScreen(_Dialog):
    """Assign the commander, scribe or communications role (empty clears it)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="incident_role.cancel")]

    def __init__(self, inc: Incident) -> None:
        super().__init__()
        self._inc = inc
        self._role: Role | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog") as box:
            box.border_title = f"{self._inc.ref}: roles"
            yield OptionList(*[
                Option(Content(f"{r.value:<15} {safe_text(p, 40) or '—'}"), id=r.value) for r, p in self._inc.roles.items()
            ], id="inc-role-list")
            yield Input(placeholder="Person (empty to clear)", id="inc-role-person", max_length=100)
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        self.query_one("#inc-role-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#inc-role-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._role = Role(event.option_id or "commander")
        person = self.query_one("#inc-role-person", Input)
        person.value = self._inc.roles[self._role]
        person.focus()

    @on(Input.Submitted, "#inc-role-person")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._role is None:
            self._error("pick a role first (↑↓ Enter)")
            self.query_one("#inc-role-list", OptionList).focus()
            return
        self.dismiss((self._role, event.value.strip()))
