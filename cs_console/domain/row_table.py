"""Rows (a list of dicts) as a plain aligned text table: what a step's output shows.

One format for every executor that returns rows (SQL, the demo's simulation), so a step
reads the same on the demo as on the real database.
"""

from __future__ import annotations

from typing import Any

MAX_ROWS_SHOWN = 200


def is_rows(value: Any) -> bool:
    """A non-empty list of dicts with the same keys: rows of a table."""
    return bool(value) and isinstance(value, list) and all(isinstance(r, dict) for r in value) \
        and all(r.keys() == value[0].keys() for r in value)


def format_rows(rows: list[dict[str, Any]], limit: int = MAX_ROWS_SHOWN) -> list[str]:
    """A plain aligned table, one string per line."""
    if not rows:
        return ["(0 rows)"]
    cols = list(rows[0].keys())
    shown = rows[:limit]
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in shown]
    widths = [min(40, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(cols)]
    out = [" | ".join(c.ljust(w)[:w] for c, w in zip(cols, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(v.ljust(w)[:w] for v, w in zip(row, widths)) for row in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{', first ' + str(limit) + ' shown' if len(rows) > limit else ''})")
    return out
