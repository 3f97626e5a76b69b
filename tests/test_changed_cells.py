"""The frame diff and the trimmed terminal write, by cells: wide characters, combining marks and
zero-width characters paint right, checked on a terminal emulator (pyte) fed the real output."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timezone

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.app import App, ComposeResult
from textual.drivers.headless_driver import HeadlessDriver
from textual.strip import Strip
from wcwidth import wcwidth

from cs_console.domain.log_record import Level, LogRecord
from cs_console.tui import textual_compat
from cs_console.tui.terminal_cells import crop_cells
from cs_console.tui.widgets.changed_cells import MOVE_COST, cell_signature, changed_spans
from cs_console.tui.widgets.log_view import LogView

# What safe_text lets through that is not one cell per character: wide (CJK, emoji),
# combining marks, zero-width space. (Emoji ZWJ sequences are left out: Rich lays
# "👍\u200d👍" out as one 2-cell emoji, pyte, like many terminals, as two.)
ALPHABET = ["a", "b", "c", " ", "-", "日", "本", "語", "👍", "e\u0301", "\u200b", "x\u0308"]
# Styles as a log row has them (all on one background), and changes a write must undo
# (bold off, colours back to default, attributes only a reset turns off).
STYLES = [
    Style(), Style(bold=True), Style(color="red"), Style(color="#d7af5f", bgcolor="#000010"),
    Style(bold=True, color="#d7af5f", bgcolor="#000010"), Style(italic=True, underline=True, bgcolor="blue"),
    Style(reverse=True, strike=True), Style(bold=True, dim=True), Style(dim=True), Style(blink=True, color="red"),
]
WIDTH = 24


def test_changed_spans_skip_equal_cells_when_a_cursor_move_is_cheaper() -> None:
    before = ("2026-11-27 03:00:01.250 INFO  a" + " " * 40, "x" * 71)
    after = ("2026-11-27 03:00:01.750 INFO  b" + " " * 40, "x" * 71)
    assert changed_spans(before, after) == [(20, 21), (30, 31)]  # 9 equal cells: a move is cheaper
    near = ("2026-11-27 03:00:01.750 INFO a" + " " * 40, "x" * 70)
    assert changed_spans(("2026-11-27 03:00:01.250 INFO b" + " " * 40, "x" * 70), near) == [(20, 30)]  # 8: re-sent
    gap = "a" + " " * (MOVE_COST + 1) + "b"
    assert changed_spans((gap, "x" * len(gap)), (gap.upper(), "x" * len(gap))) == [(0, 1), (MOVE_COST + 2, MOVE_COST + 3)]
    # an unchanged level label in its own style between two changes is skipped, however short
    assert changed_spans(("1 WARN 2", "xxyyyyxx"), ("3 WARN 4", "xxyyyyxx")) == [(0, 1), (7, 8)]
    # ... and re-sent when the style to resume in would cost as much as the label
    assert changed_spans(("1 W2", "xxyx"), ("3 W4", "xxyy")) == [(0, 4)]
    # a style change alone is a change
    assert changed_spans(("abc", "xxx"), ("abc", "xyx")) == [(1, 2)]
    assert changed_spans(("abc", "xxx"), ("abc", "xxx")) == []


def test_the_diff_counts_cells_not_characters() -> None:
    ids: dict = {}
    before = cell_signature([Segment("日a\u200bzz")], ids)
    after = cell_signature([Segment("日b\u200bzz")], ids)
    assert changed_spans(before, after) == [(2, 3)]  # the cell after the wide character
    # a change of a wide character alone covers both its cells
    assert changed_spans(cell_signature([Segment("a日z")], ids), cell_signature([Segment("a本z")], ids)) == [(1, 3)]
    # a combining mark is part of its cell
    assert changed_spans(cell_signature([Segment("ae")], ids), cell_signature([Segment("ae\u0301")], ids)) == [(1, 2)]


def test_crop_by_cells_keeps_characters_whole() -> None:
    begin, segs = crop_cells([Segment("日本語 text")], 1, 5)
    assert (begin, "".join(s.text for s in segs)) == (0, "日本語")
    begin, segs = crop_cells([Segment("ae\u0301b")], 1, 2)
    assert (begin, "".join(s.text for s in segs)) == (1, "e\u0301")
    begin, segs = crop_cells([Segment("ae\u0301b")], 2, 3)
    assert (begin, "".join(s.text for s in segs)) == (2, "b")  # the mark stays with its e


def test_partial_updates_start_at_the_dirty_cell() -> None:
    """The installed ChopsUpdate writes a dirty span from its first cell, not from the widget's left edge."""
    assert textual_compat.install_trimmed_updates()
    console = Console(color_system=None, force_terminal=True, width=80)
    strip = Strip([Segment("2026-11-27 03:00:01.750 INFO  payment")])
    update = ChopsUpdate([{0: strip}], [(0, 20, 23)], [[strip.cell_length]])
    assert update.render_segments(console) == "\x1b[1;21H750"
    # the row: the write lands on the cell after 日 and writes the new character
    row = Strip([Segment("日b\u200bzz")])
    update = ChopsUpdate([{0: row}], [(0, 2, 3)], [[row.cell_length]])
    assert update.render_segments(console) == "\x1b[1;3Hb\u200b"
    # a span starting inside a wide character starts at the character
    wide = Strip([Segment("日本語 text")])
    update = ChopsUpdate([{0: wide}], [(0, 1, 5)], [[wide.cell_length]])
    assert update.render_segments(console) == "\x1b[1;1H日本語"


