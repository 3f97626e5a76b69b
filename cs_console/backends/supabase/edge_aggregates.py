"""API request count, 4xx/5xx and p95 from the edge (API gateway) logs.

There is no metric for HTTP latency or errors (supabase-ops-api.md §3), so
one aggregate SQL query over `edge_logs` per poll gives them. Which dialect a
project speaks and whether the log store accepts a p95 function are both
UNCONFIRMED, so the source walks a short list of variants once and sticks to
the first that answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cs_console.backends.supabase.errors import BadResponse

# Password sign-ins go through the gateway as POST /auth/v1/token?grant_type=password,
# so the same query counts sign-ins and failed sign-ins (the manual's auth alert).
_BQ_FROM = (
    "from edge_logs as t "
    "cross join unnest(t.metadata) as m "
    "cross join unnest(m.request) as request "
    "cross join unnest(m.response) as response"
)
_BQ_SIGNIN = "(request.path = '/auth/v1/token' and regexp_contains(request.search, 'grant_type=password'))"
_BQ_COUNTS = (
    "count(t.id) as requests, "
    "countif(response.status_code >= 500) as errors_5xx, "
    "countif(response.status_code >= 400 and response.status_code < 500) as errors_4xx, "
    f"countif({_BQ_SIGNIN} and response.status_code < 400) as auth_signins, "
    f"countif({_BQ_SIGNIN} and response.status_code >= 400 and response.status_code < 500) as auth_failures"
)
_CH_STATUS = "toInt32OrZero(log_attributes['response.status_code'])"
# A row without origin_time (a gateway reject, a timeout) has no latency: it is left out, and
# no row with one at all gives NULL (n/a), never a p95 of 0 ms.
_CH_ORIGIN = "log_attributes['response.origin_time']"
_CH_SIGNIN = "(log_attributes['request.path'] = '/auth/v1/token' and position(log_attributes['request.search'], 'grant_type=password') > 0)"
_CH_COUNTS = (
    "count() as requests, "
    f"countIf({_CH_STATUS} >= 500) as errors_5xx, "
    f"countIf({_CH_STATUS} >= 400 and {_CH_STATUS} < 500) as errors_4xx, "
    f"countIf({_CH_SIGNIN} and {_CH_STATUS} < 400) as auth_signins, "
    f"countIf({_CH_SIGNIN} and {_CH_STATUS} >= 400 and {_CH_STATUS} < 500) as auth_failures"
)


@dataclass(frozen=True, slots=True)
class Variant:
    dialect: str  # bigquery | clickhouse
    with_p95: bool

    @property
    def sql(self) -> str:
        if self.dialect == "bigquery":
            p95 = ", approx_quantiles(response.origin_time, 100)[offset(95)] as p95_ms" if self.with_p95 else ""
            return f"select {_BQ_COUNTS}{p95} {_BQ_FROM}"
        p95 = f", quantileIfOrNull(0.95)(toFloat64OrZero({_CH_ORIGIN}), isNotNull(toFloat64OrNull({_CH_ORIGIN}))) as p95_ms" if self.with_p95 else ""
        return f"select {_CH_COUNTS}{p95} from logs where source = 'edge_logs' limit 1"


def variants_for(dialect: str) -> list[Variant]:
    """Variants to try, best first. dialect: auto | bigquery | clickhouse (auto: ClickHouse first,
    the hosted platform's only logs endpoint since logs.all was removed)."""
    dialects = ["clickhouse", "bigquery"] if dialect not in ("bigquery", "clickhouse") else [dialect]
    return [Variant(d, p95) for p95 in (True, False) for d in dialects]


@dataclass(frozen=True, slots=True)
class EdgeTotals:
    requests: float
    errors_5xx: float
    errors_4xx: float
    p95_ms: float | None
    auth_signins: float | None = None
    auth_failures: float | None = None


def _number(row: Mapping[str, Any], key: str, *, required: bool) -> float | None:
    value = row.get(key)
    if value is None:
        if required:
            raise BadResponse(f"edge logs aggregate: row lacks `{key}`")
        return None
    if isinstance(value, str) and value.strip().lower() in ("", "null", "nan", "\\n"):
        return None if not required else 0.0  # ClickHouse's text forms of "no value"
    try:
        # ClickHouse serialises 64-bit integers as strings in JSON.
        number = float(value)
    except (TypeError, ValueError):
        raise BadResponse(f"edge logs aggregate: `{key}` is not a number") from None
    return None if math.isnan(number) and not required else number


def parse_totals(rows: list[dict[str, Any]], with_p95: bool) -> EdgeTotals:
    if not rows:
        return EdgeTotals(0.0, 0.0, 0.0, None)
    row = rows[0]
    requests = _number(row, "requests", required=True) or 0.0
    p95 = _number(row, "p95_ms", required=False) if with_p95 else None
    return EdgeTotals(
        requests,
        _number(row, "errors_5xx", required=True) or 0.0,
        _number(row, "errors_4xx", required=True) or 0.0,
        p95 if requests else None,
        _number(row, "auth_signins", required=False),
        _number(row, "auth_failures", required=False),
    )
