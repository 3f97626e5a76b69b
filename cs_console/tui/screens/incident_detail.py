"""One incident: header with timers, the timeline, and the manual's phase checklist.

The timeline lists every event (generated ones can be hidden with g; pinned
ones, marked *, and every note make the post-mortem timeline; p pins or unpins; Enter shows
the whole event with its data). The
checklist shows each phase with its elapsed time; Enter ticks a manual item.
Timers repaint on the app's clock tick (every second when polling); the view
follows other consoles live.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain.incidents.errors import IncidentError
from cs_console.domain.incidents.model import Incident
from cs_console.domain.incidents.phases import phase_views
from cs_console.domain.incidents.postmortem import describe
from cs_console.domain import durations
from cs_console.domain.health import PLATFORM_STATUS, HealthStatus
from cs_console.domain.incidents.timers import TimerState, sla
from cs_console.domain.incidents.views import timer_phrase
from cs_console.domain.safe_text import safe_text
from cs_console.tui.screens.incident_flows import IncidentActions

_TIMER_STYLE = {
    TimerState.OK: "$success", TimerState.CLOSE: "bold $warning", TimerState.BREACHED: "bold $error",
    TimerState.MET: "$text-muted", TimerState.OFF: "$text-muted",
}
_SEV_STYLE = {"P0": "bold $text on $error", "P1": "bold $background on $warning", "P2": "bold $background on $primary", "P3": "bold $background on $secondary"}


class IncidentDetailScreen(Screen[None]):
    """Incident detail: timeline and phase checklist."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="incident_detail.back"),
        Binding("a", "ack", "Ack", id="incident_detail.ack"),
        Binding("s", "status", "Status", id="incident_detail.status"),
        Binding("v", "severity", "Severity", id="incident_detail.severity"),
        Binding("n", "note", "Note", id="incident_detail.note"),
        Binding("u", "update", "Update", id="incident_detail.update"),
        Binding("e", "export", "Export", id="incident_detail.export"),
        Binding("r", "role", "Roles", id="incident_detail.role"),
        Binding("m", "postmortem", "Post-mortem", id="incident_detail.postmortem"),
        Binding("g", "toggle_generated", "Generated", id="incident_detail.generated"),
        Binding("p", "pin", "Pin", id="incident_detail.pin"),
        Binding("j", "replay_jump", "Jump replay here", show=False, id="incident_detail.replay_jump"),
        Binding("tab", "app.focus_next", "Timeline/Checklist", show=False, id="incident_detail.switch"),
    ]

    def __init__(self, service: Any, inc: Incident) -> None:
        super().__init__()
        self.service = service
        self.inc = inc
        self.show_generated = True
        self._unsubscribe: Any = None
        self.actions = IncidentActions(self, lambda: self.service, lambda: "")

    def compose(self) -> ComposeResult:
        yield Static(id="incd-head")
        with Horizontal(id="incd-body"):
            with Vertical(id="incd-timeline-box") as tl:
                tl.border_title = "Timeline (UTC)"
                yield OptionList(id="incd-timeline")
            with Vertical(id="incd-phases-box") as ph:
                ph.border_title = "Phases"
                yield OptionList(id="incd-phases")
        yield Footer()

    async def on_mount(self) -> None:
        self._render_all()
        timeline = self.query_one("#incd-timeline", OptionList)
        timeline.focus()
        # The newest event is highlighted; show it once the list has its size.
        self.call_after_refresh(timeline.scroll_to_highlight)
        try:
            self._unsubscribe = await self.service.subscribe(self._changed)
        except IncidentError:
            self._unsubscribe = None

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            try:
                await self._unsubscribe()
            except Exception:
                pass

    def _changed(self, ref: str | None) -> None:
        if ref is None or ref == self.inc.ref:
            self.run_worker(self._reload, group="incident-detail-load", exclusive=True, exit_on_error=False)

    async def _reload(self) -> None:
        try:
            self.inc = await self.service.get(self.inc.ref)
        except IncidentError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self._render_all()

    # ------------------------------------------------------------ rendering

    def _render_all(self) -> None:
        self._render_head()
        self._render_timeline()
        self._render_phases()

    def clock_tick(self) -> None:
        """The app's one-second tick (only when polling): the timers move."""
        self._render_head()
        self._render_phases()  # elapsed times move; only changed lines are repainted

    def _render_head(self) -> None:
        inc = self.inc
        now = self.service.clock.now()
        report = sla(inc, now)
        roles = "  ".join(f"{r.value}: {safe_text(p, 30) or '—'}" for r, p in inc.roles.items())
        line1 = Content.assemble(
            (f" {inc.severity.value} ", _SEV_STYLE[inc.severity.value]), " ", (inc.ref, "bold"), "  ",
            (inc.status.value, "bold"), "  ", safe_text(inc.title, 200),
        )
        line2 = Content.assemble(
            (timer_phrase(report.response), _TIMER_STYLE[report.response.state]), " · ",
            (timer_phrase(report.update), _TIMER_STYLE[report.update.state]),
            (f"  {len(report.breaches)} missed", "bold $error") if report.breaches else "",
            f"  declared {inc.declared_at:%Y-%m-%d %H:%M:%S} UTC" if inc.declared_at else "",
        )
        source = inc.source.value.replace("_", " ") + (f" {safe_text(inc.source_ref, 40)}" if inc.source_ref else "")
        components = ", ".join(safe_text(c, 40) for c in inc.components) or "—"
        line3 = Content(f"{roles}  components: {components}  source: {source}")
        line4 = Content(safe_text(inc.summary, 500) if inc.summary else "(no summary)")
        text = Content("\n").join([line1, line2, line3, line4])
        key = (text.plain, tuple(text.spans))  # Content == compares the text only
        if key != self._head_shown:
            self._head_shown = key
            self.query_one("#incd-head", Static).update(text)

    _head_shown: tuple[str, tuple[Any, ...]] | None = None

    def _render_timeline(self) -> None:
        timeline = self.query_one("#incd-timeline", OptionList)
        keep = timeline.highlighted_option.id if timeline.highlighted_option is not None else None
        count = timeline.option_count
        if count and timeline.highlighted == count - 1:
            keep = None  # on the newest event: follow what arrives next
        timeline.clear_options()
        options = []
        for ev in self.inc.events:
            if ev.generated and not self.show_generated:
                continue
            pin = "*" if self.inc.is_pinned(ev) else " "
            style = "$text-muted" if ev.generated else ""
            text = Content.assemble(
                (f"{pin}{ev.ts:%H:%M:%S} ", "$text-muted"), (f"{safe_text(ev.actor, 12):<12} ", "$text-muted"),
                (safe_text(describe(ev), 400), style),
            )
            options.append(Option(text, id=str(ev.seq)))
        timeline.add_options(options)
        ids = [o.id for o in options]
        if options:
            timeline.highlighted = ids.index(keep) if keep in ids else len(options) - 1
        box = self.query_one("#incd-timeline-box")
        box.border_title = "Timeline (UTC)" + ("" if self.show_generated else " — generated hidden")

    def _phase_options(self) -> list[Option]:
        now = self.service.clock.now()
        options: list[Option] = []
        for view in phase_views(self.inc, now):
            mark = {"done": "✓", "current": "▶", "upcoming": "·"}[view.state]
            elapsed = f" {durations.elapsed(view.elapsed)}" if view.elapsed is not None else ""
            style = "bold $error" if view.overdue else ("bold" if view.state == "current" else "$text-muted")
            label = Content.assemble(
                (f"{mark} {view.phase.title}", style), (f" {view.phase.window}{elapsed}", "$text-muted"),
                (" past its time box", "bold $error") if view.overdue else "",
            )
            options.append(Option(label, id=f"phase:{view.phase.id}", disabled=True))
            if view.state == "upcoming":
                continue
            for item in view.items:
                box = "[x]" if item.done else "[ ]"
                how = " (auto)" if item.auto else ""
                options.append(Option(Content(f"  {box} {item.item.label}{how}"), id=f"item:{item.item.id}"))
                if item.done and item.note:  # what was seen, on its own line: the column is narrow
                    options.append(Option(Content.styled(f"      seen: {safe_text(item.note, 300)}", "$text-muted"),
                                          id=f"seen:{item.item.id}", disabled=True))
        return options

    def _render_phases(self) -> None:
        phases = self.query_one("#incd-phases", OptionList)
        options = self._phase_options()
        current = [phases.get_option_at_index(i) for i in range(phases.option_count)]
        if [o.id for o in options] == [o.id for o in current]:
            # Same lines (a tick, a timer): swap only the labels that changed.
            for index, (new, old) in enumerate(zip(options, current)):
                if new.prompt != old.prompt:
                    phases.replace_option_prompt_at_index(index, new.prompt)
            return
        keep = phases.highlighted
        phases.clear_options()
        phases.add_options(options)
        if keep is not None and keep < len(options) and not options[keep].disabled:
            phases.highlighted = keep
        else:  # the first thing one can tick
            phases.highlighted = next((n for n, o in enumerate(options) if not o.disabled), None)

    # ------------------------------------------------------------ keys

    @on(OptionList.OptionSelected, "#incd-phases")
    def _tick_item(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        item_id = (event.option_id or "").removeprefix("item:")
        current = self.inc.checklist.get(item_id, False)
        view_item = next((i for v in phase_views(self.inc, self.service.clock.now()) for i in v.items if i.item.id == item_id), None)
        if view_item is not None and view_item.auto:
            self.app.notify("ticked by the timeline; nothing to do", timeout=3, markup=False)
            return
        note = self._platform_status_seen() if item_id == "status_page" and not current else ""
        self.actions.run(lambda s: s.check_item(self.inc.ref, item_id, not current, note=note), None)

    def _platform_status_seen(self) -> str:
        """The console's own reading of the status page, recorded with a hand tick of its item."""
        health = getattr(getattr(self.app, "live", None), "health", None)
        comp = health.component(PLATFORM_STATUS) if health is not None else None
        if comp is None or comp.status is HealthStatus.UNKNOWN:
            return ""
        return f"{comp.status.value}: {comp.detail}" if comp.detail else comp.status.value

    @on(OptionList.OptionSelected, "#incd-timeline")
    def _timeline_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter: the whole event (a long note, an update's body, the evidence attached)."""
        event.stop()
        ev = self.inc.event(int(event.option_id or 0))
        if ev is not None:
            from cs_console.tui.screens.incident_event import IncidentEventScreen

            self.app.push_screen(IncidentEventScreen(self.inc.ref, ev, pinned=self.inc.is_pinned(ev)))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_ack(self) -> None:
        self.actions.acknowledge(self.inc)

    def action_status(self) -> None:
        self.actions.change_status(self.inc)

    def action_severity(self) -> None:
        self.actions.change_severity(self.inc)

    def action_note(self) -> None:
        self.actions.add_note(self.inc.ref)

    def action_update(self) -> None:
        self.actions.send_update(self.inc.ref)

    def action_export(self) -> None:
        self.actions.export(self.inc.ref)

    def action_postmortem(self) -> None:
        self.actions.edit_postmortem(self.inc)

    def action_role(self) -> None:
        self.actions.assign_role(self.inc)

    def action_toggle_generated(self) -> None:
        self.show_generated = not self.show_generated
        self._render_timeline()

    def action_replay_jump(self) -> None:
        """`cs-console replay`: the console back at the highlighted timeline event's time."""
        from cs_console.tui.widgets.replay_bar import jump_to

        option = self.query_one("#incd-timeline", OptionList).highlighted_option
        ev = self.inc.event(int(option.id)) if option is not None and option.id is not None else None
        if ev is None or not jump_to(self.app, ev.ts.timestamp()):
            self.app.notify("j jumps a replay (cs-console replay) to an event; this is not a replay", timeout=4, markup=False)
            return
        self.app.pop_screen()
        self.app.notify(f"replay at {ev.ts:%H:%M:%S}: {describe(ev)[:80]}", timeout=4, markup=False)

    def action_pin(self) -> None:
        timeline = self.query_one("#incd-timeline", OptionList)
        option = timeline.highlighted_option
        if option is None or option.id is None:
            return
        ev = self.inc.event(int(option.id))
        if ev is None:
            return
        pinned = not self.inc.is_pinned(ev)
        self.actions.run(lambda s: s.pin(self.inc.ref, ev.seq, pinned),
                         lambda i: f"event {ev.seq} {'pinned: it goes into the post-mortem timeline' if pinned else 'unpinned'}")