class TerminalScreen(pyte.Screen):
    """pyte, with zero-width characters drawn as xterm draws them: joined to the cell before,
    dropped at a line's start. (pyte stops drawing at a zero-width character that is not a
    combining mark, and wraps the line for a combining mark in the last column.)"""

    def draw(self, data: str) -> None:
        for char in data:
            if wcwidth(char) == 0:
                x, y = min(self.cursor.x, self.columns), self.cursor.y
                if x:
                    cell = self.buffer[y][x - 1]
                    self.buffer[y][x - 1] = cell._replace(data=cell.data + char)
                continue
            super().draw(char)


def _cells(screen: pyte.Screen) -> list[list[tuple]]:
    """Every cell with every attribute pyte keeps (it has no dim)."""
    return [
        [(c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.strikethrough, c.reverse, c.blink) for c in (screen.buffer[y][x] for x in range(screen.columns))]
        for y in range(screen.lines)
    ]


def _fresh(strips: list[Strip], console: Console) -> pyte.Screen:
    screen = TerminalScreen(WIDTH, len(strips))
    stream = pyte.Stream(screen)
    for y, strip in enumerate(strips):
        stream.feed(f"\x1b[{y + 1};1H" + strip.render(console))
    return screen


row_text = st.lists(st.sampled_from(ALPHABET), max_size=14).map("".join)
row_strip = st.lists(st.tuples(row_text, st.sampled_from(STYLES)), min_size=1, max_size=3)


def _strip(parts: list[tuple[str, Style]]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts]).adjust_cell_length(WIDTH)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(row_strip, min_size=3, max_size=3), min_size=2, max_size=6))
def test_row_updates_through_the_trimmed_write_paint_what_was_meant(frames: list[list[list[tuple[str, Style]]]]) -> None:
    assert textual_compat.install_trimmed_updates()
    console = Console(color_system="truecolor", force_terminal=True, width=WIDTH, legacy_windows=False)
    ids: dict = {}
    first = [_strip(r) for r in frames[0]]
    screen = _fresh(first, console)
    stream = pyte.Stream(screen)
    shown = first
    for frame in frames[1:]:
        new = [_strip(r) for r in frame]
        spans = []
        for y, (old, cur) in enumerate(zip(shown, new)):
            for start, end in changed_spans(cell_signature(old, ids), cell_signature(cur, ids)):
                spans.append((y, start, end))
        if spans:
            update = ChopsUpdate([{0: s} for s in new], spans, [[WIDTH] for _ in new])
            stream.feed(update.render_segments(console))
        shown = new
        assert _cells(screen) == _cells(_fresh(new, console))


