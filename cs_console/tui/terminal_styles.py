"""Writing styled text with the fewest SGR codes: each style written as a change from the last.

Rich (and so Textual) writes every segment as `ESC[<all codes>m text ESC[0m`: a
reset after each piece and the whole style again before the next, even when the
next piece has the same style. On a log row (timestamp, coloured level, message,
all on the theme's background) that is more bytes of escape codes than of text.
A terminal keeps its current style across text and cursor moves, as curses
relies on, so here a style is written as the difference from the one in force:
nothing for the same style, `ESC[1;38;5;179m` to go from the row's colours to a
bold yellow level label, `ESC[22;38;5;189m` back.

Only ECMA-48 codes every terminal Textual supports knows are used to turn an
attribute off (22 bold/dim, 23 italic, 24 underline, 27 reverse, 29 strike, 39/49
default colours); any other attribute to turn off, or a shorter way, starts from
a reset (`ESC[0;…m`). A write starts in the reset state, as Rich's and Textual's
own output assumes (all of it ends with a reset), and ends with a reset, so
whatever is written next starts where it expects to.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style

RESET = "\x1b[0m"

# (on code, Style property) for each attribute Rich writes, in Rich's order.
_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("1", "bold"), ("2", "dim"), ("3", "italic"), ("4", "underline"), ("5", "blink"), ("6", "blink2"),
    ("7", "reverse"), ("8", "conceal"), ("9", "strike"), ("21", "underline2"), ("51", "frame"),
    ("52", "encircle"), ("53", "overline"),
)
# The code that turns an attribute off, for those one code turns off everywhere.
_OFF_CODES = {"1": "22", "2": "22", "3": "23", "4": "24", "7": "27", "9": "29"}
# What each of those codes turns off: 22 both bold and dim, 24 single and double underline.
_CLEARS = {"22": {"1", "2"}, "23": {"3"}, "24": {"4", "21"}, "27": {"7"}, "29": {"9"}}

_Key = tuple[frozenset[str], str, str]  # (attributes on, foreground codes, background codes)
_PLAIN: _Key = (frozenset(), "", "")  # the reset state


class StyleWriter:
    """Renders segments to terminal text, tracking the style in force (one per write)."""

    def __init__(self, color_system: ColorSystem | None) -> None:
        # As Textual's Strip.render: a console without a colour system still gets colours.
        self.color_system = color_system or ColorSystem.TRUECOLOR
        self._state: _Key | None = _PLAIN  # None: unknown
        self._keys: dict[Style, _Key] = {}
        self._moves: dict[tuple[_Key | None, _Key], str] = {}

    def write(self, segments: Iterable[Segment], out: list[str]) -> None:
        """Append the segments' text with the codes that change the style in force."""
        for text, style, _control in segments:
            if not text:
                continue
            if style is not None and style.link:
                # A hyperlink is written as Rich writes it, self-contained.
                if self._state != _PLAIN:
                    out.append(RESET)
                out.append(_render_alone(style, text, self.color_system))
                self._state = _PLAIN  # Rich ends it with a reset
                continue
            key = self._key(style)
            if key != self._state:
                out.append(self._move(self._state, key))
                self._state = key
            out.append(text)

    def finish(self, out: list[str]) -> None:
        """End the write in the reset state (what Rich's own output assumes)."""
        if self._state != _PLAIN:
            out.append(RESET)
        self._state = _PLAIN

    def _key(self, style: Style | None) -> _Key:
        if style is None:
            return _PLAIN
        key = self._keys.get(style)
        if key is None:
            if len(self._keys) > 2000:
                self._keys.clear()
            on = frozenset(code for code, name in _ATTRIBUTES if getattr(style, name))
            fg = style.color.downgrade(self.color_system).get_ansi_codes() if style.color is not None else ()
            bg = style.bgcolor.downgrade(self.color_system).get_ansi_codes(foreground=False) if style.bgcolor is not None else ()
            key = self._keys[style] = (on, ";".join(fg), ";".join(bg))
        return key

    def _move(self, before: _Key | None, after: _Key) -> str:
        move = self._moves.get((before, after))
        if move is None:
            if len(self._moves) > 4000:
                self._moves.clear()
            move = self._moves[(before, after)] = transition(before, after)
        return move


def _full_codes(key: _Key) -> list[str]:
    on, fg, bg = key
    codes = [code for code, _ in _ATTRIBUTES if code in on]
    return codes + [c for c in (fg, bg) if c]


def transition(before: _Key | None, after: _Key) -> str:
    """The shortest SGR sequence that turns style `before` (None: unknown) into `after`."""
    from_reset = "\x1b[" + ";".join(["0", *_full_codes(after)]) + "m"
    if before is None:
        return from_reset
    if before == after:
        return ""
    on_before, fg_before, bg_before = before
    on_after, fg_after, bg_after = after
    off: set[str] = set()
    for code in on_before - on_after:
        off_code = _OFF_CODES.get(code)
        if off_code is None:
            return from_reset
        off.add(off_code)
    cleared = set().union(*(_CLEARS[code] for code in off))
    # Written again: what is new, and what an off code cleared that is to stay (bold after 22).
    codes = sorted(off) + [code for code, _ in _ATTRIBUTES if code in on_after and (code not in on_before or code in cleared)]
    if fg_after != fg_before:
        codes.append(fg_after or "39")
    if bg_after != bg_before:
        codes.append(bg_after or "49")
    if not codes:
        return ""
    diff = "\x1b[" + ";".join(codes) + "m"
    return diff if len(diff) < len(from_reset) else from_reset


def _render_alone(style: Style, text: str, color_system: ColorSystem) -> str:
    # Rich's own rendering (a reset at the end): used for hyperlinks only.
    return style.render(text, color_system=color_system)
