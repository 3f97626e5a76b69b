"""Rejecting another engineer's approval request: what they asked to run, and a reason (required)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from cs_console.domain.runbooks.approval import ApprovalRequest, who
from cs_console.domain.safe_text import safe_text


class RejectApprovalScreen(ModalScreen[str | None]):
    """Returns the reason, or None (Esc, Cancel). Enter in the reason only moves to Reject: rejecting is a button press."""

    AUTO_FOCUS = "#rj-reason"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="runbook_reject.cancel")]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="rj-box", classes="rb-dialog") as box:
            box.border_title = "Reject an approval request"
            yield Static(Content(safe_text(f"{who(r.requested_by)} asks to run {r.runbook_id}/{r.step_id} on {r.target}", 300)))
            yield Static(Content("\n".join(safe_text(line, 300) for line in r.what.splitlines()[:40])), id="rj-what")
            yield Input(placeholder="why (the runner reads it)", id="rj-reason")
            with Horizontal(id="rbs-buttons"):
                yield Button("Cancel", id="rj-cancel", variant="primary")
                yield Button("Reject", id="rj-reject", variant="error", disabled=True)

    @on(Input.Changed, "#rj-reason")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#rj-reject", Button).disabled = not event.value.strip()

    @on(Input.Submitted, "#rj-reason")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.query_one("#rj-reject", Button).focus()

    @on(Button.Pressed, "#rj-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#rj-reject")
    def _reject(self, event: Button.Pressed) -> None:
        event.stop()
        reason = self.query_one("#rj-reason", Input).value.strip()
        if reason:
            self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
