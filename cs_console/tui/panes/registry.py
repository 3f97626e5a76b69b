"""The panes of the console, in key order. Adding a pane: one module + one line here.

Each entry names the pane's key, id and title, so the header can list every
pane while only the first one shown is imported before the first paint; the
others are imported and mounted right after it (start-up time matters over SSH).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_console.tui.pane import Pane


@dataclass(frozen=True)
class PaneSpec:
    key: str  # the digit that shows it
    pane_id: str
    title: str
    path: str  # "module:Class"
    # The pane's binding ids, so a [keymap] is checked without importing every pane
    # (tests/test_keymap_lazy.py keeps them equal to the class's BINDINGS).
    binding_ids: tuple[str, ...] = ()

    def load(self) -> "type[Pane]":
        module_name, class_name = self.path.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if (cls.KEY, cls.PANE_ID, cls.TITLE) != (self.key, self.pane_id, self.title):
            raise RuntimeError(f"pane registry entry {self} disagrees with {cls.__name__} ({cls.KEY}, {cls.PANE_ID}, {cls.TITLE})")
        return cls


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("1", "overview", "Overview", "cs_console.tui.panes.overview:OverviewPane",
             ("overview.alerts", "overview.triage", "overview.view_alert", "overview.components",
              "overview.component_logs", "overview.component_runbook", "overview.component_next", "overview.component_prev")),
    PaneSpec("2", "metrics", "Metrics", "cs_console.tui.panes.metrics:MetricsPane",
             ("metrics.tab_metrics", "metrics.tab_functions", "metrics.tab_database", "metrics.tab_scaling", "metrics.rerun_view")),
    PaneSpec("3", "logs", "Logs", "cs_console.tui.panes.logs:LogsPane",
             ("logs.pause", "logs.filter", "logs.errors_only", "logs.warnings_up", "logs.next_error", "logs.prev_error", "logs.wrap", "logs.timestamps", "logs.copy", "logs.save", "logs.count", "logs.filter_back")),
    PaneSpec("4", "incidents", "Incidents", "cs_console.tui.panes.incidents:IncidentsPane",
             ("incidents.open", "incidents.ack", "incidents.status", "incidents.severity", "incidents.note", "incidents.update", "incidents.export", "incidents.postmortem", "incidents.role", "incidents.closed", "incidents.detail")),
    PaneSpec("5", "runbooks", "Runbooks", "cs_console.tui.panes.runbooks:RunbooksPane",
             ("runbooks.run", "runbooks.dry_run", "runbooks.resume", "runbooks.approve", "runbooks.reject", "runbooks.takeover",
              "runbooks.search", "runbooks.clear_search")),
)


def load_panes() -> "list[type[Pane]]":
    return [spec.load() for spec in PANES]
