"""Text sparklines over fixed time buckets (pure).

Bucketing by time rather than by sample means a sparkline only changes when a
bucket boundary passes or the newest bucket's value moves: less repainting.
"""

from __future__ import annotations

from datetime import datetime

BARS = "▁▂▃▄▅▆▇█"


def bucketed(points: list[tuple[datetime, float]], end: datetime, span_s: float, width: int) -> list[float | None]:
    """Mean value per bucket over [end - span, end]; None where there is no sample."""
    sums = [0.0] * width
    counts = [0] * width
    bucket_s = span_s / width
    for at, value in points:
        age = (end - at).total_seconds()
        if age < 0 or age >= span_s:
            continue
        i = width - 1 - int(age // bucket_s)
        sums[i] += value
        counts[i] += 1
    return [s / c if c else None for s, c in zip(sums, counts)]


def sparkline(points: list[tuple[datetime, float]], end: datetime, span_s: float = 900.0, width: int = 20) -> str:
    values = bucketed(points, end, span_s, width)
    present = [v for v in values if v is not None]
    if not present:
        return " " * width
    lo, hi = min(present), max(present)
    if hi - lo < 1e-9:
        # A flat line sits low, unless it is a flat non-zero value: then mid-height.
        level = 0 if hi == 0 else 3
        return "".join(BARS[level] if v is not None else " " for v in values)
    scale = (len(BARS) - 1) / (hi - lo)
    return "".join(BARS[int(round((v - lo) * scale))] if v is not None else " " for v in values)
