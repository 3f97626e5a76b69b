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

from cs_console.domain.binding_ids import DIALOG_BINDING_IDS

_PACKAGES = ("cs_console.tui.widgets", "cs_console.tui.screens")

# The ids of those bindings are written out in the domain, so that checking a [keymap]
# imports no dialog or widget module (tests/test_keymap_lazy.py keeps them equal to the scan).
EXTRA_BINDING_IDS: frozenset[str] = DIALOG_BINDING_IDS


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
    "runbook_pick": ("Runbooks", "choosing a team request or run (a, x, t)"),
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
