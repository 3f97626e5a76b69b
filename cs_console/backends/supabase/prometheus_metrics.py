"""Turn two scrapes of the project metrics endpoint into console metrics.

Parsing uses prometheus_client's text parser (the reference implementation,
maintained by the Prometheus project) rather than a hand-rolled one: label
escaping, exponents, NaN and HELP/TYPE lines are its problem. Formulas follow
supabase-grafana's dashboard PromQL (supabase-ops-api.md §3). Counters need
two scrapes; the first snapshot reports them as None, "warming up".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from cs_console.backends.supabase.errors import BadResponse
from cs_console.domain.metrics import MetricSample

Labels = dict[str, str]
WARMING_UP = "warming up (needs two scrapes)"
NOT_EXPORTED = "not exported by the metrics endpoint"
MB = 1024 * 1024


def _base(name: str) -> str:
    # prometheus_client appends `_total` to counters declared without it; match either way.
    return name[:-6] if name.endswith("_total") else name


@dataclass(frozen=True)
class Scrape:
    """One scrape: samples by metric name (without `_total`), and when it was taken."""

    at: float  # time.monotonic()
    series: dict[str, list[tuple[Labels, float]]] = field(default_factory=dict)

    def select(self, name: str, **match: str) -> list[tuple[Labels, float]]:
        return [(lab, v) for lab, v in self.series.get(_base(name), []) if all(lab.get(k) == want for k, want in match.items())]

    def total(self, name: str, **match: str) -> float | None:
        rows = self.select(name, **match)
        return sum(v for _, v in rows) if rows else None

    def has(self, name: str) -> bool:
        return _base(name) in self.series


def parse_scrape(text: str, at: float, *, identifier: str | None = None) -> Scrape:
    """Parse Prometheus text. identifier: keep only the primary's series
    (`supabase_identifier` is the ref, or a read replica's id) where labelled."""
    # name -> labels -> value: a series repeated with the same labels (an exporter
    # listed twice) is one series, taken once (the last value), never summed.
    unique: dict[str, dict[tuple[tuple[str, str], ...], tuple[Labels, float]]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = dict(sample.labels)
                unique.setdefault(_base(sample.name), {})[tuple(sorted(labels.items()))] = (labels, float(sample.value))
    except (ValueError, TypeError, IndexError) as exc:
        first = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise BadResponse(f"metrics endpoint: not Prometheus text ({first})") from None
    series: dict[str, list[tuple[Labels, float]]] = {name: list(rows.values()) for name, rows in unique.items()}
    if not series:
        raise BadResponse("metrics endpoint: empty answer (no samples)")
    scrape = Scrape(at, series)
    if identifier:
        scrape = Scrape(at, {
            name: [(lab, v) for lab, v in rows if lab.get("supabase_identifier", identifier) == identifier]
            for name, rows in series.items()
        })
        # Replication lag is reported by replicas: keep it from every identifier.
        for name in ("physical_replication_lag_physical_replication_lag_seconds", "replication_slots_max_lag_bytes"):
            if name in series:
                scrape.series[name] = series[name]
    return scrape


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2)


def _delta(prev: Scrape | None, cur: Scrape, name: str, **match: str) -> tuple[float | None, str]:
    """Counter increase between scrapes, or None and why."""
    now = cur.total(name, **match)
    if now is None:
        return None, NOT_EXPORTED
    if prev is None:
        return None, WARMING_UP
    before = prev.total(name, **match)
    if before is None:
        return None, WARMING_UP
    if now < before:
        return None, "counter reset (restart?); warming up"
    return now - before, ""


def compute_samples(prev: Scrape | None, cur: Scrape) -> dict[str, MetricSample]:
    """Console metrics from the current scrape and (for rates) the previous one."""
    out: dict[str, MetricSample] = {}

    def put(key: str, value: float | None, note: str = "") -> None:
        out[key] = MetricSample(key, None if value is None else round(value, 3), note)

    # CPU: 100 − idle share of all CPU time spent between scrapes (all cores).
    busy_total, why_total = _delta(prev, cur, "node_cpu_seconds_total")
    idle, why_idle = _delta(prev, cur, "node_cpu_seconds_total", mode="idle")
    if busy_total is None or idle is None:
        put("host.cpu_pct", None, why_total or why_idle)
    elif busy_total <= 0:
        put("host.cpu_pct", None, "no CPU time elapsed between scrapes")
    else:
        put("host.cpu_pct", max(0.0, min(100.0, 100.0 - _pct(idle, busy_total))))

    mem_total, mem_avail = cur.total("node_memory_MemTotal_bytes"), cur.total("node_memory_MemAvailable_bytes")
    if mem_total and mem_avail is not None:
        put("host.memory_pct", 100.0 - _pct(mem_avail, mem_total))
    else:
        put("host.memory_pct", None, NOT_EXPORTED)

    for mount in ("/data", "/"):
        size, avail = cur.total("node_filesystem_size_bytes", mountpoint=mount), cur.total("node_filesystem_avail_bytes", mountpoint=mount)
        if size and avail is not None:
            put("host.disk_pct", 100.0 - _pct(avail, size), f"{mount} volume")
            break
    else:
        put("host.disk_pct", None, NOT_EXPORTED)

    used, limit = cur.total("pg_stat_database_num_backends"), cur.total("max_connections_connection_count")
    put("db.connections.used", used, "" if used is not None else NOT_EXPORTED)
    put("db.connections.max", limit, "" if limit is not None else NOT_EXPORTED)
    if used is not None and limit:
        put("db.connections.pct", _pct(used, limit))
    else:
        put("db.connections.pct", None, NOT_EXPORTED)

    # Average query time: Δ total time / Δ calls (pg_stat_statements, all users).
    dt_time, why_t = _delta(prev, cur, "pg_stat_statements_total_time_seconds")
    dcalls, why_c = _delta(prev, cur, "pg_stat_statements_total_queries")
    if dt_time is None or dcalls is None:
        put("db.query_avg_ms", None, why_t or why_c)
    elif dcalls == 0:
        put("db.query_avg_ms", None, "no queries between scrapes")
    else:
        put("db.query_avg_ms", 1000.0 * dt_time / dcalls)

    elapsed = None if prev is None else cur.at - prev.at
    rates: dict[str, float | None] = {}
    for key, series in (("db.commits_per_s", "pg_stat_database_xact_commit_total"), ("db.rollbacks_per_s", "pg_stat_database_xact_rollback_total")):
        d, why = _delta(prev, cur, series)
        if d is not None and elapsed and elapsed > 0:
            rates[key] = d / elapsed
            put(key, d / elapsed)
        else:
            rates[key] = None
            put(key, None, why or "no time elapsed between scrapes")
    commits, rollbacks = rates["db.commits_per_s"], rates["db.rollbacks_per_s"]
    if commits is not None and rollbacks is not None:
        put("db.error_rate_pct", _pct(rollbacks, commits + rollbacks) if commits + rollbacks > 0 else 0.0, "rollback share of transactions")
    else:
        put("db.error_rate_pct", None, out["db.commits_per_s"].note or out["db.rollbacks_per_s"].note)

    deadlocks, why = _delta(prev, cur, "pg_stat_database_deadlocks_total")
    put("db.deadlocks", deadlocks, why or "since the previous scrape")

    size_rows = cur.select("pg_database_size_bytes", datname="postgres") or cur.select("pg_database_size_bytes")
    put("db.size_bytes", sum(v for _, v in size_rows) if size_rows else None, "" if size_rows else NOT_EXPORTED)

    storage_mb = cur.total("storage_storage_size_mb")
    put("storage.used_bytes", None if storage_mb is None else storage_mb * MB, "" if storage_mb is not None else NOT_EXPORTED)

    lag_rows = cur.select("physical_replication_lag_physical_replication_lag_seconds")
    if lag_rows:
        put("db.replication_lag_s", max(v for _, v in lag_rows))
    else:
        put("db.replication_lag_s", None, "no read replica reported")
    return out


def liveness_problem(cur: Scrape) -> str | None:
    """`pg_up 0` means the exporter cannot reach Postgres: worth a status line."""
    up = cur.select("pg_up")
    if up and all(v == 0 for _, v in up):
        return "pg_up = 0: the metrics exporter cannot reach Postgres"
    return None


def metric_names(scrape: Scrape) -> Iterable[str]:
    return scrape.series.keys()
