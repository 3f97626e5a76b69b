"""The panes of the console, in key order. Adding a pane: one module + one line here."""

from __future__ import annotations

import importlib

from cs_console.tui.pane import Pane

# "module:Class" so that a pane's imports cost nothing until the app starts.
PANES: tuple[str, ...] = (
    "cs_console.tui.panes.overview:OverviewPane",
    "cs_console.tui.panes.metrics:MetricsPane",
    "cs_console.tui.panes.logs:LogsPane",
)


def load_panes() -> list[type[Pane]]:
    classes: list[type[Pane]] = []
    for spec in PANES:
        module_name, class_name = spec.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        classes.append(cls)
    return classes
