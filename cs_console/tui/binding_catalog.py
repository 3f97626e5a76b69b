"""Every binding of the console's widgets and screens, for the help screen and the keymap.

Pane bindings come from the pane classes; this module finds the bindings of
the other widgets and dialogs (log view, filter bar, confirmation dialogs...).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.dom import DOMNode

_PACKAGES = ("cs_console.tui.widgets", "cs_console.tui.screens")

# The ids of those bindings, written out so that checking a [keymap] imports no dialog or
# widget module (tests/test_keymap_lazy.py keeps this equal to what the scan finds).
EXTRA_BINDING_IDS: frozenset[str] = frozenset({
    "alert_detail.close",
    "confirm_destructive.cancel",
    "confirm_destructive.no_quit",
    "confirm_destructive.phrase",
    "help.close",
    "runbook_reject.cancel",
    "help.close_f1",
    "help.close_q",
    "incident_detail.ack",
    "incident_detail.back",
    "incident_detail.export",
    "incident_detail.generated",
    "incident_detail.note",
    "incident_detail.pin",
    "incident_detail.postmortem",
    "incident_detail.replay_jump",
    "incident_detail.role",
    "incident_detail.severity",
    "incident_detail.status",
    "incident_detail.switch",
    "incident_detail.update",
    "incident_event.close",
    "incident_event.close_enter",
    "incident_export.cancel",
    "incident_note.add",
    "incident_note.cancel",
    "incident_note.pin_toggle",
    "incident_open.back",
    "incident_open.cancel",
    "incident_open.declare",
    "incident_open.next_field",
    "incident_open.no",
    "incident_open.yes",
    "incident_postmortem.cancel",
    "incident_postmortem.save",
    "incident_role.cancel",
    "incident_severity.cancel",
    "incident_status.cancel",
    "incident_update.cancel",
    "incident_update.copy",
    "incident_update.post",
    "log_groups.by_function",
    "log_groups.by_ip",
    "log_groups.by_level",
    "log_groups.by_regex",
    "log_groups.by_request_id",
    "log_groups.by_source",
    "log_groups.by_status",
    "log_groups.by_user",
    "log_groups.choose",
    "log_groups.close",
    "log_groups.next",
    "log_groups.prev",
    "logs.cursor_down",
    "logs.cursor_up",
    "logs.detail",
    "logs.detail_close",
    "logs.detail_close_enter",
    "logs.detail_copy",
    "logs.detail_filter",
    "logs.filter_cancel",
    "logs.filter_clear",
    "logs.filter_complete",
    "logs.filter_history_next",
    "logs.filter_history_prev",
    "logs.first",
    "logs.last",
    "logs.left",
    "logs.page_down",
    "logs.page_up",
    "logs.right",
    "logs.save_cancel",
    "metrics_list.bottom",
    "metrics_list.down",
    "metrics_list.page_down",
    "metrics_list.page_up",
    "metrics_list.top",
    "metrics_list.up",
    "quit_confirm.no",
    "quit_confirm.yes",
    "runbook_resume.later",
    "runbook_start.cancel",
    "runbook_start.start",
    "runbook_wizard.cancel_run",
    "runbook_wizard.close",
    "runbook_wizard.current",
    "runbook_wizard.mark_done",
    "runbook_wizard.mark_not_done",
    "runbook_wizard.run",
    "runbook_wizard.run_reads",
    "runbook_wizard.skip",
    "runbook_wizard.verify",
    "runbook_wizard.window",
})


# Binding-id prefix -> (the pane it belongs to, or "Dialogs"; a human title for the help).
SECTION_TITLES: dict[str, tuple[str, str]] = {
    "logs": ("Logs", "log view, filter bar, record detail, save"),
    "log_groups": ("Logs", "counting by field (g)"),
    "metrics_list": ("Metrics", "metric list"),
    "incident_detail": ("Incidents", "incident detail"),
    "incident_event": ("Incidents", "a timeline event"),
    "incident_export": ("Incidents", "export"),
    "incident_note": ("Incidents", "adding a note"),
    "incident_open": ("Incidents", "declaring an incident"),
    "incident_postmortem": ("Incidents", "post-mortem editor"),
    "incident_role": ("Incidents", "roles"),
    "incident_severity": ("Incidents", "severity"),
    "incident_status": ("Incidents", "status"),
    "incident_update": ("Incidents", "status update"),
    "runbook_resume": ("Runbooks", "resuming a run"),
    "runbook_start": ("Runbooks", "starting a runbook"),
    "runbook_wizard": ("Runbooks", "runbook wizard"),
    "confirm_destructive": ("Dialogs", "confirming a destructive step"),
    "help": ("Dialogs", "this help"),
    "alert_detail": ("Overview", "an alert in full (v)"),
    "quit_confirm": ("Dialogs", "quitting while a run or a dialog is open"),
}


def _widget_bindings() -> list[tuple[type, list[Binding]]]:
    found: list[tuple[type, list[Binding]]] = []
    seen: set[type] = set()
    for package_name in _PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            try:
                module = importlib.import_module(f"{package_name}.{info.name}")
            except Exception:  # a broken optional module must not break help
                continue
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls in seen or not issubclass(cls, DOMNode) or not cls.__module__.startswith("cs_console."):
                    continue
                seen.add(cls)
                bindings = [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
                if bindings:
                    found.append((cls, bindings))
    return found


def widget_binding_sections() -> list[tuple[str, str, list[Binding]]]:
    """(pane or "Dialogs", human title, bindings) for every widget and dialog, one section per title."""
    merged: dict[tuple[str, str], list[Binding]] = {}
    for cls, bindings in _widget_bindings():
        for b in bindings:
            prefix = (b.id or "").split(".", 1)[0]
            group, title = SECTION_TITLES.get(prefix, ("Dialogs", (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".").lower()))
            merged.setdefault((group, title), []).append(b)
    return [(group, title, bindings) for (group, title), bindings in merged.items()]


def help_sections(pane_sections: list[tuple[str, list[Binding]]], widget_sections: list[tuple[str, str, list[Binding]]]) -> list[tuple[str, list[Binding]]]:
    """Global first, then each pane followed by its dialogs, then the other dialogs."""
    out: list[tuple[str, list[Binding]]] = []
    for title, bindings in pane_sections:
        out.append((title if title == "Global" else f"{title} pane", bindings))
        out += [(f"{title} · {sub}", b) for group, sub, b in widget_sections if group == title]
    out += [(f"Dialogs · {sub}", b) for group, sub, b in widget_sections if group not in {t for t, _ in pane_sections}]
    return out


def scanned_binding_ids() -> set[str]:
    """The ids the scan finds (imports every widget and screen module)."""
    return {b.id for _, bindings in _widget_bindings() for b in bindings if b.id}
