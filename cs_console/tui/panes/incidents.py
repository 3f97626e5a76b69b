"""Incidents: open incidents by severity then age, with live SLA timers.

Each row: severity badge, reference, status, SLA timer (green, amber when
close, red when breached: derived from timestamps every second, repainting
only the timer and age cells), commander, age, title. Enter opens the detail
view (timeline and the manual's phase checklist). The list follows other
consoles live: LISTEN/NOTIFY in team mode, the shared files locally.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import ListItem, ListView, Static

from cs_console.domain.health import HealthStatus
from cs_console.domain.incidents.errors import IncidentError
from cs_console.domain.incidents.model import Incident, Source
from cs_console.domain.incidents.phases import phase_views
from cs_console.domain.incidents.postmortem import describe
from cs_console.domain.durations import elapsed
from cs_console.domain.incidents.timers import SlaReport, TimerState, sla
from cs_console.domain.incidents.triage import Prefill, prefill_from_alert, prefill_from_health
from cs_console.domain.incidents.views import age_text, timer_phrase, timer_text
from cs_console.domain.safe_text import safe_text
from cs_console.tui.env_clock import EnvClock
from cs_console.tui.pane import Pane
from cs_console.tui.screens.incident_flows import IncidentActions
from cs_console.tui.screens.incident_open import OpenDraft

SLA_CLASSES = {
    TimerState.OK: "sla-ok", TimerState.CLOSE: "sla-close", TimerState.BREACHED: "sla-breached",
    TimerState.MET: "sla-met", TimerState.OFF: "sla-off",
}


class Cell(Static):
    """A Static that repaints only when its text or class changes."""

    _shown: tuple[str, str] | None = None

    def set(self, text: str, css_class: str = "") -> None:
        key = (text, css_class)
        if key == self._shown:
            return
        if self._shown is not None and self._shown[1]:
            self.remove_class(self._shown[1])
        if css_class:
            self.add_class(css_class)
        self._shown = key
        self.update(Content(text))


# The same colours as the timer column (the .sla-* classes), for the preview's Content.
PREVIEW_TIMER_STYLE = {
    TimerState.OK: "$success", TimerState.CLOSE: "bold $warning", TimerState.BREACHED: "bold reverse $error",
    TimerState.MET: "", TimerState.OFF: "",
}


def sla_cell(report: SlaReport) -> tuple[str, str]:
    """Text and class of the timer column: red as soon as anything is overdue."""
    headline = report.headline
    css = SLA_CLASSES[headline.state]
    if report.breached_now:
        css = "sla-breached"
    return timer_text(headline), css


class IncidentRow(ListItem):
    def __init__(self, inc: Incident) -> None:
        super().__init__(classes="inc-row")
        self.inc = inc

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Cell(classes="inc-sev")
            yield Cell(classes="inc-ref")
            yield Cell(classes="inc-status")
            yield Cell(classes="inc-sla")
            yield Cell(classes="inc-cmdr")
            yield Cell(classes="inc-age")
            yield Cell(classes="inc-title")

    def show(self, inc: Incident, now: datetime) -> None:
        self.inc = inc
        cells = list(self.query(Cell))
        cells[0].set(f" {inc.severity.value} ", f"sev-{inc.severity.value.lower()}")
        cells[1].set(inc.ref)
        cells[2].set(inc.status.value)
        cells[4].set(safe_text(inc.commander or "—", 40))
        cells[6].set(safe_text(inc.title, 200))
        self.tick(now)

    def tick(self, now: datetime) -> None:
        cells = list(self.query(Cell))
        if not cells:
            return
        text, css = sla_cell(sla(self.inc, now))
        cells[3].set(text, css)
        cells[5].set(age_text(self.inc, now))


class IncidentsPane(Pane):
    PANE_ID = "incidents"
    TITLE = "Incidents"
    KEY = "4"
    HELP = (
        "Open incidents, most severe and oldest first, with their SLA timer (green, amber when close, "
        "red when breached), status and commander. o declares one with the manual's triage questions "
        "(or from a live alert / failed component); a acknowledges; s status; v severity; n note; "
        "u stakeholder update (copy or webhook); m write the post-mortem; e export it; r roles; c closed ones; "
        "Enter the timeline and checklist."
    )

    BINDINGS = [
        Binding("o", "open_incident", "Open", id="incidents.open"),
        Binding("a", "ack", "Ack", id="incidents.ack"),
        Binding("s", "status", "Status", id="incidents.status"),
        Binding("v", "severity", "Severity", id="incidents.severity"),
        Binding("n", "note", "Note", id="incidents.note"),
        Binding("u", "update", "Update", id="incidents.update"),
        Binding("e", "export", "Export", id="incidents.export"),
        Binding("m", "postmortem", "Post-mortem", show=False, id="incidents.postmortem"),
        Binding("r", "role", "Roles", show=False, id="incidents.role"),
        Binding("c", "toggle_closed", "Closed", show=False, id="incidents.closed"),
        Binding("enter", "detail", "Detail", show=False, id="incidents.detail"),
    ]

    class Changed(Message):
        """The store says an incident changed (ours or another console's); bursts coalesce."""

        def __init__(self, ref: str | None) -> None:
            super().__init__()
            self.ref = ref

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, IncidentsPane.Changed)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service: Any = None
        self.service_error = ""
        self.incidents: list[Incident] = []
        self.show_closed = False
        self._unsubscribe: Any = None
        self.actions = IncidentActions(self, lambda: self.service, lambda: self.service_error)

    def compose(self) -> ComposeResult:
        yield Static(id="inc-status-line")
        with Horizontal(id="inc-head"):
            for label, css in (("SEV", "inc-sev"), ("REF", "inc-ref"), ("STATUS", "inc-status"), ("SLA", "inc-sla"),
                               ("COMMANDER", "inc-cmdr"), ("AGE", "inc-age"), ("TITLE", "inc-title")):
                yield Static(Content(label), classes=css)
        # The empty-list hint sits under the column heads; the list stays focusable
        # (hidden, it would take the pane's keys with it: o must work with no incident).
        yield Static(id="inc-empty")
        yield ListView(id="inc-list")
        yield Static(id="inc-preview")

    def on_mount(self) -> None:
        self.query_one("#inc-status-line", Static).update(Content("incidents: opening the store…"))
        self.run_worker(self._open_service, group="incidents-open", exclusive=True, exit_on_error=False)
        # Shown the moment it was mounted (key 4 before the pane existed): the app's
        # focus call came before our list did, so take the keys here.
        self.call_after_refresh(self._focus_if_shown)

    def _focus_if_shown(self) -> None:
        if self.display and self.is_mounted and self.app.focused is None:
            self.focus_default()

    async def on_unmount(self) -> None:
        service, self.service = self.service, None
        if service is not None:
            try:
                await service.close()
            except Exception:
                pass

    # ------------------------------------------------------------ loading

    @property
    def clock_now(self) -> datetime:
        return self.console.env.clock.now()

    async def _open_service(self) -> None:
        from cs_console.wiring.incidents import open_incident_service

        try:
            # The environment's clock stamps and ages incidents (the demo's in the demo);
            # read through the app, as the environment built after the first frame replaces it.
            self.service = await open_incident_service(self.console.session, clock=EnvClock(self.console))
        except IncidentError as exc:
            self.service_error = str(exc)
            self._status_line()
            return
        self.service_error = ""
        try:
            self._unsubscribe = await self.service.subscribe(self._store_changed)
        except IncidentError as exc:
            self.service_error = f"live updates off: {exc}"
        self._request_reload()

    def _store_changed(self, ref: str | None) -> None:
        self.post_message(self.Changed(ref))

    def on_incidents_pane_changed(self, message: "IncidentsPane.Changed") -> None:
        message.stop()
        self._request_reload()

    _reloading = False
    _reload_again = False

    def _request_reload(self) -> None:
        """Reload, one at a time: a change during a reload reloads once more after it.

        Not an exclusive worker: cancelling a reload in the middle of mounting the
        rows (our own write and the store's notice of it arrive together) left
        half-mounted rows behind and could take the app down.
        """
        if self._reloading:
            self._reload_again = True
            return
        self._reloading = True
        self.run_worker(self._reload_until_settled, group="incidents-load", exit_on_error=False)

    async def _reload_until_settled(self) -> None:
        try:
            while True:
                self._reload_again = False
                await self._reload()
                if not self._reload_again:
                    break
        finally:
            self._reloading = False

    async def _reload(self) -> None:
        if self.service is None:
            return
        try:
            incidents = await self.service.list(include_final=self.show_closed)
        except IncidentError as exc:
            self.service_error = str(exc)
            self._status_line()
            return
        if self.service_error.startswith("team store unavailable"):
            self.service_error = ""
        self.incidents = incidents
        await self._render_rows()

    async def _render_rows(self) -> None:
        now = self.clock_now
        view = self.query_one("#inc-list", ListView)
        rows = list(view.query(IncidentRow))
        selected = self.selected
        want = self._select_after_reload or (selected.ref if selected is not None else None)
        refs = [i.ref for i in self.incidents]
        if [r.inc.ref for r in rows] != refs:
            await view.clear()
            rows = [IncidentRow(inc) for inc in self.incidents]
            await view.extend(rows)
            if rows:
                view.index = refs.index(want) if want in refs else 0
        elif self._select_after_reload in refs:
            view.index = refs.index(self._select_after_reload)
        if self._select_after_reload in refs:
            self._select_after_reload = None
        for row, inc in zip(rows, self.incidents):
            row.show(inc, now)
        self.query_one("#inc-empty", Static).display = not self.incidents
        self.query_one("#inc-empty", Static).update(Content(
            "No open incidents. o declares one (triage questions); in the Overview, i opens one from an alert."
            if not self.show_closed else "No incidents recorded yet."
        ))
        self._status_line()
        self._preview()

    # ------------------------------------------------------------ timers and lines

    def clock_tick(self) -> None:
        self._tick()

    def _tick(self) -> None:
        if not self.display or not self.is_mounted:
            return
        now = self.clock_now
        for row in self.query(IncidentRow):
            row.tick(now)
        self._status_line()
        self._preview()  # its timers and elapsed times move too (repaints only on change)

    def refresh_live(self) -> None:
        if self.service is None and self.service_error:
            # F5 / coming back to the pane retries a store that failed to open.
            self.service_error = ""
            self.run_worker(self._open_service, group="incidents-open", exclusive=True, exit_on_error=False)
        self._tick()

    def _status_line(self) -> None:
        line = self.query_one("#inc-status-line", Static)
        if self.service is None:
            line.set_class(bool(self.service_error), "-problem")
            line.update(Content(self.service_error or "incidents: opening the store…"))
            return
        now = self.clock_now
        overdue = sum(1 for i in self.incidents if sla(i, now).breached_now)
        store = "team store (PostgreSQL)" if self.service.kind == "postgres" else "local store"
        parts = [f"{sum(1 for i in self.incidents if not i.status.is_final)} open", store]
        if self.show_closed:
            parts.append("showing closed")
        if overdue:
            parts.append(f"{overdue} overdue")
        # What waits to sync first: the store's error text is long and the line is cut.
        waiting = self.service.outbox_summary()
        if waiting:
            parts.append(waiting)
        problem = self.service.health() or self.service_error
        if problem:
            parts.append(problem)
        warnings = self.service.warnings
        if warnings:
            parts.append(f"{len(warnings)} store warning(s): {warnings[-1]}")
        line.set_class(bool(problem or overdue), "-problem")
        line.update(Content(" · ".join(parts)))

    @property
    def selected(self) -> Incident | None:
        view = self.query_one("#inc-list", ListView)
        item = view.highlighted_child
        return item.inc if isinstance(item, IncidentRow) else None

    @on(ListView.Highlighted, "#inc-list")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        self._preview()

    @on(ListView.Selected, "#inc-list")
    def _selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.action_detail()

    def _preview(self) -> None:
        box = self.query_one("#inc-preview", Static)
        inc = self.selected
        text = Content("") if inc is None else self._preview_content(inc, self.clock_now)
        key = (text.plain, tuple(text.spans))  # Content == compares the text only
        if key != self._preview_shown:
            self._preview_shown = key
            box.update(text)

    _preview_shown: tuple[str, tuple[Any, ...]] | None = None

    @staticmethod
    def _preview_content(inc: Incident, now: datetime) -> Content:
        """Three lines under the list: what it is, its clocks, the latest word.

        Most important first on each line, so 80 columns cut only the tail: the full
        title (the list truncates it), then the timers in their colours, then the phase.
        """
        report = sla(inc, now)
        what = f"{inc.ref} {inc.severity.value}: {safe_text(inc.title, 200)}"
        if inc.summary:
            what += " — " + safe_text(inc.summary, 300)
        phase = ""
        current = next((v for v in phase_views(inc, now) if v.state == "current"), None)
        if current is not None and inc.status.is_working:
            done = sum(1 for i in current.items if i.done)
            phase = f" · {current.phase.title} {elapsed(current.elapsed)}, {done}/{len(current.items)} done"
            if current.overdue:
                phase += " (past its time box)"
        clocks = Content.assemble(
            (timer_phrase(report.response), PREVIEW_TIMER_STYLE[report.response.state]), " · ",
            (timer_phrase(report.update), PREVIEW_TIMER_STYLE[report.update.state]),
            f" · {age_text(inc, now)} old{phase}",
        )
        last = next((e for e in reversed(inc.events) if not e.generated), inc.events[-1])
        latest = f"last: {last.ts:%H:%M:%S} UTC {safe_text(last.actor, 20)}: {safe_text(describe(last), 200)}"
        return Content("\n").join([Content(what), clocks, Content(latest)])

    # ------------------------------------------------------------ keys

    def _need_selected(self) -> Incident | None:
        inc = self.selected
        if inc is None:
            self.app.notify("no incident selected (o declares one)", severity="warning", markup=False)
        return inc

    def action_ack(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.acknowledge(inc)

    def action_status(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.change_status(inc)

    def action_severity(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.change_severity(inc)

    def action_note(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.add_note(inc.ref)

    def action_role(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.assign_role(inc)

    def action_update(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.send_update(inc.ref)

    def action_export(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.export(inc.ref)

    _select_after_reload: str | None = None  # a newly declared incident gets the cursor

    def action_postmortem(self) -> None:
        if (inc := self._need_selected()) is not None:
            self.actions.edit_postmortem(inc)

    def action_toggle_closed(self) -> None:
        self.show_closed = not self.show_closed
        self._request_reload()

    def action_detail(self) -> None:
        if (inc := self._need_selected()) is None or self.service is None:
            return
        from cs_console.tui.screens.incident_detail import IncidentDetailScreen

        self.app.push_screen(IncidentDetailScreen(self.service, inc))

    # ------------------------------------------------------------ declaring

    def _evidence(self) -> list[tuple[str, Prefill]]:
        """Live alerts and failed components, offered as starting points."""
        from cs_console.services.incidents import live_snapshot

        live = getattr(self.console, "live", None)
        if live is None:
            return []
        snapshot = live_snapshot(live)
        sources: list[tuple[str, Prefill]] = []
        for alert in getattr(live, "alerts_active", []) or []:
            sources.append((f"Alert [{alert.alert_class}] {alert.title}: {alert.detail}", prefill_from_alert(alert, snapshot)))
        health = getattr(live, "health", None)
        for comp in (health.components if health is not None else ()):
            if comp.status in (HealthStatus.DOWN, HealthStatus.DEGRADED):
                sources.append((f"Health: {comp.name} {comp.status.value} {comp.detail}", prefill_from_health(comp, snapshot)))
        return sources

    def action_open_incident(self) -> None:
        from cs_console.tui.screens.incident_open import IncidentOpenScreen

        if self.actions.refused():
            return
        self.app.push_screen(IncidentOpenScreen(sources=self._evidence()), self._declare)

    def open_from_alert(self, alert: Any) -> None:
        """Called by the app when the Overview asks for an incident from an alert."""
        if self.actions.refused():
            return
        from cs_console.services.incidents import live_snapshot
        from cs_console.tui.screens.incident_open import IncidentOpenScreen

        live = getattr(self.console, "live", None)
        prefill = prefill_from_alert(alert, live_snapshot(live) if live is not None else None)
        self.app.push_screen(IncidentOpenScreen(prefill=prefill), self._declare)

    def open_from_health(self, component: Any) -> None:
        if self.actions.refused():
            return
        from cs_console.services.incidents import live_snapshot
        from cs_console.tui.screens.incident_open import IncidentOpenScreen

        live = getattr(self.console, "live", None)
        prefill = prefill_from_health(component, live_snapshot(live) if live is not None else None)
        self.app.push_screen(IncidentOpenScreen(prefill=prefill), self._declare)

    def _declare(self, draft: OpenDraft | None) -> None:
        if draft is None:
            return
        pre = draft.prefill

        async def declare(service: Any) -> Incident:
            return await service.open(
                title=draft.title, severity=draft.severity, summary=draft.summary, components=draft.components,
                answers=draft.answers, override_reason=draft.reason,
                source=pre.source if pre else Source.MANUAL, source_ref=pre.source_ref if pre else "",
                detected_at=pre.detected_at if pre else None, evidence=pre.evidence if pre else None,
            )

        def done(inc: Incident) -> str:
            self._select_after_reload = inc.ref
            return f"{inc.ref} declared: {inc.severity.value} {inc.severity.policy.name}, respond {inc.severity.policy.response_label}"

        self.actions.run(declare, done)

    def focus_default(self) -> None:
        self.query_one("#inc-list", ListView).focus()