class _Lines:
    """A LogLines provider: the records of one generation (new keys each time, as new records get)."""

    def __init__(self, records: list[LogRecord], base: int) -> None:
        self.records = records
        self.base = base

    def __len__(self) -> int:
        return len(self.records)

    def record(self, index: int) -> LogRecord:
        return self.records[index]

    def key(self, index: int) -> int:
        return self.base + index

    def index_for_key(self, key: int) -> int:
        return max(0, min(len(self.records), key - self.base))


class _ViewApp(App):
    def compose(self) -> ComposeResult:
        yield LogView(id="view")


@pytest.mark.parametrize("compat", ["on", "off"])
async def test_the_log_view_on_a_terminal_shows_what_a_full_repaint_shows(monkeypatch: pytest.MonkeyPatch, compat: str) -> None:
    """The real output path: Textual's compositor and the terminal write, captured and fed to pyte,
    against a full repaint of the same screen, over random rows with wide and zero-width text."""
    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    if compat == "off":  # Textual's own partial update: slower, and as correct
        monkeypatch.setenv(textual_compat.ENV_SWITCH, "off")
        textual_compat.uninstall_trimmed_updates()
    rng = random.Random(20261203)
    base = LogRecord(ts=datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc), level=Level.INFO, source="edge", message="")
    size = (60, 10)
    app = _ViewApp()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        for generation in range(1, 41):
            messages = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(12)]
            records = [replace(base, message=m, level=rng.choice([Level.INFO, Level.WARN, Level.ERROR])) for m in messages]
            view.set_lines(_Lines(records, generation * 1000))
            view.lines_changed()
            await pilot.pause()
        await pilot.pause(0.1)
        incremental = TerminalScreen(*size)
        pyte.Stream(incremental).feed("".join(written))
        written.clear()
        app.screen.refresh(repaint=True)
        app.refresh(repaint=True, layout=True)
        await pilot.pause(0.1)
        full = TerminalScreen(*size)
        pyte.Stream(full).feed("".join(written))
    if compat == "off":
        assert not textual_compat.install_trimmed_updates()
        monkeypatch.delenv(textual_compat.ENV_SWITCH)
        assert textual_compat.install_trimmed_updates()
    assert written, "the full repaint wrote nothing"
    assert incremental.display == full.display
    assert _cells(incremental) == _cells(full)


def test_every_private_textual_name_the_console_uses_exists() -> None:
    """Upgrading Textual past a renamed private name fails here, not at a user's terminal."""
    assert textual_compat.missing_names() == []
    assert textual_compat.enabled()


async def test_a_followed_tail_writes_only_what_changed_while_the_scroll_range_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    """One record at a time while following: the range grows and the thumb moves every few
    records, yet each frame writes a fraction of a full repaint, and the screen is the full repaint's."""
    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    base = LogRecord(ts=datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc), level=Level.INFO, source="edge", message="")
    records = [replace(base, message=f"request {i:04d} served", level=Level.WARN if i % 3 else Level.INFO) for i in range(60)]
    size = (60, 10)
    app = _ViewApp()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(LogView)
        view.set_lines(_Lines(records[:12], 0))
        await pilot.pause(0.1)
        incremental = TerminalScreen(*size)
        stream = pyte.Stream(incremental)
        steps: list[int] = []
        for count in range(13, 61):
            view.set_lines(_Lines(records[:count], 0))
            await pilot.pause()
            steps.append(sum(map(len, written)))
            stream.feed("".join(written))
            written.clear()
        await pilot.pause(0.1)
        stream.feed("".join(written))
        written.clear()
        app.screen.refresh(repaint=True)
        app.refresh(repaint=True, layout=True)
        await pilot.pause(0.1)
        full_bytes = sum(map(len, written))
        full = TerminalScreen(*size)
        pyte.Stream(full).feed("".join(written))
    # every row changes (a shift by one) but only its changed cells are written, the thumb included
    assert max(steps[1:]) < full_bytes / 2, (steps, full_bytes)
    assert incremental.display == full.display
    assert _cells(incremental) == _cells(full)
    assert full.display[-1].rstrip().endswith("request 0059 served")
