"""How a span of time reads: the one home of every duration format and the unit-sum parser.

Each function is one output format a screen, an export or a CLI line relies on
(SVG snapshots and tests pin them); pick by what the text is for:

- :func:`compact`    "45s", "4m05s", "2h10m", "3d04h"       metric values, "for 5m00s"
- :func:`countdown`  "12:04", "-3:10", "1h05m", "3d04h"     SLA timers (signed; m:ss under an hour)
- :func:`elapsed`    "45s", "4m", "4m 05s", "1h", "26h 05m"  incident spans and cadences (whole seconds)
- :func:`measured`   "850 ms", "12.3 s", "4m 05s", "3d 04h"  statistics cells (sub-second precision)
- :func:`one_unit`   "0.5s", "45s", "5m", "3h", "2d"         a lag in a status line
- :func:`one_unit_decimal`  "45 min", "1.5 h", "2.0 d"       spans inside a sentence
- :func:`hms`        "01:02:03"                              PostgreSQL's interval text
- :func:`unit_sum_text` / :func:`parse_unit_sum`  "1w2d3h"   the log filter's syntax
- :func:`parse_go_duration`  "1h30m", "1.5s"                 Go's durations (Auth API, runbook inputs)
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 604800
NO_SPAN = "—"  # what the timers and incident spans show before they start


def _seconds(span: float | timedelta) -> float:
    return span.total_seconds() if isinstance(span, timedelta) else float(span)


def compact(seconds: float) -> str:
    """Two units, no space: "45s", "4m05s", "2h10m", "3d04h"."""
    s = float(seconds)
    if s < MINUTE:
        return f"{s:.0f}s"
    if s < HOUR:
        return f"{int(s // MINUTE)}m{int(s % MINUTE):02d}s"
    if s < DAY:
        return f"{int(s // HOUR)}h{int(s % HOUR // MINUTE):02d}m"
    return f"{int(s // DAY)}d{int(s % DAY // HOUR):02d}h"


def countdown(span: float | timedelta | None) -> str:
    """A timer: "12:04", "-3:10" (late) under an hour, else `compact` ("1h05m", "-3d04h"); None: "—"."""
    if span is None:
        return NO_SPAN
    secs = int(_seconds(span))
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    if secs >= HOUR:
        return sign + compact(secs)
    return f"{sign}{secs // MINUTE}:{secs % MINUTE:02d}"


def elapsed(span: float | timedelta | None) -> str:
    """Whole seconds, a zero unit dropped, hours uncapped: "45s", "4m", "4m 05s", "1h", "26h 05m"; None: "—"."""
    if span is None:
        return NO_SPAN
    secs = max(0, int(_seconds(span)))
    h, rem = divmod(secs, HOUR)
    m, s = divmod(rem, MINUTE)
    if h:
        return f"{h}h {m:02d}m" if m else f"{h}h"
    if m:
        return f"{m}m {s:02d}s" if s else f"{m}m"
    return f"{s}s"


def measured(seconds: float) -> str:
    """A measurement: "850 ms", "12.3 s", "4m 05s", "2h 10m", "3d 04h" (signed)."""
    s = float(seconds)
    if s < 0:
        return "-" + measured(-s)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < MINUTE:
        return f"{s:.1f} s"
    total = int(s)
    if total < HOUR:
        return f"{total // MINUTE}m {total % MINUTE:02d}s"
    if total < DAY:
        return f"{total // HOUR}h {(total % HOUR) // MINUTE:02d}m"
    return f"{total // DAY}d {(total % DAY) // HOUR:02d}h"


def one_unit(seconds: float) -> str:
    """The nearest single unit: "0.5s", "45s", "5m", "3h", "2d" (each unit kept up to twice its next)."""
    s = float(seconds)
    if s < 1:
        return f"{s:.1f}s"
    if s < 2 * MINUTE:
        return f"{s:.0f}s"
    if s < 2 * HOUR:
        return f"{s / MINUTE:.0f}m"
    if s < 2 * DAY:
        return f"{s / HOUR:.0f}h"
    return f"{s / DAY:.0f}d"


def one_unit_decimal(seconds: float) -> str:
    """A single unit for a sentence: "45 min", "1.5 h", "2.0 d"."""
    s = float(seconds)
    if s < HOUR:
        return f"{s / MINUTE:.0f} min"
    if s < 2 * DAY:
        return f"{s / HOUR:.1f} h"
    return f"{s / DAY:.1f} d"


def hms(seconds: float) -> str:
    """PostgreSQL's interval text for a non-negative age: "01:02:03"."""
    s = int(max(0.0, seconds))
    return f"{s // HOUR:02d}:{s % HOUR // MINUTE:02d}:{s % MINUTE:02d}"


# ------------------------------------------------------------ unit sums ("1h30m")

FILTER_UNITS: dict[str, float] = {"w": WEEK, "d": DAY, "h": HOUR, "m": MINUTE, "s": 1}


@lru_cache(maxsize=8)
def _unit_sum_re(unit_names: tuple[str, ...], number: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    names = "|".join(re.escape(u) for u in sorted(unit_names, key=len, reverse=True))  # "ms" before "m"
    part = f"({number})({names})"
    return re.compile(f"(?:{part})+"), re.compile(part)


def parse_unit_sum(text: str, units: dict[str, float] = FILTER_UNITS, number: str = r"[0-9]{1,9}") -> float | None:
    """Seconds in "1h30m"-style text made only of number+unit parts, else None.

    `units` maps each unit to its seconds; `number` is the regex of one number
    (the filter takes up to nine digits, Go durations take decimals).
    """
    whole, part = _unit_sum_re(tuple(units), number)
    if not whole.fullmatch(text):
        return None
    return sum(float(n) * units[u] for n, u in part.findall(text))


# Go's time.ParseDuration units (the Auth admin API's ban_duration, runbook `duration` inputs): no days.
GO_UNITS: dict[str, float] = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration ("24h", "90m", "1h30m", "1.5s"), else None."""
    return parse_unit_sum(text, GO_UNITS, r"\d+(?:\.\d+)?")


def unit_sum_text(seconds: int, units: dict[str, float] = FILTER_UNITS) -> str:
    """Whole seconds in the largest units first: "1w2d3h", "90s" -> "1m30s", "0s"."""
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in sorted(units.items(), key=lambda kv: kv[1], reverse=True):
        if size >= 1 and seconds >= size:
            out.append(f"{seconds // int(size)}{unit}")
            seconds %= int(size)
    return "".join(out)
