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


def widget_binding_sections() -> list[tuple[str, list[Binding]]]:
    sections: list[tuple[str, list[Binding]]] = []
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
                    title = (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".")
                    sections.append((f"{cls.__name__}: {title}"[:70], bindings))
    return sections


def extra_binding_ids() -> set[str]:
    return {b.id for _, bindings in widget_binding_sections() for b in bindings if b.id}
