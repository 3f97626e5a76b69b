"""How metric values read to a human (shared by the panes and the CLI)."""

from __future__ import annotations

from cs_console.domain.durations import compact


def format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:.2f}%" if value < 1 else f"{value:.1f}%"
    if unit == "ms":
        if 0 < value < 1:  # 0.02 ms is 20 µs, not "0.0 ms"
            return f"{value * 1000:.0f} µs"
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "s":
        # An age is never negative; a clock a little ahead on the other side reads as 0.
        return compact(max(0.0, value))
    if unit == "h":
        return f"{value:.1f} h"
    if unit == "bytes":
        return format_bytes(value)
    if unit == "bytes/day":
        return f"{format_bytes(value)}/day"
    if unit in ("/s", "/min"):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:g} {unit}".strip()
