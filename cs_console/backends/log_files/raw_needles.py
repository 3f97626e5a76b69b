"""Needles a filter's matching lines must hold in their raw bytes (a prefilter, never the filter).

    raw_needles(flt)    the positive text terms, as lowered ASCII bytes
    needle_groups(flt)  those, plus one group per positive function= / request_id= / id=
                        term: a line must hold one needle of every group

They are exact for a line that is ASCII, has no backslash and is not cut (the
caller treats every other line as a candidate): a line without them cannot
match, a line with them is parsed and the real filter decides.
"""

from __future__ import annotations

from cs_console.domain.log_filter import Filter, TextTerm
from cs_console.domain.log_filter_model import FieldTerm

_NUMBER_CHARS = frozenset("0123456789.+-e")
_NOT_IN_NEEDLE = frozenset('"\\:,{}[]')
# Fields the parser takes from a JSON member of the line (log_parsing._from_obj), never made up.
_RAW_FIELDS = frozenset(("function", "request_id", "id"))


def _raw_needle(text: str) -> bytes | None:
    """`text` (lowered) as bytes that must appear in the raw line of a value or message
    spelled as `text`, or None when a re-serialisation could spell it differently."""
    needle = text.lower()
    if not needle or not needle.isascii() or needle[0] == " " or any(c in _NOT_IN_NEEDLE or c < " " or c == "\x7f" for c in needle):
        return None
    if set(needle) <= _NUMBER_CHARS or needle in "-infinity" or needle in "nan":
        return None
    return needle.encode("ascii")


def raw_needles(flt: Filter) -> tuple[bytes, ...]:
    """The positive text terms that must appear in the raw (ASCII-lowered) line of
    any record that matches, for lines that are ASCII, without a backslash, and short.

    Such a line's message is either a substring of it (plain text, a JSON string
    value) or a re-serialisation of JSON values (json.dumps) whose only new text
    is separators (", ", ": "), quotes and number spellings (1e3 -> 1000.0,
    1e999 -> Infinity). A needle without quotes, brackets, colons or commas, not
    starting with a space and not made of number characters lies inside one
    token that is spelled the same in the raw line.
    """
    out: list[bytes] = []
    for t in flt.terms:
        if not isinstance(t, TextTerm) or t.negate or not t.text:
            continue
        needle = _raw_needle(t.text)
        if needle is not None:
            out.append(needle)
    return tuple(out)


def needle_groups(flt: Filter) -> tuple[tuple[bytes, ...], ...]:
    """What a matching line's raw bytes must hold: every group, one needle of each.

    A text term is a group of one (raw_needles). A positive `function=`,
    `request_id=` or `id=` term is a group of its values: the parser takes those
    fields from a JSON member of the line (a string, or json.dumps of another
    value: the same argument as for the message) and a plain-text line has none,
    so a line holding none of the values cannot match. A wildcard value gives its
    longest literal piece. A value without a safe needle leaves the term out.
    The real filter still decides every candidate: results are exact.
    """
    groups: list[tuple[bytes, ...]] = [(n,) for n in raw_needles(flt)]
    for t in flt.terms:
        if not isinstance(t, FieldTerm) or t.field not in _RAW_FIELDS or t.op != "=" or t.negate or not t.values:
            continue
        alts: list[bytes] = []
        for v in t.values:
            pieces = [n for n in map(_raw_needle, str(v).split("*")) if n is not None]
            if not pieces:
                alts = []
                break
            alts.append(max(pieces, key=len))
        if alts:
            groups.append(tuple(dict.fromkeys(alts)))
    return tuple(groups)


__all__ = ["needle_groups", "raw_needles"]
