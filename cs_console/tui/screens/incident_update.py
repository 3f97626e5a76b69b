"""Stakeholder update: the severity's template filled from the incident, editable,
then copied to the clipboard (OSC 52, works over SSH) or posted to the webhook.
Either way it is recorded on the timeline and restarts the update timer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea


class IncidentUpdateScreen(ModalScreen[tuple[str, str] | None]):
    """Send a stakeholder update: F2 copy, F3 post to the webhook, Esc cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="incident_update.cancel"),
        Binding("f2", "send('copy')", "Copy + record", id="incident_update.copy"),
        Binding("f3", "send('post')", "Post to webhook", id="incident_update.post"),
    ]

    def __init__(self, ref: str, template: str, webhook: bool) -> None:
        super().__init__()
        self._ref = ref
        self._template = template
        self._webhook = webhook

    def compose(self) -> ComposeResult:
        with Vertical(classes="inc-dialog", id="inc-update") as box:
            box.border_title = f"{self._ref}: stakeholder update"
            yield TextArea(self._template, id="inc-update-text", soft_wrap=True, show_line_numbers=False)
            hint = "F2 copies it (OSC 52) and records it."
            hint += " F3 posts it to the webhook." if self._webhook else " No webhook configured (webhook_url_env)."
            yield Static(Content(hint + " Esc cancels."), classes="inc-hint")
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send" and parameters and parameters[0] == "post":
            return self._webhook
        return True

    def action_send(self, how: str) -> None:
        body = self.query_one(TextArea).text.strip()
        if not body:
            self.query_one(".inc-error", Static).update(Content("the update is empty"))
            return
        self.dismiss((how, body + "\n"))

    def action_cancel(self) -> None:
        self.dismiss(None)
