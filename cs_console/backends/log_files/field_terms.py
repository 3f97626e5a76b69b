"""The filter terms an index can decide from its level and timestamp arrays, without a record.

`level>=warn`, `level=error,fatal`, `-level=debug`, `since=1h`, `until=...` are
exact over a line whose level / timestamp is decided (line_fields). For each
line this gives one of NO / MAYBE / YES:

    terms = FieldTerms(flt, now)
    terms.active                 any level or time term
    terms.only                   nothing else in the filter (YES lines match as they are)
    terms.states(levels, times)  bytes of NO/MAYBE/YES for the lines given (numpy if present)

MAYBE lines (undecided, or another term to check) are parsed and matched.
"""

from __future__ import annotations

from array import array
from datetime import datetime
from typing import Any

from cs_console.domain.log_filter import Filter
from cs_console.domain.log_filter_model import FieldTerm, _resolve_time
from cs_console.domain.log_record import Level

NO, MAYBE, YES = 0, 1, 2


def _accepts(term: FieldTerm, level: Level) -> bool:
    op, values = term.op, term.values
    if op in ("=", "!="):
        ok = level in frozenset(values)
        ok = ok if op == "=" else not ok
    else:
        lv = int(values[0])  # type: ignore[arg-type]
        ok = {"<": level < lv, "<=": level <= lv, ">": level > lv, ">=": level >= lv}[op]
    return ok != term.negate


class FieldTerms:
    def __init__(self, flt: Filter, now: datetime) -> None:
        levels = [t for t in flt.terms if isinstance(t, FieldTerm) and t.field == "level"]
        times = [t for t in flt.terms if isinstance(t, FieldTerm) and t.field in ("since", "until") and not t.negate and t.op != "!="]
        self.active = bool(levels or times)
        self.count = len(levels) + len(times)  # terms decided here
        self.only = self.count == len(flt.terms)
        self.uses_levels = bool(levels)
        self.uses_times = bool(times)
        # code (a Level's value, 0 = undecided) -> state
        table = bytearray(256)
        table[0] = MAYBE
        for level in Level:
            table[int(level)] = YES if all(_accepts(t, level) for t in levels) else NO
        self.level_table = bytes(table)
        self.since = max((_resolve_time(t.values[0], now).timestamp() for t in times if t.field == "since"), default=None)
        self.until = min((_resolve_time(t.values[0], now).timestamp() for t in times if t.field == "until"), default=None)

    def states(self, levels: bytes, times: array[float] | None) -> bytes:
        """NO / MAYBE / YES for each line (levels: its code; times: epoch or NaN)."""
        np = _numpy()
        state = levels.translate(self.level_table) if self.uses_levels else bytes([YES]) * len(levels)
        if not self.uses_times or times is None:
            return state
        if np is not None:
            ts = np.frombuffer(times, np.float64)
            ok = np.ones(len(ts), bool)
            if self.since is not None:
                ok &= ts >= self.since
            if self.until is not None:
                ok &= ts <= self.until
            tstate = np.where(np.isnan(ts), MAYBE, np.where(ok, YES, NO)).astype(np.uint8)
            return np.minimum(np.frombuffer(state, np.uint8), tstate).tobytes()
        lo, hi = self.since, self.until
        out = bytearray(state)
        for k, t in enumerate(times):
            if t != t:  # NaN: undecided
                out[k] = min(out[k], MAYBE)
            elif (lo is not None and t < lo) or (hi is not None and t > hi):
                out[k] = NO
        return bytes(out)


def _numpy() -> Any:
    from cs_console.backends.log_files.line_index import _numpy as get

    return get()


__all__ = ["MAYBE", "NO", "YES", "FieldTerms"]
