"""Terminal cells as Textual lays them out: grapheme clusters and their widths, cutting a row at a cell.

A wide character (CJK, most emoji) takes two cells, a combining mark or a
zero-width character none (it joins the cell before it). The widths are Rich's,
so a cell here is a cell of Textual's layout.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import get_character_cell_size
from rich.segment import Segment

try:
    from rich.cells import split_graphemes as _split_graphemes
except ImportError:  # Rich before 14
    _split_graphemes = None

# The second cell of a wide character: never a character of its own, so a span
# that starts or ends on it is widened to the whole character.
WIDE_TAIL = "\x00"


def graphemes(text: str) -> list[tuple[str, int]]:
    """(cluster, cells) as Rich measures them, so cells here are the cells Textual lays out
    (Rich 14+ joins emoji ZWJ sequences and variation selectors; older Rich goes by character)."""
    if _split_graphemes is not None:
        spans, _ = _split_graphemes(text)
        return [(text[start:end], width) for start, end, width in spans]
    return [(char, get_character_cell_size(char)) for char in text]


def crop_cells(segments: Iterable[Segment], start: int, end: int) -> tuple[int, list[Segment]]:
    """The characters whose cells fall in [start, end), with their combining marks, and the
    cell the result begins at: earlier than `start` when a wide character straddles it.
    A wide character straddling `end` is kept whole (the cell after it is its own)."""
    out: list[Segment] = []
    pos = 0
    begin = start
    keep = start <= 0  # zero-width characters before the first cell go with it
    for segment in segments:
        kept: list[str] = []
        for cluster, width in graphemes(segment.text):
            if width == 0:
                if keep:
                    kept.append(cluster)
                continue
            keep = pos < end and pos + width > start
            if keep:
                if pos < begin:
                    begin = pos
                kept.append(cluster)
            pos += width
        if kept:
            out.append(Segment("".join(kept), segment.style))
        if pos >= end and not keep:
            break
    return begin, out
