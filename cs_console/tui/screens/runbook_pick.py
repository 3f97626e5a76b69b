"""Choosing one of several team items: which approval request to review, which run to take over.

The Runbooks pane opens it only when there is more than one to choose from (with one, the
review dialog opens directly). It returns the chosen option's id, or None (Esc, Cancel).
Choosing only picks: approving, rejecting and taking over each have their own dialog after it.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option


class TeamPickScreen(ModalScreen[str | None]):
    """A list of (id, label): Enter or the action button takes the highlighted one; Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="runbook_pick.cancel")]

    def __init__(self, title: str, intro: str, options: list[tuple[str, Content]], *, action_label: str) -> None:
        super().__init__()
        self.title_text = title
        self.intro = intro
        self.choices = options
        self.action_label = action_label

    def compose(self) -> ComposeResult:
        with Vertical(id="rp-box", classes="rb-dialog") as box:
            box.border_title = self.title_text
            yield Static(Content(self.intro), classes="rbs-summary")
            yield OptionList(*(Option(label, id=oid) for oid, label in self.choices), id="rp-list")
            with Horizontal(id="rbs-buttons"):
                yield Button("Cancel (Esc)", id="rp-cancel")
                yield Button(self.action_label, id="rp-choose", variant="primary")

    def on_mount(self) -> None:
        lst = self.query_one("#rp-list", OptionList)
        lst.highlighted = 0
        lst.focus()

    def _highlighted(self) -> str | None:
        lst = self.query_one("#rp-list", OptionList)
        return lst.get_option_at_index(lst.highlighted).id if lst.highlighted is not None else None

    @on(OptionList.OptionSelected, "#rp-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#rp-choose")
    def _choose(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._highlighted())

    @on(Button.Pressed, "#rp-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
