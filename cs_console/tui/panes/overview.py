"""Overview: component health, the manual's daily-review numbers, and the latest alerts.

Every value is its own small widget and is only updated when its text or
state changes, so an idle console sends little to the terminal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.clock import clock_rate, poll_interval
from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.health import COMPONENTS, ComponentHealth, HealthStatus
from cs_console.domain.metric_format import format_value
from cs_console.domain.metrics import METRIC_BY_KEY
from cs_console.domain.safe_text import safe_text
from cs_console.domain.thresholds import THRESHOLD_BY_METRIC, MetricState
from cs_console.tui.pane import Pane

# The manual's Daily Metrics Review, in its order: (metric key, short label).
HEADLINE: tuple[tuple[str, str], ...] = (
    ("db.connections.pct", "DB connections"),
    ("db.query_avg_ms", "Query avg"),
    ("db.error_rate_pct", "DB error rate"),
    ("db.size_bytes", "DB size"),
    ("fn.invocations_per_min", "Fn invocations"),
    ("fn.error_rate_pct", "Fn error rate"),
    ("fn.avg_duration_ms", "Fn avg duration"),
    ("api.requests_per_min", "API requests"),
    ("api.p95_ms", "API p95"),
    ("api.error_rate_pct", "API error rate"),
    ("storage.quota_pct", "Storage quota"),
    ("backup.age_h", "Last backup"),
    ("host.cpu_pct", "CPU"),
    ("host.memory_pct", "Memory"),
)

_HEALTH_STYLE = {
    HealthStatus.HEALTHY: "$success",
    HealthStatus.DEGRADED: "bold $warning",
    HealthStatus.DOWN: "bold $error",
    HealthStatus.UNKNOWN: "$text-muted",
}
_STATE_CLASS = {
    MetricState.OK: "state-ok",
    MetricState.WARNING: "state-warning",
    MetricState.CRITICAL: "state-critical",
    MetricState.UNKNOWN: "state-unknown",
}
_NO_SOURCE = "NO SOURCE"
# Marks beside a headline value in WARNING/CRITICAL: the state must not depend on colour
# alone (NO_COLOR, colour-blind readers, monochrome SSH clients).
_STATE_MARK = {MetricState.WARNING: " ▲", MetricState.CRITICAL: " ✖"}
_ALERT_STYLE = {AlertClass.CRITICAL: "bold $error", AlertClass.WARNING: "bold $warning", AlertClass.INFO: "$primary"}


def _coarse(value: float) -> float:
    """Three significant digits: the Overview is read at a glance, and a value that
    jitters in its fourth digit would repaint (and cost SSH traffic) on every refresh."""
    if value == 0 or abs(value) < 10:
        return value
    from math import floor, log10

    digits = 3 - 1 - floor(log10(abs(value)))
    return round(value, digits) if digits > 0 else float(round(value, digits))


class ValueCell(Static):
    """A value that repaints only when its text or state changes."""

    _key: tuple[str, str] = ("", "")

    def show(self, text: str, css_class: str) -> None:
        if (text, css_class) == self._key:
            return
        self._key = (text, css_class)
        self.update(Content(text))
        self.set_classes(css_class)


# Enter on a component: its logs of the last hour (the source that tells why it is not healthy).
COMPONENT_LOGS: dict[str, str] = {
    "Database": "source=postgres since=1h",
    "Auth": "source=auth since=1h",
    "Edge Functions": "source=function since=1h",
    "REST": "source=edge since=1h",
}
# r on a component: the manual's runbook for it (inputs pre-filled from what the console sees).
COMPONENT_RUNBOOKS: dict[str, str] = {"Database": "db-connection-issues", "Edge Functions": "edge-function-failures"}
_QUIET = {"HEALTHY": "✓ HEALTHY", _NO_SOURCE: "– no source (set project_ref)", "UNKNOWN": "… not checked yet"}


class ComponentRow(Horizontal, can_focus=True):
    """One component: name, status, latency, detail. Focusable: Enter opens its logs.

    The four cells are made here, not in compose(): a row mounted while a health
    report is being shown (the Project row, the platform status) is updated in the
    same call, before Textual would have composed it.
    """

    def __init__(self, name: str) -> None:
        self._name_cell = Static(Content(name), classes="comp-name")
        self._status_cell = Static(Content("…"), classes="comp-status")
        self._latency_cell = Static(Content(""), classes="comp-latency")
        self._detail_cell = Static(Content(""), classes="comp-detail")
        super().__init__(self._name_cell, self._status_cell, self._latency_cell, self._detail_cell, classes="component-row")
        self.component_name = name
        self._last: tuple = ()
        self.status_key = "UNKNOWN"
        self.latency_text = ""

    def show(self, comp: ComponentHealth | None, *, checked: bool = False, problem: str = "") -> None:
        """`checked`: a health check has run, so a missing component has no source (or its probe failed)."""
        if comp is None:
            if not checked:
                key = ("UNKNOWN", "", "not checked yet")
            elif problem:
                key = ("UNKNOWN", "", safe_text(f"not checked: {problem}", 200))
            else:
                key = (_NO_SOURCE, "", "no source for this component in this profile (set project_ref)")
        else:
            latency = f"{comp.latency_ms:,.0f} ms" if comp.latency_ms is not None else ""
            key = (comp.status.value, latency, safe_text(comp.detail, 200))
        if key == self._last:
            return
        if key[0] == _NO_SOURCE:
            self._status_cell.update(Content.styled("– no source", "$text-muted"))
        else:
            status = HealthStatus(key[0])
            self._status_cell.update(Content.assemble((f"{status.glyph} {status.value}", _HEALTH_STYLE[status])))
        self._latency_cell.update(Content(key[1]))
        self._detail_cell.update(Content(key[2]))
        self.status_key, self.latency_text = key[0], key[1]
        # Quiet rows (healthy, no source, not checked yet) fold into one summary line on short terminals.
        self.set_class(key[0] == "HEALTHY" or key[0] == _NO_SOURCE or key[2] == "not checked yet", "-quiet")
        self._last = key  # only once shown: a failed update is retried on the next refresh


class OverviewPane(Pane):
    PANE_ID = "overview"
    TITLE = "Overview"
    KEY = "1"
    HELP = (
        "Health of every component (HEALTHY / DEGRADED / DOWN, with timing), the manual's daily "
        "review numbers coloured by their thresholds, and the latest alerts. Select an alert and "
        "press Enter to open an incident from it. c selects a component: Enter opens its logs of the "
        "last hour, r its runbook with the inputs filled in; Esc comes back."
    )

    BINDINGS = [
        Binding("a", "focus_alerts", "Alerts", id="overview.alerts"),
        Binding("i", "triage_alert", "Incident from alert", id="overview.triage"),
        Binding("v", "view_alert", "Alert in full", show=False, id="overview.view_alert"),
        Binding("c", "focus_components", "Select a component", show=False, id="overview.components"),
        Binding("enter", "component_logs", "Component's logs (1 h)", show=False, id="overview.component_logs"),
        Binding("r", "component_runbook", "Component's runbook", show=False, id="overview.component_runbook"),
        Binding("down", "component_step(1)", "Next component", show=False, id="overview.component_next"),
        Binding("up", "component_step(-1)", "Previous component", show=False, id="overview.component_prev"),
    ]

    DEFAULT_CSS = """
    OverviewPane { layout: vertical; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._alerts_key: tuple | None = None
        self._alert_ids: list[Alert] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="ov-top"):
            with Vertical(id="ov-components", classes="ov-box") as box:
                # In the title: on short terminals the box has no bottom border for a subtitle.
                box.border_title = "Components · c select · Enter its logs · r runbook"
                for name in COMPONENTS:
                    yield ComponentRow(name)
                yield Static(Content(""), id="ov-quiet")
            with Grid(id="ov-headline", classes="ov-box") as grid:
                grid.border_title = "Daily review"
                for key, label in HEADLINE:
                    yield Static(Content(label), classes="hl-label")
                    yield ValueCell(Content("…"), id=f"hl-{key.replace('.', '-')}", classes="state-unknown")
        with Vertical(id="ov-alerts", classes="ov-box") as box:
            box.border_title = "Alerts"
            box.border_subtitle = "a select · v in full · i incident"
            yield OptionList(id="ov-alert-list")
        yield Static(Content(""), id="ov-status")

    def on_mount(self) -> None:
        self.refresh_live()

    def focus_default(self) -> None:
        self.query_one("#ov-alert-list", OptionList).focus()

    # ------------------------------------------------------------ rendering

    def refresh_live(self) -> None:
        if not self.is_mounted:
            return
        live = self.console.live
        report = live.health
        if report is not None:
            # Components beyond the manual's six (e.g. the Supabase project status) get a row too.
            rows = list(self.query(ComponentRow))
            known = {row.component_name for row in rows}
            extra = [ComponentRow(c.name) for c in report.components if c.name not in known]
            if extra:
                # The rows carry their cells from __init__, so they are filled below, in this call.
                self.query_one("#ov-components").mount_all(extra, before="#ov-quiet")
                rows += extra
        else:
            rows = list(self.query(ComponentRow))
        for row in rows:
            row.show(report.component(row.component_name) if report else None, checked=report is not None, problem=live.health_error)
        self._show_quiet(rows)
        snap = live.snapshot
        for key, _ in HEADLINE:
            cell = self.query_one(f"#hl-{key.replace('.', '-')}", ValueCell)
            value = snap.value(key) if snap else None
            entry = live.states.get(THRESHOLD_BY_METRIC.get(key, ""))
            state = entry.state if entry else (MetricState.UNKNOWN if value is None else MetricState.OK)
            if snap is None:
                text = "…"  # no metrics yet: waiting, not "not available"
            else:
                text = self._headline_text(key, value, snap) + (_STATE_MARK.get(state, "") if value is not None else "")
            cell.show(text, _STATE_CLASS[state])
        self._show_alerts(live.alerts_active, live.alerts_recent)
        self._show_status(live)

    def _show_quiet(self, rows: list[ComponentRow]) -> None:
        """The folded rows in one line per state (shown on short terminals, where the
        non-healthy components keep a row each with their reason)."""
        lines: list[Content] = []
        for state, label in _QUIET.items():
            names = [f"{r.component_name} {r.latency_text}".strip() for r in rows if r.has_class("-quiet") and r.status_key == state]
            if names:
                style = "$success" if state == "HEALTHY" else "$text-muted"
                lines.append(Content.assemble((label, style), "  ", (" · ".join(names), "$text-muted")))
        text = Content("\n").join(lines)
        quiet = self.query_one("#ov-quiet", Static)
        if getattr(quiet, "_shown", None) != text.plain:
            quiet._shown = text.plain  # type: ignore[attr-defined]
            quiet.update(text)
        self.query_one("#ov-components").set_class(bool(lines), "-folding")

    @staticmethod
    def _headline_text(key: str, value: float | None, snap) -> str:
        unit = METRIC_BY_KEY[key].unit
        if value is None:
            sample = snap.samples.get(key) if snap else None
            note = safe_text(sample.note, 60) if sample and sample.note else ""
            if note.startswith("n/a"):
                note = note[3:].lstrip(" :")
            return f"n/a ({note})" if note else "n/a"
        if key == "db.connections.pct" and snap is not None:
            used, limit = snap.value("db.connections.used"), snap.value("db.connections.max")
            if used is not None and limit:
                return f"{used:.0f}/{limit:.0f} {value:.0f}%"
        if key == "db.size_bytes" and snap is not None:
            growth = snap.value("db.growth_bytes_per_day")
            if growth is not None:
                return f"{format_value(value, unit)} +{format_value(growth, 'bytes')}/d"
        if key == "backup.age_h":
            return f"{value:.0f} h ago"
        return format_value(_coarse(value), unit)

    def _show_alerts(self, active: list[Alert], recent: list[Alert]) -> None:
        shown = active + [a for a in recent if not a.active][: max(0, 20 - len(active))]
        key = tuple((a.id, a.at, a.resolved_at, a.alert_class, a.detail) for a in shown)  # detail: its value now
        if key == self._alerts_key:
            return
        self._alerts_key = key
        self._alert_ids = shown
        options = self.query_one("#ov-alert-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        if not shown:
            options.add_option(Option(Content.styled("No alerts. Rules: Critical (database down, authentication failures), Warning (response times, error rates), Info (traffic, resource trends).", "$text-muted"), disabled=True))
            return
        for alert in shown:
            when = (alert.resolved_at or alert.at).strftime("%H:%M:%S")
            badge = f"{alert.alert_class.value.upper():<8}"
            state = "resolved" if alert.resolved_at else "ACTIVE"
            options.add_option(Option(Content.assemble(
                (when, "$text-muted"), " ", (badge, _ALERT_STYLE[alert.alert_class] if alert.active else "$text-muted"),
                (f" {state:<8} ", "bold" if alert.active else "$text-muted"),
                Content(safe_text(alert.title, 80)), ("  " + safe_text(alert.detail, 160), "$text-muted"),
            )))
        options.highlighted = highlighted if highlighted is not None and highlighted < len(shown) else 0

    def _show_status(self, live) -> None:
        parts: list[tuple[str, str] | str] = []
        demo = self.console.session.demo
        if demo is not None:
            parts.append((f"demo scenario {demo.scenario} (seed {demo.seed}, speed x{demo.speed:g})", "$accent"))
            parts.append("  ")
        # No per-refresh timestamps here: they would repaint every refresh. Say only when stale.
        now = self.console.env.clock.now()
        # Refresh intervals are wall seconds; `now` and `at` are clock time (x --speed on the demo).
        rate = clock_rate(self.console.env.clock)
        problems = [p for p in (live.metrics_error, live.health_error, live.alerts_note) if p]
        for what, at in (("metrics", live.metrics_at), ("health", live.health_at)):
            interval = poll_interval(self.console.session.profile.refresh[what], self.console.env.clock)
            if at is not None and (now - at).total_seconds() > max(3 * interval, 15) * rate:
                problems.append(f"{what} stale since {at:%H:%M:%S} UTC")
        problems += [f"{s.name} {s.state.value}: {s.detail}" for s in live.sources if s.state.value in ("DOWN", "DEGRADED") and s.detail]
        if not self.console.env.metrics_sources and not self.console.env.health_probes and not self.console.environment_pending:
            problems.append("no sources configured in this profile: nothing can be seen (set db_dsn / project_ref, or use --demo)")
        for p in problems:
            parts.append(("  ⚠ " + safe_text(p, 160), "$warning"))
        key = Content.assemble(*parts)
        status = self.query_one("#ov-status", Static)
        if getattr(status, "_shown", None) != key.plain:
            status._shown = key.plain  # type: ignore[attr-defined]
            status.update(key)

    # ------------------------------------------------------------ actions

    def action_focus_alerts(self) -> None:
        self.query_one("#ov-alert-list", OptionList).focus()

    def _shown_rows(self) -> list[ComponentRow]:
        return [row for row in self.query(ComponentRow) if row.display]

    def action_focus_components(self) -> None:
        rows = self._shown_rows()
        if rows:
            rows[0].focus()

    def action_component_step(self, step: int) -> None:
        rows = self._shown_rows()
        focused = self.screen.focused
        if isinstance(focused, ComponentRow) and focused in rows:
            rows[max(0, min(len(rows) - 1, rows.index(focused) + step))].focus()

    def action_component_logs(self) -> None:
        """Enter on a component: its logs of the last hour in the Logs pane (Esc comes back)."""
        from cs_console.tui.palette import drill_to_logs

        focused = self.screen.focused
        if not isinstance(focused, ComponentRow):
            return
        filter_text = COMPONENT_LOGS.get(focused.component_name)
        if filter_text is None:
            self.notify(f"the console reads no logs of {focused.component_name} (logs: database, auth, REST, edge functions)",
                        severity="warning", timeout=4)
            return
        drill_to_logs(self.app, filter_text)

    def action_component_runbook(self) -> None:
        """r on a component: its runbook's start form, pre-filled (Esc in the form cancels)."""
        from cs_console.tui.palette import with_pane

        focused = self.screen.focused
        if not isinstance(focused, ComponentRow):
            self.notify("select a component first (c, then arrows)", severity="warning", timeout=3)
            return
        runbook_id = COMPONENT_RUNBOOKS.get(focused.component_name)
        if runbook_id is None:
            self.notify(f"no runbook is about {focused.component_name} alone (5 lists them all)", severity="warning", timeout=4)
            return
        values: dict[str, str] = {}
        snap = self.console.live.snapshot
        if runbook_id == "edge-function-failures" and snap is not None and snap.functions:
            values["function_slug"] = max(snap.functions, key=lambda fn: fn.error_rate_pct).slug  # the worst one
        with_pane(self.app, "runbooks", lambda pane: pane.start_runbook(runbook_id, values), drill=True)  # type: ignore[attr-defined]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_triage_alert()

    def _selected_alert(self) -> Alert | None:
        """The highlighted alert, or None with a hint on how to pick one."""
        index = self.query_one("#ov-alert-list", OptionList).highlighted
        if index is None or index >= len(self._alert_ids):
            self.notify("select an alert first (a, then arrows)", severity="warning")
            return None
        return self._alert_ids[index]

    def action_view_alert(self) -> None:
        from cs_console.tui.screens.alert_detail import AlertDetailScreen

        alert = self._selected_alert()
        if alert is not None:
            self.app.push_screen(AlertDetailScreen(alert))

    def action_triage_alert(self) -> None:
        alert = self._selected_alert()
        if alert is not None:
            self.console.triage_alert(alert)
