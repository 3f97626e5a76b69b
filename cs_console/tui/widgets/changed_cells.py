"""Sending only the cells that changed: which cells differ, and a terminal write that skips the rest.

The log view keeps the frame it last showed and marks only the changed spans
of each row dirty (`changed_spans`); `install_trimmed_updates` makes Textual
write just those spans instead of everything left of them. Together a
scrolling log costs a fraction of the bytes, as curses does for lnav.
"""

from __future__ import annotations

from typing import Any

# Unchanged runs shorter than this are re-sent rather than skipped: a cursor
# move and a new style cost about as many bytes.
MERGE_GAP = 20


def changed_spans(before: tuple[str, str], after: tuple[str, str]) -> list[tuple[int, int]]:
    """[start, end) cell ranges where text or style differ (runs closer than MERGE_GAP merged)."""
    text_a, style_a = before
    text_b, style_b = after
    n = min(len(text_a), len(text_b))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if text_a[i] == text_b[i] and style_a[i] == style_b[i]:
            i += 1
            continue
        start = i
        last = i
        i += 1
        while i < n and i - last <= MERGE_GAP:
            if text_a[i] != text_b[i] or style_a[i] != style_b[i]:
                last = i
            i += 1
        spans.append((start, last + 1))
        i = last + 1
    if len(text_a) != len(text_b):
        spans.append((n, max(len(text_a), len(text_b))))
    return spans


# ---------------------------------------------------------------- terminal output
#
# Textual's partial update (ChopsUpdate) writes every dirty span from the START
# of the widget's chop, so marking only the changed cells of a row still
# re-sends everything to their left. The replacement below starts each write at
# the dirty span instead (when no wide character is cut), which is what makes
# the frame diff above pay off: a scrolling log sends the cells that differ, as
# curses does. The output for any other widget is the same cells as before, or
# fewer. It is installed once, for the running Textual 8 only.

_PATCHED = False


def _trimmed_render_segments(self: Any, console: Any) -> str:
    from rich.control import Control

    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items()):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = x1 - x if x1 > x else 0
            if start and len(strip.text) != strip.cell_length:
                start = 0  # a wide character could be cut in half: write from the chop start
            strip = strip.crop(start, min(end, x2) - x)
            append(move_to(x + start, y).segment.text)
            append(strip.render(console))
        # (Textual also sends a newline after each row here; every write above
        # starts with an absolute cursor move, so it is left out.)
    return "".join(sequences)


def install_trimmed_updates() -> bool:
    """Make partial screen updates start at the dirty cell (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return True
    import textual
    from textual import _compositor

    update_cls = getattr(_compositor, "ChopsUpdate", None)
    if update_cls is None or not textual.__version__.startswith("8."):
        return False
    update_cls.render_segments = _trimmed_render_segments
    _PATCHED = True
    return True
