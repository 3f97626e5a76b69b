"""v on an alert in the Overview: the alert in full (a narrow screen cuts its detail)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from cs_console.domain.alerts import Alert, metric_value_text
from cs_console.domain.safe_text import safe_text


def alert_text(alert: Alert) -> str:
    lines = [
        f"{alert.alert_class.value.upper()} · {'resolved' if alert.resolved_at else 'ACTIVE'} · {alert.title}",
        "",
        alert.detail,
        "",
        f"raised   {alert.at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if alert.resolved_at:
        lines.append(f"resolved {alert.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    if alert.metric:
        lines.append(f"metric   {alert.metric}")
        if alert.value is not None:
            now = "last value" if alert.resolved_at else "value now"
            lines.append(f"{now} {metric_value_text(alert.value, alert.metric)}"
                         f" (at onset {metric_value_text(alert.value_at_onset, alert.metric)})")
    lines.append(f"rule     {alert.rule} ({alert.id})")
    return "\n".join(safe_text(line, 2000) for line in lines)


class AlertDetailScreen(ModalScreen[None]):
    """An alert in full."""

    BINDINGS = [
        Binding("escape,enter,v", "close", "Close", id="alert_detail.close"),
    ]
    DEFAULT_CSS = """
    AlertDetailScreen { align: center middle; }
    AlertDetailScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        background: $surface; border: round $primary; padding: 1 2;
    }
    """

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content(alert_text(self.alert)))
            yield Static(Content.styled("Esc closes · i in the Overview opens an incident from it", "$text-muted"))

    def action_close(self) -> None:
        self.dismiss(None)
