"""Sending only the cells that changed: which cells of a row differ since the last frame.

The log view keeps the frame it last showed and marks only the changed spans
of each row dirty (`changed_spans`); textual_compat's trimmed update writes just
those spans instead of everything left of them. Together a scrolling log costs a
fraction of the bytes, as curses does for lnav.

Everything here counts terminal cells, not string indices: a wide character
(CJK, most emoji) takes two cells, a combining mark or a zero-width character
none. A row that is all ASCII (the common case) is one cell per character and
takes the fast path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.style import Style

from cs_console.tui.terminal_cells import WIDE_TAIL, graphemes

# Unchanged runs shorter than this are re-sent rather than skipped: a cursor
# move and a new style cost about as many bytes.
MERGE_GAP = 20

Cells = Sequence[str]  # one entry per terminal cell: a str (ASCII row) or a list of clusters
Signature = tuple[Cells, str]  # (cells, one style id per cell)


def cell_signature(segments: Iterable[Segment], style_ids: dict[Style | None, str]) -> Signature:
    """The row as cells and a style id per cell. `style_ids` gives each style a one-character id."""
    texts: list[str] = []
    ids: list[str] = []
    for segment in segments:
        sid = style_ids.get(segment.style)
        if sid is None:
            if len(style_ids) > 4000:  # themes switched many times: start afresh
                style_ids.clear()
            sid = style_ids[segment.style] = chr(0x100 + len(style_ids))
        texts.append(segment.text)
        ids.append(sid)
    text = "".join(texts)
    if text.isascii():
        return text, "".join(sid * len(t) for sid, t in zip(ids, texts))
    cells: list[str] = []
    styles: list[str] = []
    lead = ""  # zero-width characters before the first cell go with it
    for sid, part in zip(ids, texts):
        for cluster, width in graphemes(part):
            if width == 0:
                if cells:  # a combining mark or joiner belongs to the cell before it
                    cells[-1 if cells[-1] != WIDE_TAIL else -2] += cluster
                else:
                    lead += cluster
                continue
            cells.append(lead + cluster)
            lead = ""
            styles.append(sid)
            for _ in range(width - 1):
                cells.append(WIDE_TAIL)
                styles.append(sid)
    return cells, "".join(styles)


def changed_spans(before: Signature, after: Signature) -> list[tuple[int, int]]:
    """[start, end) cell ranges where text or style differ (runs closer than MERGE_GAP merged),
    never starting or ending inside a wide character."""
    cells_a, style_a = before
    cells_b, style_b = after
    n = min(len(cells_a), len(cells_b))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if cells_a[i] == cells_b[i] and style_a[i] == style_b[i]:
            i += 1
            continue
        start = i
        last = i
        i += 1
        while i < n and i - last <= MERGE_GAP:
            if cells_a[i] != cells_b[i] or style_a[i] != style_b[i]:
                last = i
            i += 1
        spans.append((start, last + 1))
        i = last + 1
    if len(cells_a) != len(cells_b):
        spans.append((n, max(len(cells_a), len(cells_b))))
    return [_whole_characters(span, cells_a, cells_b) for span in spans]


def _whole_characters(span: tuple[int, int], a: Cells, b: Cells) -> tuple[int, int]:
    start, end = span
    while start > 0 and ((start < len(a) and a[start] == WIDE_TAIL) or (start < len(b) and b[start] == WIDE_TAIL)):
        start -= 1
    while (end < len(a) and a[end] == WIDE_TAIL) or (end < len(b) and b[end] == WIDE_TAIL):
        end += 1
    return start, end
