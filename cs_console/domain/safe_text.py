"""Make untrusted text (log lines, query text, user names) safe to show in a terminal.

Invisible and control characters are made visible instead of being
interpreted; overlong text is cut with a marker. The result is plain text:
render it with rich.text.Text / Content, never as markup.

The rule is by Unicode category, not a hand-kept list, so a character the
list forgot (U+061C, U+2028) cannot slip through:

- ``Cc`` (C0, DEL, C1 controls): escape sequences, CR, line feeds;
- ``Cf`` (format: the bidi marks and embeddings/isolates U+061C, U+200E/F,
  U+202A-E, U+2066-9, zero-width characters, BOM, tag characters): they
  reorder or hide what the operator reads (Trojan Source);
- ``Zl`` / ``Zp`` (U+2028 / U+2029): line breaks for a terminal;
- ``Cs`` (lone surrogates): not printable, would fail the terminal's encoder.

Nothing is allowed through: a ZWJ between emoji is shown as ``\\u200d`` too
(a broken-up emoji is a small price for a rule without exceptions). The only
exception is TAB, which becomes four spaces.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CUT_MARKER = " …[cut {n} chars]"

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})

# Printable ASCII and TAB need no look-up; anything else is judged by category.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\t]")

_NAMES = {"\x1b": "␛", "\n": "⏎", "\r": "␍", "\x07": "␇", "\x08": "␈", "\x00": "␀"}


@lru_cache(maxsize=4096)
def _shown(ch: str) -> str:
    if unicodedata.category(ch) not in UNSAFE_CATEGORIES:
        return ch
    if ch in _NAMES:
        return _NAMES[ch]
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def is_unsafe(ch: str) -> bool:
    """True when `ch` must never reach the terminal as itself."""
    return unicodedata.category(ch) in UNSAFE_CATEGORIES


def _visible(match: re.Match[str]) -> str:
    return _shown(match.group(0))


def safe_text(text: str, max_len: int | None = 4000) -> str:
    """Printable, single-line, length-capped version of `text`."""
    if max_len is not None and len(text) > max_len:
        cut = len(text) - max_len
        text = text[:max_len]
        suffix = CUT_MARKER.format(n=cut)
    else:
        suffix = ""
    if _NOT_PLAIN.search(text):
        text = _NOT_PLAIN.sub(_visible, text)
    text = text.replace("\t", "    ")
    return text + suffix


def decode_bytes(data: bytes) -> str:
    """Invalid UTF-8 never raises: bad bytes are shown as \\xNN."""
    return data.decode("utf-8", errors="backslashreplace")
