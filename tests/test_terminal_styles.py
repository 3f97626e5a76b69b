"""Styles written as changes from the one in force: the same cells as Rich's own output, fewer bytes."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style

from cs_console.tui.terminal_styles import RESET, StyleWriter

# A log row on the theme's background: text colour, a bold coloured level label.
BG = "#101010"
BASE = Style(color="#d7d7ff", bgcolor=BG)
WARN = Style(bold=True, color="#d7af5f", bgcolor=BG)
STYLES = [
    None, Style(), BASE, WARN, Style(bold=True, color="#ff5f5f", bgcolor=BG), Style(color="red"),
    Style(bold=True, dim=True), Style(dim=True), Style(italic=True, underline=True, bgcolor="blue"),
    Style(reverse=True, strike=True), Style(blink=True, color="red"), Style(underline2=True), Style(overline=True),
    Style(bgcolor="default", color="default"),
]
SYSTEMS = [ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD]


def _ours(segments: list[Segment], system: ColorSystem) -> str:
    out: list[str] = []
    writer = StyleWriter(system)
    writer.write(segments, out)
    writer.finish(out)
    return "".join(out)


def _rich(segments: list[Segment], system: ColorSystem) -> str:
    return "".join(text if style is None else style.render(text, color_system=system) for text, style, _ in segments)


def _screen(data: str) -> list[list[tuple]]:
    screen = pyte.Screen(40, 3)
    pyte.Stream(screen).feed(data)
    return [
        [(c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.strikethrough, c.reverse, c.blink) for c in (screen.buffer[y][x] for x in range(40))]
        for y in range(3)
    ]


def test_a_log_row_costs_one_change_per_style_change() -> None:
    row = [Segment("09:00:01.250 ", BASE), Segment("WARN  ", WARN), Segment("payment failed", BASE)]
    ours = _ours(row, ColorSystem.EIGHT_BIT)
    assert ours == "\x1b[38;5;189;48;5;233m09:00:01.250 \x1b[1;38;5;179mWARN  \x1b[22;38;5;189mpayment failed\x1b[0m"
    assert len(ours) == len(_rich(row, ColorSystem.EIGHT_BIT)) - 23
    # the same style again writes no codes at all; plain text after a style is a reset
    assert _ours([Segment("a", BASE), Segment("b", BASE)], ColorSystem.EIGHT_BIT).count("\x1b[") == 2
    assert _ours([Segment("a", WARN), Segment("b", None)], ColorSystem.EIGHT_BIT).endswith(f"{RESET}b")


def test_attributes_without_a_safe_off_code_start_from_a_reset() -> None:
    ours = _ours([Segment("a", Style(blink=True, color="red")), Segment("b", Style(color="red"))], ColorSystem.STANDARD)
    assert ours == "\x1b[5;31ma\x1b[0;31mb\x1b[0m"
    # bold off with 22 keeps dim, which 22 also turns off: written again
    bold_dim, dim = Style(bold=True, dim=True, color="red", bgcolor="blue"), Style(dim=True, color="red", bgcolor="blue")
    assert _ours([Segment("a", bold_dim), Segment("b", dim)], ColorSystem.STANDARD) == "\x1b[1;2;31;44ma\x1b[22;2mb\x1b[0m"
    # and the shorter of a change and a reset is written
    assert _ours([Segment("a", Style(bold=True, dim=True)), Segment("b", Style(dim=True))], ColorSystem.STANDARD) == "\x1b[1;2ma\x1b[0;2mb\x1b[0m"


def test_a_hyperlink_is_written_as_rich_writes_it() -> None:
    link = Style(color="red", link="https://example.com/")
    ours = _ours([Segment("x", BASE), Segment("site", link), Segment("y", BASE)], ColorSystem.EIGHT_BIT)
    assert link.render("site", color_system=ColorSystem.EIGHT_BIT) in ours
    assert ours.index(RESET) < ours.index("\x1b]8;")  # the state is reset before it
    assert ours.endswith("\x1b[38;5;189;48;5;233my\x1b[0m")  # and the next style written whole


segments = st.lists(st.tuples(st.text("ab -", min_size=0, max_size=5), st.integers(0, len(STYLES) - 1)), max_size=12)


def _fresh(style: Style | None) -> Style | None:
    # Rich caches a style's codes for the first colour system it is rendered with (one per
    # process in the console); the test renders the same styles in several.
    if style is not None:
        style._ansi = None
    return style


@settings(max_examples=400, deadline=None)
@given(segments, st.sampled_from(SYSTEMS))
def test_the_screen_is_the_one_rich_paints_in_no_more_bytes(parts: list[tuple[str, int]], system: ColorSystem) -> None:
    row = [Segment(text, _fresh(STYLES[i])) for text, i in parts]
    ours, rich = _ours(row, system), _rich(row, system)
    assert len(ours) <= len(rich)
    # After the row, Rich's own output must land in the reset state it assumes.
    after = "\x1b[2;1Hplain"
    assert _screen("\x1b[1;1H" + ours + after) == _screen("\x1b[1;1H" + rich + after)
