"""Levels and timestamps of indexed lines, read from the raw bytes without building records.

`level>=warn` and `since=` over a million lines must not parse a million
records (5.8 s). For a block of complete lines, msgspec validates each line
as JSON in C and hands back only the raw text of the `level` / `timestamp`
members; a line is *decided* when that is enough to know what the parser
(domain.log_parsing) would say:

- level: the line is a JSON object whose `level` member is not null and that
  `parse_level` recognises (the parser takes it first and looks no further);
- timestamp: the `timestamp` member is one the parser reads (an ISO 8601
  string, an epoch number...), stored as epoch seconds (exact to the
  microsecond: doubles near 2e9 are 2.4e-7 s apart).

Anything else (plain text, other keys, a line msgspec rejects, bad UTF-8,
a line cut at the index's max_line or nested deeper than the parser can
recurse) stays *undecided*: 0 in the level array, NaN in the timestamp
array, and the caller parses it when a filter needs it (and may keep what
the parse said with `learn`). Without msgspec every line is undecided:
slower, same answers. tests/test_line_fields.py checks decided values
against parsing every line (hypothesis).

    fields = LineFields()
    fields.levels, fields.times                   bytearray / array('d'), one slot per line
    fields.add_levels(block, n, per_line, undecided)   the next n lines (each ending with
                                                  a newline in `block`)
    fields.add_times(block, n, per_line, undecided)    the same for timestamps
"""

from __future__ import annotations

import json
import math
from array import array
from datetime import datetime
from itertools import repeat
from operator import attrgetter
from typing import Any

from cs_console.domain.log_fields import MAX_MESSAGE_CHARS, UTC, parse_level, parse_timestamp

UNDECIDED = 0
NAN = math.nan
_MS: list[Any] = []
_get_level = attrgetter("level")
_get_ts = attrgetter("timestamp")
_get_tzinfo = attrgetter("tzinfo")
_stamp = datetime.timestamp
_fromisoformat = datetime.fromisoformat
_INNER = slice(1, -1)


def _msgspec() -> Any:
    """(msgspec, level decoder, timestamp decoder), or None without msgspec (lazy: 10 ms)."""
    if not _MS:
        try:
            import msgspec
        except ImportError:
            _MS.append(None)
            return None
        # Raw: the member's JSON text, not decoded and not judged (the parser's own
        # functions decide what it means). A missing member stays None.
        level = msgspec.defstruct("_Level", [("level", msgspec.Raw, None)], gc=False)
        stamp = msgspec.defstruct("_Stamp", [("timestamp", msgspec.Raw, None)], gc=False)
        message = msgspec.defstruct("_Message", [("event_message", str | None, None)], gc=False)
        _MS.append((msgspec, msgspec.json.Decoder(level), msgspec.json.Decoder(stamp), msgspec.json.Decoder(message)))
    return _MS[0]


# raw JSON of a level value -> its code (a Level's value, or UNDECIDED); few distinct values
_LEVEL_CODES: dict[bytes, int] = {}


def level_code(raw: bytes | None) -> int:
    """What the parser makes of `"level": <raw>`: a Level's value, or UNDECIDED."""
    if raw is None:
        return UNDECIDED
    code = _LEVEL_CODES.get(raw)
    if code is None:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            value = None
        level = parse_level(value) if value is not None else None
        code = int(level) if level is not None else UNDECIDED
        if len(_LEVEL_CODES) < 4096:
            _LEVEL_CODES[raw] = code
    return code


def time_of(raw: bytes | None) -> float:
    """The parser's reading of `"timestamp": <raw>` as epoch seconds (NaN: undecided)."""
    if raw is None:
        return NAN  # missing: the parser looks at other keys
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return NAN
    if value is None:
        return NAN
    ts: datetime | None
    if value.__class__ is str:
        try:
            ts = _fromisoformat(value)
            if ts.tzinfo is not UTC:
                ts = parse_timestamp(value)
        except ValueError:
            ts = parse_timestamp(value)
    else:
        ts = parse_timestamp(value)
    return NAN if ts is None else ts.timestamp()


