"""safe_text decides by Unicode category: no Cc, Cf, Zl, Zp or Cs character reaches the output as itself."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.domain.safe_text import UNSAFE_CATEGORIES, safe_text

UNSAFE_CODE_POINTS = [chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) in UNSAFE_CATEGORIES]


def _leaks(out: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in out if unicodedata.category(c) in UNSAFE_CATEGORIES]


def test_every_unsafe_code_point_is_escaped() -> None:
    # All of them, not a sample: the whole Unicode range is only ~1.1M code points.
    assert len(UNSAFE_CODE_POINTS) > 2000  # Cc + Cf + Zl + Zp + the surrogates
    for ch in UNSAFE_CODE_POINTS:
        out = safe_text(f"a{ch}b", max_len=None)
        assert not _leaks(out), (f"U+{ord(ch):04X}", out)
        assert out.startswith("a") and out.endswith("b")
        if ch != "\t":
            assert out != "ab" and ch not in out  # shown as a marker, not dropped


def test_the_characters_the_fault_run_found_are_shown() -> None:
    assert safe_text("x\u061cy") == "x\\u061cy"
    assert safe_text("line\u2028next\u2029para") == "line\\u2028next\\u2029para"
    assert safe_text("\u202eevil\u2066") == "\\u202eevil\\u2066"
    assert safe_text("\x1b[31mred\x07") == "␛[31mred␇"
    assert safe_text("tag\U000e0041") == "tag\\U000e0041"
    assert safe_text("\ufeffbom\u200b") == "\\ufeffbom\\u200b"


def test_printable_text_passes_unchanged() -> None:
    text = "héllo wörld — 日本語 🙂 ✓ ‹q›"
    assert safe_text(text) == text
    assert safe_text("a\tb") == "a    b"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=sys.maxunicode), max_size=80),
       st.integers(min_value=1, max_value=100) | st.none())
def test_property_no_unsafe_category_in_output(text: str, max_len: int | None) -> None:
    out = safe_text(text, max_len=max_len)
    assert not _leaks(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(UNSAFE_CODE_POINTS) | st.characters(), max_size=40).map("".join))
def test_property_unsafe_heavy_text(text: str) -> None:
    out = safe_text(text, max_len=None)
    assert not _leaks(out)
    # Every unsafe character became a visible marker: the visible text keeps the order of the rest.
    kept = [c for c in text if unicodedata.category(c) not in UNSAFE_CATEGORIES]
    it = iter(out)
    assert all(c in it for c in kept)
