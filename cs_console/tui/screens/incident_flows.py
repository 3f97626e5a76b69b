"""Incident flows (not a screen): what the keys shared by the Incidents pane and the detail
screen do, one dialog after another. It lives with the dialogs it opens, so the screens
package and the panes import it one way.

Dialogs collect the intention; the write runs in a worker through the
IncidentService (which validates every rule); the outcome or the refusal is
a notification. Nothing here touches a store directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.dom import DOMNode

from cs_console.domain.incidents.errors import IncidentError, QueuedForSync
from cs_console.domain.incidents.model import Incident
from cs_console.tui.screens.incident_changes import (
    IncidentNoteScreen, IncidentRoleScreen, IncidentSeverityScreen, IncidentStatusScreen, StatusChoice,
)
from cs_console.tui.screens.incident_export import IncidentExportScreen
from cs_console.tui.screens.incident_update import IncidentUpdateScreen

if TYPE_CHECKING:
    from cs_console.services.incidents import IncidentService


class IncidentActions:
    def __init__(self, host: DOMNode, service: Callable[[], "IncidentService | None"], unavailable: Callable[[], str]) -> None:
        self._host = host
        self._service = service
        self._unavailable = unavailable

    @property
    def app(self) -> Any:
        return self._host.app

    def svc(self) -> "IncidentService | None":
        service = self._service()
        if service is None:
            self.app.notify(self._unavailable() or "the incident store is still opening", severity="warning", markup=False)
        return service

    def refused(self) -> bool:
        """A replay: every edit is refused here, before a dialog opens (the service refuses too)."""
        service = self._service()
        reason = getattr(service, "refuse_writes", "") if service is not None else ""
        if not reason and getattr(getattr(self.app, "session", None), "replay", False):
            reason = "this is a replay (a recording): incidents are read-only here"
        if reason:
            self.app.notify(reason, severity="warning", timeout=6, markup=False)
        return bool(reason)

    def run(self, work: Callable[["IncidentService"], Awaitable[Any]], done: Callable[[Any], str] | None = None,
            *, edit: bool = True) -> None:
        if edit and self.refused():
            return
        service = self.svc()
        if service is None:
            return

        async def job() -> None:
            try:
                result = await work(service)
            except QueuedForSync as exc:  # kept locally: it syncs when the store is back
                self.app.notify(str(exc), severity="warning", timeout=8, markup=False)
                return
            except IncidentError as exc:
                self.app.notify(str(exc), severity="error", timeout=8, markup=False)
                return
            if done is not None:
                message = done(result)
                if message:
                    self.app.notify(message, timeout=4, markup=False)

        self._host.run_worker(job(), group="incident-write", exit_on_error=False)

    # ------------------------------------------------------------ the keys

    def acknowledge(self, inc: Incident) -> None:
        if self.refused():
            return
        if inc.acknowledged_at is not None:
            self.app.notify(f"{inc.ref}: already acknowledged by {inc.acknowledged_by}", timeout=4, markup=False)
            return
        self.run(lambda s: s.acknowledge(inc.ref), lambda i: f"{i.ref}: acknowledged; commander {i.commander or '—'}")

    def change_status(self, inc: Incident) -> None:
        if self.refused():
            return
        def chosen(choice: StatusChoice | None) -> None:
            if choice is not None:
                self.run(lambda s: s.set_status(inc.ref, choice.status, reason=choice.reason, merge_into=choice.merge_into),
                         lambda i: f"{i.ref}: {i.status.value}")

        self.app.push_screen(IncidentStatusScreen(inc), chosen)

    def change_severity(self, inc: Incident) -> None:
        if self.refused():
            return
        def chosen(result: tuple[Any, str] | None) -> None:
            if result is not None:
                severity, reason = result
                self.run(lambda s: s.set_severity(inc.ref, severity, reason),
                         lambda i: f"{i.ref}: now {i.severity.value}; timers re-based")

        self.app.push_screen(IncidentSeverityScreen(inc), chosen)

    def add_note(self, ref: str) -> None:
        if self.refused():
            return
        def chosen(result: tuple[str, bool] | None) -> None:
            if result is not None:
                text, pinned = result
                self.run(lambda s: s.add_note(ref, text, pinned=pinned), lambda i: f"{i.ref}: note added")

        self.app.push_screen(IncidentNoteScreen(ref), chosen)

    def assign_role(self, inc: Incident) -> None:
        if self.refused():
            return
        def chosen(result: tuple[Any, str] | None) -> None:
            if result is not None:
                role, person = result
                self.run(lambda s: s.assign_role(inc.ref, role, person),
                         lambda i: f"{i.ref}: {role.value} {i.roles[role] or 'unassigned'}")

        self.app.push_screen(IncidentRoleScreen(inc), chosen)

    def send_update(self, ref: str) -> None:
        if self.refused():
            return
        service = self.svc()
        if service is None:
            return

        async def prepare() -> None:
            try:
                template = await service.update_text(ref)
            except IncidentError as exc:
                self.app.notify(str(exc), severity="error", markup=False)
                return
            self.app.push_screen(IncidentUpdateScreen(ref, template, service.webhook_configured), chosen)

        def chosen(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            how, body = result
            if how == "post":
                self.run(lambda s: s.post_update(ref, body), lambda i: f"{i.ref}: update posted and recorded")
            else:
                self.app.copy_to_clipboard(body)
                self.run(lambda s: s.record_update(ref, body, channel="clipboard"),
                         lambda i: f"{i.ref}: update copied (paste it to stakeholders) and recorded")

        self._host.run_worker(prepare(), group="incident-prepare", exit_on_error=False)

    def edit_postmortem(self, inc: Incident) -> None:
        if self.refused():
            return
        from cs_console.tui.screens.incident_postmortem import IncidentPostmortemScreen

        def chosen(result: dict[str, Any] | None) -> None:
            if result is None:
                return

            async def save(service: "IncidentService") -> Incident:
                out = inc
                if result["fields"]:
                    out = await service.update_postmortem(inc.ref, result["fields"])
                if result.get("waiver"):
                    out = await service.waive_postmortem(inc.ref, result["waiver"])
                return out

            def done(i: Incident) -> str:
                from cs_console.domain.incidents.postmortem import postmortem_gaps

                if i.postmortem_waiver:
                    return f"{i.ref}: post-mortem waived"
                gaps = postmortem_gaps(i)
                return f"{i.ref}: post-mortem saved" + (f" (still missing: {', '.join(gaps)})" if gaps else " (complete)")

            self.run(save, done)

        self.app.push_screen(IncidentPostmortemScreen(inc), chosen)

    def export(self, ref: str) -> None:
        from cs_console.services.incidents import default_export_path

        def chosen(result: tuple[str, Path] | None) -> None:
            if result is not None:
                fmt, path = result
                self.run(lambda s: s.export_to_file(ref, fmt, path), lambda p: f"{ref}: exported to {p}", edit=False)

        self.app.push_screen(IncidentExportScreen(ref, default_export_path(ref, "md"), default_export_path(ref, "json")), chosen)
