"""How often the Supabase log tail may poll, from what is left of its endpoint's budget.

The profile's interval holds while more than TAIL_SHARE of the endpoint's
per-minute budget remains; below that, what is left is spread over the minute;
on a degraded quota (about 10/min for accounts over it) the tail takes at most
TAIL_SHARE of it. The rest is for history, attribute fetches and the metrics.
"""

from __future__ import annotations

from cs_console.backends.supabase.rate_budget import RateBudget

TAIL_SHARE = 0.5


def poll_interval(budget: RateBudget, key: str, interval_s: float) -> float:
    per_min = budget.limit(key).per_window
    interval = interval_s
    if budget.degraded(key):
        interval = max(interval, 60.0 / max(per_min * TAIL_SHARE, 1.0))
    remaining = per_min - budget.spent_in_window(key)  # a 429 block is waited out apart
    if remaining <= per_min * TAIL_SHARE:
        interval = max(interval, 60.0 / max(remaining, 1))
    return interval


def rate_text(budget: RateBudget, key: str, interval_s: float) -> str:
    """`logs 8/min`, with `, quota degraded` when Supabase lowered the limit."""
    per_min = 60.0 / poll_interval(budget, key, interval_s)
    degraded = ", quota degraded" if budget.degraded(key) else ""
    return f"logs {per_min:.0f}/min{degraded}" if per_min >= 1 else f"logs {per_min:.1f}/min{degraded}"


__all__ = ["TAIL_SHARE", "poll_interval", "rate_text"]
