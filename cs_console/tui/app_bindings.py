"""The console's bindings as help lists them, and the [keymap] checked against their ids."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import Binding

from cs_console.tui.pane import Pane


def binding_sources(app: Any) -> list[tuple[str, list[Binding]]]:
    """(section, bindings) of a ConsoleApp, for the help screen and keymap validation."""
    titles = {f"app.pane{spec.key}": spec.title for spec in app.pane_specs}
    global_bindings = [
        replace(b, description=f"Show {titles[b.id]}") if b.id in titles else b
        for b in app.BINDINGS
        if isinstance(b, Binding) and not (b.id or "").startswith("app.pane") or (isinstance(b, Binding) and b.id in titles)
    ]
    palette = Binding("ctrl+p", "command_palette", "Command palette: every action by name")
    replay = replay_bindings() if getattr(app.env, "replay", None) is not None else []
    sections: list[tuple[str, list[Binding]]] = [("Global", [*global_bindings, palette, *replay])]
    for cls in app._pane_classes:
        bindings: list[Binding] = []
        for klass in cls.__mro__:
            bindings += [b for b in getattr(klass, "BINDINGS", []) if isinstance(b, Binding) and klass is not object]
            if klass is Pane:
                break
        sections.append((cls.TITLE, bindings))
    return sections


def replay_bindings() -> list[Binding]:
    """The replay time bar's keys (`cs-console replay`)."""
    from cs_console.tui.widgets.replay_bar import REPLAY_BINDINGS

    return REPLAY_BINDINGS


def apply_keymap(app: Any, keymap: dict[str, str]) -> list[str]:
    """Set the keymap's known ids on `app`; returns a notice per unknown id."""
    if not keymap:
        return []
    # Checked against declared ids: importing every pane here would defeat the lazy mount.
    from cs_console.tui.binding_catalog import EXTRA_BINDING_IDS

    known = {b.id for b in app.BINDINGS if isinstance(b, Binding) and b.id and not b.id.startswith("app.pane")}
    known |= {f"app.pane{spec.key}" for spec in app.pane_specs}
    known |= {binding_id for spec in app.pane_specs for binding_id in spec.binding_ids}
    known |= EXTRA_BINDING_IDS | {b.id for b in replay_bindings() if b.id}
    app.set_keymap({k: v for k, v in keymap.items() if k in known})
    return [f"keymap: unknown binding id {binding_id!r} ignored (see F1 for ids)" for binding_id in sorted(set(keymap) - known)]
