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

# What the write of a row costs, in bytes, to choose between re-sending an
# unchanged run of cells and skipping it: a cursor move (`ESC[12;34H`) against
# the run's text plus each style change on the way (`ESC[1;38;5;179m`; styles
# are written as changes, see terminal_styles).
MOVE_COST = 8
STYLE_COST = 12

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
    """[start, end) cell ranges where text or style differ, never starting or ending inside
    a wide character. Two ranges are joined when re-sending the unchanged cells between them
    costs no more than skipping them (a cursor move, and the style to resume in)."""
    cells_a, style_a = before
    cells_b, style_b = after
    n = min(len(cells_a), len(cells_b))
    changed = [i for i in range(n) if cells_a[i] != cells_b[i] or style_a[i] != style_b[i]]
    spans: list[tuple[int, int]] = []
    if changed:
        start = last = changed[0]
        for i in changed[1:]:
            if i - last - 1 + STYLE_COST * _style_changes(style_b, last, i) > MOVE_COST + STYLE_COST * (style_b[i] != style_b[last]):
                spans.append((start, last + 1))
                start = i
            last = i
        spans.append((start, last + 1))
    if len(cells_a) != len(cells_b):
        spans.append((n, max(len(cells_a), len(cells_b))))
    return [_whole_characters(span, cells_a, cells_b) for span in spans]


def _style_changes(styles: str, last: int, nxt: int) -> int:
    """How many times the style changes writing cells last+1 .. nxt after cell `last`."""
    if nxt - last == 1:
        return int(styles[nxt] != styles[last])
    run = styles[last : nxt + 1]
    if run.count(run[0]) == len(run):
        return 0
    return sum(1 for k in range(1, len(run)) if run[k] != run[k - 1])


def _whole_characters(span: tuple[int, int], a: Cells, b: Cells) -> tuple[int, int]:
    start, end = span
    while start > 0 and ((start < len(a) and a[start] == WIDE_TAIL) or (start < len(b) and b[start] == WIDE_TAIL)):
        start -= 1
    while (end < len(a) and a[end] == WIDE_TAIL) or (end < len(b) and b[end] == WIDE_TAIL):
        end += 1
    return start, end
