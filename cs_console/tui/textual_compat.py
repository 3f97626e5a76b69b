"""The one door to Textual's private API: every use of it is listed and guarded here.

Textual changes fast and its private names change without notice. The console
touches a few of them for speed and for a clean shutdown; each is listed in
PRIVATE_NAMES (checked by a test against the installed Textual), used only
through the helpers below, and each helper falls back to Textual's own public
behaviour when the version is not one we tested, when a name is missing, or when
the operator turns it off with CS_CONSOLE_TEXTUAL_COMPAT=off (the console stays
correct then, only slower: the log view repaints whole rows).

The one behaviour change, the trimmed partial update: Textual's ChopsUpdate writes
every dirty span from the start of the widget's chop, so marking only the changed
cells of a row still re-sends everything to their left. `install_trimmed_updates`
starts each write at the dirty cell instead, cutting by cells (wide characters kept
whole, combining marks with their base), so the frame diff in changed_cells pays
off, and writes each style as a change from the one in force instead of a reset
and the whole style per segment (terminal_styles). The output for any widget is
the same cells as Textual's, in fewer bytes. It is a general improvement that
could be offered to Textual as is.
"""

from __future__ import annotations

import os
from typing import Any

from rich.control import Control

from cs_console.tui.terminal_cells import crop_cells
from cs_console.tui.terminal_styles import StyleWriter

ENV_SWITCH = "CS_CONSOLE_TEXTUAL_COMPAT"
TESTED_VERSIONS = ("8.2.",)  # prefixes of the Textual versions the helpers were tested with
# Textual's private names the console relies on: (module or class path, attribute).
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("textual._compositor.ChopsUpdate", "render_segments"),
    ("textual.scroll_view.ScrollView", "_size_updated"),  # LogView: only a real size change repaints
    ("textual.widget.Widget", "_refresh_scrollbars"),  # LogView: scrollbars after a range change
    ("textual.widget.Widget", "_scroll_update"),  # LogView: a new range repaints the scrollbars only
    ("textual.widget.Widget", "_on_mouse_scroll_up"),  # LogView: scrolling up leaves follow mode
    ("textual.app.App", "_shutdown"),  # ConsoleApp: let a mounting pane finish before teardown
    ("textual.app.App", "_exit"),  # ConsoleApp: an exit was asked for
    ("textual.message_pump.MessagePump", "_closing"),  # the app or its screen is closing
)

_PATCHED = False
_ORIGINAL: Any = None  # Textual's own ChopsUpdate.render_segments, while ours is installed


def enabled() -> bool:
    """True when the private helpers may be used: a tested Textual and not switched off."""
    import textual

    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "off", "no", "false"):
        return False
    return textual.__version__.startswith(TESTED_VERSIONS)


def missing_names() -> list[str]:
    """The listed private names the installed Textual does not have (a test keeps this empty)."""
    import importlib

    missing: list[str] = []
    for path, attr in PRIVATE_NAMES:
        module_name, _, cls_name = path.rpartition(".")
        try:
            owner = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError):
            missing.append(path)
            continue
        # Instance attributes (_exit, _closing) exist only once __init__ has set them: look
        # for the assignment in the __init__ of the class that sets them instead.
        if not hasattr(owner, attr) and attr not in owner.__init__.__code__.co_names:
            missing.append(f"{path}.{attr}")
    return missing


# ---------------------------------------------------------------- app state


def app_is_closing(app: Any) -> bool:
    """Whether the app is on its way out (exit requested, closing, or not running)."""
    if not app.is_running:
        return True
    if not enabled():
        return False
    screen_closing = False
    try:
        screen_closing = bool(getattr(app.screen, "_closing", False))
    except Exception:  # noqa: BLE001 - no screen yet / screen stack empty while closing
        screen_closing = True
    return bool(getattr(app, "_exit", False)) or bool(getattr(app, "_closing", False)) or screen_closing


def refresh_scrollbars(widget: Any) -> None:
    """Decide now whether the widget's scrollbars show (Textual decides it on layout)."""
    method = getattr(widget, "_refresh_scrollbars", None) if enabled() else None
    if method is not None:
        method()
    else:
        widget.refresh(layout=True)


def set_scroll_range(widget: Any, size: Any) -> None:
    """Give a scrolling widget a new virtual size, repainting its scrollbars and not its content.

    Textual's `virtual_size` is a layout reactive: setting it repaints every cell of the
    widget. A widget that repaints its own changed cells (the log view) needs only the
    scrollbars redrawn, and a layout only when a scrollbar appears or goes.
    """
    update = getattr(widget, "_scroll_update", None) if enabled() else None
    if update is None:
        widget.virtual_size = size
        # Whether the scrollbar shows is decided on layout, which the log view's _size_updated
        # skips when only the range changed: decide it now, or a loaded machine could keep none.
        refresh_scrollbars(widget)
        return
    shown = (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar)
    widget.set_reactive(type(widget).virtual_size, size)
    update(size)  # decides which scrollbars show, sizes and repaints them
    if (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar) != shown:
        widget.refresh(layout=True)  # the content region changed width


# ---------------------------------------------------------------- trimmed partial updates


def _trimmed_render_segments(self: Any, console: Any) -> str:
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    # Styles are written as changes from the one in force (terminal_styles): fewer
    # bytes than Rich's reset-and-restyle per segment, the same cells on screen.
    writer = StyleWriter(getattr(console, "_color_system", None))
    write = writer.write
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items()):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                write(strip, sequences)
                continue
            start = x1 - x if x1 > x else 0
            stop = min(end, x2) - x
            if strip.text.isascii():  # one cell per character
                append(move_to(x + start, y).segment.text)
                write(strip.crop(start, stop), sequences)
                continue
            begin, segments = crop_cells(strip, start, stop)
            append(move_to(x + begin, y).segment.text)
            write(segments, sequences)
        # (Textual also sends a newline after each row here; every write above
        # starts with an absolute cursor move, so it is left out.)
    writer.finish(sequences)
    return "".join(sequences)


def _looks_like_chops_update(cls: Any) -> bool:
    code = getattr(cls.__init__, "__code__", None)
    return code is not None and code.co_varnames[1:4] == ("chops", "spans", "chop_ends")


def install_trimmed_updates() -> bool:
    """Make partial screen updates start at the dirty cell (idempotent); False when not installed."""
    global _PATCHED
    if _PATCHED:
        return True
    if not enabled():
        return False
    try:
        from textual import _compositor
    except ImportError:
        return False
    update_cls = getattr(_compositor, "ChopsUpdate", None)
    if update_cls is None or not _looks_like_chops_update(update_cls):
        return False
    global _ORIGINAL
    _ORIGINAL = update_cls.render_segments
    update_cls.render_segments = _trimmed_render_segments
    _PATCHED = True
    return True


def trimmed_updates_active() -> bool:
    return _PATCHED


def uninstall_trimmed_updates() -> None:
    """Back to Textual's own partial update (tests compare both)."""
    global _PATCHED, _ORIGINAL
    if _PATCHED and _ORIGINAL is not None:
        from textual import _compositor

        _compositor.ChopsUpdate.render_segments = _ORIGINAL
    _PATCHED, _ORIGINAL = False, None
