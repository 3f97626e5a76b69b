"""The typed confirmation before a destructive or irreversible runbook step.

It opens with Cancel focused, so Enter alone (or a key-repeat) never destroys.
It shows exactly what will run (as the engine rendered it, secrets already
redacted), the target, the environment (PRODUCTION stands out), the preview
(the backends, rows or backup concerned) and the phrase to type. The Confirm
button stays disabled until the typed text matches the phrase; Enter in the
input only moves the focus to Confirm, so confirming is always a separate,
deliberate key press on a button that says what it does.

The dialog returns the :class:`Confirmation` built by the gate from what was
typed, or None. It is a convenience, not the guard: the engine re-checks the
confirmation against the gate it computes at execution time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from cs_console.domain.runbooks.guard import Confirmation, Gate, phrase_matches
from cs_console.domain.safe_text import safe_text


@dataclass(frozen=True)
class ConfirmRequest:
    """Everything the dialog shows; texts are already redacted by the engine."""

    gate: Gate
    what_will_run: str
    environment: str
    production: bool = False
    facts: list[tuple[str, str]] = field(default_factory=list)  # confirm.show expressions and their values
    preview: str = ""  # the preview's output (e.g. the backends to terminate)
    rollback: str = ""
    action_label: str = ""  # the Confirm button's verb, e.g. "Terminate"


def _lines(text: str, limit: int = 400) -> Content:
    """Untrusted multi-line text, literally: each line made safe, never markup."""
    shown = [safe_text(line, 400) for line in text.splitlines()[:limit]]
    if len(text.splitlines()) > limit:
        shown.append(f"… {len(text.splitlines()) - limit} more lines")
    return Content("\n".join(shown))


class ConfirmDestructiveScreen(ModalScreen[Confirmation | None]):
    """Typed confirmation of a destructive step: Esc cancels; Enter on Cancel cancels."""

    AUTO_FOCUS = "#cd-cancel"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm_destructive.cancel"),
        Binding("f2", "focus_phrase", "Type the phrase", id="confirm_destructive.phrase"),
        # A stray q must not quit the console in the middle of a confirmation (Esc cancels it).
        Binding("q", "stay", "Stay", show=False, id="confirm_destructive.no_quit"),
    ]

    def __init__(self, request: ConfirmRequest) -> None:
        super().__init__()
        self.request = request

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        r = self.request
        gate = r.gate
        with Vertical(id="cd-box", classes=f"cd-{gate.risk.value}") as box:
            box.border_title = f"{gate.risk.value.upper()}: {safe_text(gate.title or gate.step_id, 60)}"
            with Horizontal(id="cd-where"):
                env = Static(Content(f" {r.environment.upper()} "), id="cd-env")
                env.add_class("cd-env-production" if r.production else "cd-env-other")
                yield env
                yield Static(Content(safe_text(gate.target, 200)), id="cd-target")
            with VerticalScroll(id="cd-body"):
                yield Static(Content("What will run"), classes="cd-label")
                yield Static(_lines(r.what_will_run), id="cd-what")
                if r.facts:
                    yield Static(Content("Facts"), classes="cd-label")
                    yield Static(Content("\n".join(f"{safe_text(k, 60)}: {safe_text(v, 200)}" for k, v in r.facts)), id="cd-facts")
                if r.preview.strip():
                    yield Static(Content("Preview (what it will act on)"), classes="cd-label")
                    yield Static(_lines(r.preview, 60), id="cd-preview")
                if r.rollback:
                    yield Static(Content("Undo"), classes="cd-label")
                    yield Static(Content(safe_text(r.rollback, 600)), id="cd-rollback")
            yield Static(self._prompt_text(), id="cd-prompt")
            yield Input(placeholder="type the phrase exactly", id="cd-input", select_on_focus=False)
            yield Static(Content(""), id="cd-match")
            with Horizontal(id="cd-buttons"):
                yield Button("Cancel", id="cd-cancel", variant="primary")
                yield Button(self._confirm_label(), id="cd-confirm", variant="error", disabled=True)

    def _prompt_text(self) -> Content:
        phrase = self.request.gate.phrase
        if not phrase.strip():
            return Content("The target could not be determined: this step cannot be confirmed.")
        return Content.assemble("To confirm, type ", (safe_text(phrase, 200), "bold"), " (exactly; Esc cancels)")

    def _confirm_label(self) -> str:
        verb = self.request.action_label or self.request.gate.risk.value.capitalize()
        if not self.request.gate.phrase.strip():
            return verb
        label = safe_text(f"{verb}: {self.request.gate.phrase}", None)
        return label if len(label) <= 36 else label[:35] + "…"

    # ------------------------------------------------------------ behaviour

    @property
    def typed(self) -> str:
        return self.query_one("#cd-input", Input).value

    def matches(self) -> bool:
        return phrase_matches(self.request.gate.phrase, self.typed)

    @on(Input.Changed, "#cd-input")
    def _typed_changed(self) -> None:
        ok = self.matches()
        button = self.query_one("#cd-confirm", Button)
        button.disabled = not ok
        hint = self.query_one("#cd-match", Static)
        if not self.typed:
            hint.update(Content(""))
        elif ok:
            hint.update(Content("✓ matches: Tab or Enter to reach the button"))
        else:
            hint.update(Content("✗ does not match yet"))
        hint.set_class(ok, "-ok")

    @on(Input.Submitted, "#cd-input")
    def _submitted(self, event: Input.Submitted) -> None:
        # Enter never confirms: at most it moves to the (enabled) Confirm button.
        event.stop()
        if self.matches():
            self.query_one("#cd-confirm", Button).focus()
        else:
            self.app.bell()

    @on(Button.Pressed, "#cd-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#cd-confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        # Re-checked here against the text as it is now (the button could be stale for a frame).
        if not self.matches():
            self.query_one("#cd-confirm", Button).disabled = True
            return
        self.dismiss(self.request.gate.confirm(self.typed))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_stay(self) -> None:
        self.notify("Esc cancels the confirmation; q does not quit from here", timeout=2)

    def action_focus_phrase(self) -> None:
        self.query_one("#cd-input", Input).focus()
