"""Per-function figures from `functions.combined-stats` rows (minute buckets).

Error rate = server_err_count / requests_count (supabase-ops-api.md §2.2);
rates are over the last `window` of wall time, so minutes with no bucket
(no traffic) count as zero and an idle function drifts to 0/min.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cs_console.domain.metrics import FunctionStats, MetricSample

STATS_WINDOW = timedelta(minutes=15)


def parse_bucket_time(value: Any) -> datetime | None:
    """ISO text, or epoch seconds / ms / µs (the unit is guessed from the size)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        seconds = v / 1e6 if v > 1e14 else v / 1e3 if v > 1e11 else v
        return datetime.fromtimestamp(seconds, timezone.utc)
    if isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return None


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    if value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


@dataclass(frozen=True, slots=True)
class Totals:
    requests: float
    server_errors: float
    duration_sum_ms: float  # Σ avg_execution_time × requests, for a weighted mean

    @property
    def error_rate_pct(self) -> float:
        return round(100.0 * self.server_errors / self.requests, 3) if self.requests else 0.0

    @property
    def avg_duration_ms(self) -> float:
        return round(self.duration_sum_ms / self.requests, 1) if self.requests else 0.0


def window_totals(rows: Iterable[Mapping[str, Any]], now: datetime, window: timedelta = STATS_WINDOW) -> Totals:
    start = now - window
    requests = errors = duration = 0.0
    for row in rows:
        at = parse_bucket_time(row.get("timestamp"))
        if at is None or at < start or at > now:
            continue
        n = _num(row, "requests_count")
        requests += n
        errors += _num(row, "server_err_count")
        duration += _num(row, "avg_execution_time") * n
    return Totals(requests, errors, duration)


def function_stats(meta: Mapping[str, Any], totals: Totals, window: timedelta = STATS_WINDOW) -> FunctionStats:
    version = meta.get("version")
    return FunctionStats(
        slug=str(meta.get("slug") or meta.get("name") or meta.get("id")),
        status=str(meta.get("status", "UNKNOWN")),
        invocations_per_min=round(totals.requests / (window.total_seconds() / 60.0), 2),
        error_rate_pct=totals.error_rate_pct,
        avg_duration_ms=totals.avg_duration_ms,
        version=version if isinstance(version, int) else None,
    )


def aggregate_samples(all_totals: Iterable[Totals], window: timedelta = STATS_WINDOW, note: str = "") -> dict[str, MetricSample]:
    """fn.* over every function: rates summed, error rate and duration request-weighted."""
    items = list(all_totals)
    requests = sum(t.requests for t in items)
    errors = sum(t.server_errors for t in items)
    duration = sum(t.duration_sum_ms for t in items)
    minutes = window.total_seconds() / 60.0
    span = f"last {minutes:g} min"
    quiet = f"no invocations in the {span}"
    return {
        "fn.invocations_per_min": MetricSample("fn.invocations_per_min", round(requests / minutes, 2), note or span),
        "fn.error_rate_pct": MetricSample("fn.error_rate_pct", round(100.0 * errors / requests, 3) if requests else 0.0, note or (span if requests else quiet)),
        "fn.avg_duration_ms": MetricSample("fn.avg_duration_ms", round(duration / requests, 1) if requests else None, note or (span if requests else quiet)),
    }
