"""The command palette (Ctrl+P): every action of the console by name, whichever pane is shown.

Panes add their own entries (`Pane.palette_commands`: runbooks by name, ...); an entry
of a pane that is not shown shows that pane first. The console-wide entries (declare an
incident, export, a function's logs) reach a pane through `with_pane`, which waits for
a pane that is still being mounted (panes after the first mount one by one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand

if TYPE_CHECKING:
    from cs_console.tui.pane import Pane

ConsoleApp = Any  # the app (importing it here would be a cycle: the app imports this module)

_MOUNT_TRIES = 200  # x 50 ms: a loaded machine mounts a pane in seconds


def with_pane(app: ConsoleApp, pane_id: str, action: Callable[["Pane"], Any], tries: int = _MOUNT_TRIES, *, drill: bool = False) -> None:
    """Show the pane and run `action` on it once it is mounted. drill: a drill-down, so Esc
    (app.back) returns to the pane it started from."""
    if tries == _MOUNT_TRIES:
        shown = app.current_pane
        if drill and shown is not None and shown.PANE_ID != pane_id:
            app.drilled_from = shown.PANE_ID
        app.show_pane(pane_id)
    pane = next((p for p in app.panes if p.PANE_ID == pane_id), None)
    if pane is not None and pane.is_mounted:
        action(pane)
    elif tries > 0:
        app.set_timer(0.05, lambda: with_pane(app, pane_id, action, tries - 1, drill=drill))
    else:
        app.notify(f"the {pane_id} pane did not open", severity="warning")


def drill_to_logs(app: ConsoleApp, filter_text: str) -> None:
    """The Logs pane filtered to `filter_text`; Esc comes back."""
    with_pane(app, "logs", _call("apply_filter", filter_text), drill=True)


def go_back(app: ConsoleApp) -> None:
    origin = getattr(app, "drilled_from", None)
    app.drilled_from = None
    if origin and app.current_pane is not None and app.current_pane.PANE_ID != origin:
        app.show_pane(origin)


def console_commands(app: ConsoleApp) -> Iterable[SystemCommand]:
    for spec in app.pane_specs:
        yield SystemCommand(f"Go to {spec.title}", f"Show the {spec.title} pane (key {spec.key})", lambda pid=spec.pane_id: app.show_pane(pid))
    yield SystemCommand("Refresh now", "Poll every source now (F5)", app.action_refresh_now)
    yield SystemCommand("Help", "Every key binding, by pane and dialog (F1)", app.action_help)
    yield SystemCommand("Declare an incident", "Open a new incident (Incidents pane, o)", lambda: with_pane(app, "incidents", _call("action_open_incident")))
    yield SystemCommand("Export the incident", "Post-mortem, timeline or status update of the selected incident (Incidents pane, e)",
                        lambda: with_pane(app, "incidents", _call("action_export")))
    yield SystemCommand("Logs: errors in the last hour", "Logs pane filtered to level>=error since=1h",
                        lambda: drill_to_logs(app, "level>=error since=1h"))
    snapshot = app.live.snapshot
    for fn in (snapshot.functions if snapshot is not None else ()):
        yield SystemCommand(f"Logs of function {fn.slug}", f"Its error logs in the last hour (function={fn.slug} level>=error since=1h)",
                            lambda slug=fn.slug: drill_to_logs(app, f"function={slug} level>=error since=1h"))
    shown = app.current_pane
    for pane in app.panes:
        if not pane.is_mounted:
            continue
        for title, help_text, callback in pane.palette_commands():
            if pane is shown:
                yield SystemCommand(title, help_text, callback)  # type: ignore[arg-type]
            else:
                yield SystemCommand(title, help_text, lambda pid=pane.PANE_ID, cb=callback: (app.show_pane(pid), cb()))  # type: ignore[misc, operator]


def _call(method: str, *args: Any) -> Callable[["Pane"], Any]:
    def run(pane: "Pane") -> Any:
        return getattr(pane, method)(*args)

    return run
