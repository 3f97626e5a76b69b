"""Write the blameless post-mortem (or waive it with a reason) from the console.

Action items are one per line: `what to do @ owner @ due` (due optional). F2
saves; a P0/P1 incident closes only once impact, root cause and owned action
items are there, or a waiver reason is recorded.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from cs_console.domain.incidents.model import Incident
from cs_console.domain.incidents.postmortem import TEXT_FIELDS

_LABELS = {
    "summary": "Summary", "impact": "Impact (who, what they saw, how many)", "detection": "Detection",
    "root_cause": "Root cause", "contributing_factors": "Contributing factors",
    "what_went_well": "What went well", "what_went_poorly": "What went poorly",
}


def parse_action_items(text: str) -> list[dict[str, str]]:
    """`text @ owner @ due` per line; blank lines ignored."""
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("@")]
        items.append({"text": parts[0], "owner": parts[1] if len(parts) > 1 else "", "due": parts[2] if len(parts) > 2 else ""})
    return items


def format_action_items(items: list[dict[str, Any]]) -> str:
    return "\n".join(" @ ".join(x for x in (i.get("text", ""), i.get("owner", ""), i.get("due", "")) if x) for i in items)


class IncidentPostmortemScreen(ModalScreen[dict[str, Any] | None]):
    """Post-mortem: F2 saves, Esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="incident_postmortem.cancel"),
        Binding("f2", "save", "Save", id="incident_postmortem.save"),
    ]

    def __init__(self, inc: Incident) -> None:
        super().__init__()
        self._inc = inc
        self._shown: dict[str, str] = {}  # what each field showed when opened

    def compose(self) -> ComposeResult:
        pm = self._inc.postmortem
        with VerticalScroll(classes="inc-dialog", id="inc-pm") as box:
            box.border_title = f"{self._inc.ref}: post-mortem (blameless)"
            yield Static(Content("Systems and decisions, not people. F2 saves, Esc cancels."), classes="inc-hint")
            for name in TEXT_FIELDS:
                yield Label(Content(_LABELS[name]))
                text = str(pm.get(name, ""))
                if name == "summary" and not text.strip():
                    text = self._inc.summary  # the incident's own summary is the starting point
                self._shown[name] = text.strip()
                yield TextArea(text, id=f"pm-{name}", classes="pm-field", soft_wrap=True)
            yield Label(Content("Action items, one per line: what @ owner @ due"))
            yield TextArea(format_action_items(list(pm.get("action_items") or [])), id="pm-actions", classes="pm-field", soft_wrap=True)
            yield Label(Content("Or waive the post-mortem (reason, recorded):"))
            yield Input(value=self._inc.postmortem_waiver, id="pm-waiver", max_length=2000)
            yield Static(classes="inc-error")

    def on_mount(self) -> None:
        self.query_one("#pm-impact", TextArea).focus()

    def action_save(self) -> None:
        fields: dict[str, Any] = {}
        pm = self._inc.postmortem
        for name in TEXT_FIELDS:
            value = self.query_one(f"#pm-{name}", TextArea).text.strip()
            if value != self._shown.get(name, str(pm.get(name, "")).strip()):
                fields[name] = value
        items = parse_action_items(self.query_one("#pm-actions", TextArea).text)
        if items != list(pm.get("action_items") or []):
            fields["action_items"] = items
        waiver = self.query_one("#pm-waiver", Input).value.strip()
        result: dict[str, Any] = {"fields": fields}
        if waiver and waiver != self._inc.postmortem_waiver:
            result["waiver"] = waiver
        if not fields and "waiver" not in result:
            self.query_one(".inc-error", Static).update(Content("nothing changed"))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