class LineFields:
    def __init__(self) -> None:
        self.levels = bytearray()
        self.times = array("d")

    def reset(self) -> None:
        self.levels = bytearray()
        self.times = array("d")

    def drop_from(self, line: int) -> None:
        """Lines from `line` on will be indexed again (the last one grew)."""
        del self.levels[line:]
        del self.times[line:]

    def add_levels(self, block: bytes, n: int, per_line: bool, undecided: list[int]) -> None:
        """Levels of the n lines of `block`. per_line: some are blank (decode_lines would
        skip them); `undecided`: lines the parser does not see whole."""
        codes = bytearray(_levels(block, n, per_line))
        for k in undecided:
            codes[k] = UNDECIDED
        self.levels += codes

    def add_times(self, block: bytes, n: int, per_line: bool, undecided: list[int]) -> None:
        stamps = _times(block, n, per_line)
        for k in undecided:
            stamps[k] = NAN
        self.times.extend(stamps)

    def learn(self, line: int, level: int, ts: float) -> None:
        """What a parse said of `line` (exact by definition): fill its undecided slots."""
        if line < len(self.levels) and self.levels[line] == UNDECIDED:
            self.levels[line] = level
        if line < len(self.times) and math.isnan(self.times[line]):
            self.times[line] = ts


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _objects(decoder: Any, block: bytes, n: int, per_line: bool) -> list[Any]:
    """One struct (or None: not a JSON object) per line of `block`, in one C call when
    every line is one."""
    ms = _msgspec()
    errors = (ms[0].DecodeError, ms[0].ValidationError, RecursionError)
    if not block.isascii() and not _utf8(block):
        per_line = True  # the parser sees bad bytes as \xNN text: such lines are undecided
    if not per_line:
        try:
            got = decoder.decode_lines(block)
        except errors:
            got = None
        if got is not None and len(got) == n:
            return got
    out: list[Any] = []
    decode = decoder.decode
    for line in block.split(b"\n")[:n]:
        try:
            out.append(decode(line) if line.strip() and (line.isascii() or _utf8(line)) else None)
        except errors:
            out.append(None)
    return out


def _levels(block: bytes, n: int, per_line: bool) -> bytes:
    ms = _msgspec()
    if ms is None or n == 0:
        return bytes(n)
    objs = _objects(ms[1], block, n, per_line)
    if None in objs:
        raws: list[bytes | None] = [None if o is None or o.level is None else bytes(o.level) for o in objs]
    else:
        members = list(map(_get_level, objs))
        raws = list(map(bytes, members)) if None not in members else [None if m is None else bytes(m) for m in members]
    codes = list(map(_LEVEL_CODES.get, raws, repeat(None)))  # type: ignore[arg-type]
    if None in codes:
        codes = [c if c is not None else level_code(r) for c, r in zip(codes, raws)]
    return bytes(codes)  # type: ignore[arg-type]


def _times(block: bytes, n: int, per_line: bool) -> array[float]:
    ms = _msgspec()
    if ms is None or n == 0:
        return array("d", repeat(NAN, n))
    objs = _objects(ms[2], block, n, per_line)
    if None not in objs:
        members = list(map(_get_ts, objs))
        if None not in members:
            raws = list(map(bytes, members))
            # The common case, vectorised: every member a plain string (no escapes)
            # that fromisoformat (the parser's first step) reads as a UTC moment.
            if b"\\" not in b"".join(raws) and all(map(bytes.startswith, raws, repeat(b'"'))):
                try:
                    moments = list(map(_fromisoformat, map(bytes.decode, map(bytes.__getitem__, raws, repeat(_INNER)))))
                except (ValueError, UnicodeDecodeError):
                    moments = None
                if moments is not None and set(map(id, map(_get_tzinfo, moments))) == {id(UTC)}:
                    return array("d", map(_stamp, moments))
    return array("d", [time_of(None if o is None or o.timestamp is None else bytes(o.timestamp)) for o in objs])


def messages(texts: list[str]) -> list[str | None]:
    """The record message the parser would make of each line (None: undecided), without
    the record: a plain-text line is its own message; a JSON object's is its
    `event_message` string. A text filter then needs no parse (`n` typed over 1M lines)."""
    out: list[str | None] = [None] * len(texts)
    json_at: list[int] = []
    for k, t in enumerate(texts):
        if not t or len(t) > MAX_MESSAGE_CHARS:
            continue
        c = t[0]
        if c == "{" or (c.isspace() and t.lstrip()[:1] == "{"):
            json_at.append(k)
        elif not t.isspace():
            out[k] = t.rstrip("\r")
    ms = _msgspec()
    if ms is None or not json_at:
        return out
    decoder = ms[3]
    errors = (ms[0].DecodeError, ms[0].ValidationError, RecursionError)
    got: list[Any] | None
    try:
        got = decoder.decode_lines("\n".join(texts[k] for k in json_at))
    except errors:
        got = None
    if got is None or len(got) != len(json_at):
        got = []
        for k in json_at:
            try:
                got.append(decoder.decode(texts[k]))
            except errors:
                got.append(None)
    for k, obj in zip(json_at, got):
        msg = None if obj is None else obj.event_message
        if msg is None or len(msg) > MAX_MESSAGE_CHARS:
            continue  # other keys, or a cut message: the parser decides
        out[k] = msg.rstrip("\r\n") if msg and msg[-1] == "\n" else msg
    return out


__all__ = ["LineFields", "UNDECIDED", "level_code", "messages", "time_of"]
