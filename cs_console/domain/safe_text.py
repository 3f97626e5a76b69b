"""Make untrusted text (log lines, query text, user names) safe to show in a terminal.

Control characters and escape sequences are made visible instead of being
interpreted; overlong text is cut with a marker. The result is plain text:
render it with rich.text.Text / Content, never as markup.
"""

from __future__ import annotations

import re

CUT_MARKER = " …[cut {n} chars]"

# C0 controls except tab, DEL, C1 controls, and bidi/format characters that can
# reorder what the operator sees (Trojan Source style).
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_NAMES = {"\x1b": "␛", "\n": "⏎", "\r": "␍", "\x07": "␇", "\x08": "␈", "\x00": "␀"}


def _visible(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMES:
        return _NAMES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def safe_text(text: str, max_len: int | None = 4000) -> str:
    """Printable, single-line, length-capped version of `text`."""
    if max_len is not None and len(text) > max_len:
        cut = len(text) - max_len
        text = text[:max_len]
        suffix = CUT_MARKER.format(n=cut)
    else:
        suffix = ""
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(_visible, text)
    text = text.replace("\t", "    ")
    return text + suffix


def decode_bytes(data: bytes) -> str:
    """Invalid UTF-8 never raises: bad bytes are shown as \\xNN."""
    return data.decode("utf-8", errors="backslashreplace")
