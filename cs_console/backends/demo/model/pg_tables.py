"""Tables and indexes of the demo database: sizes, dead tuples, bloat, scans and (auto)vacuum times.

Everything is a function of the anchor, the simulated time and the operator's
VACUUM, ANALYZE and REINDEX on the timeline: maintenance shows at once.
"""

from __future__ import annotations

from cs_console.backends.demo.model.catalog import INDEXES, STATS_RESET_DAYS_AGO, SYSTEM_BYTES, TABLE_BY_NAME, TABLES, IndexSpec, TableSpec
from cs_console.backends.demo.model.clock import DAY, as_datetime
from cs_console.backends.demo.model.noise import unit
from cs_console.backends.demo.model.results import IndexStats, TableStats
from cs_console.backends.demo.model.timeline import Timeline

def _last_manual(timeline: Timeline, kind: str, name: str, now: float) -> float | None:
    item = timeline.last(kind, now, target=name)
    whole = timeline.last(kind, now, target="*")
    times = [i.at for i in (item, whole) if i is not None]
    return max(times) if times else None


def table_dead_tuples(table: TableSpec, seed: int, anchor: float, now: float, timeline: Timeline) -> tuple[int, float | None, float | None]:
    """(dead tuples, last manual vacuum, last autovacuum) at now."""
    manual = _last_manual(timeline, "vacuum", table.name, now)
    auto: float | None = None
    if table.autovacuum_keeps_up and table.dead_per_s > 0:
        threshold = 50 + 0.02 * table.rows  # autovacuum_vacuum_scale_factor tuned to 0.02
        period = max(600.0, min(DAY, threshold / table.dead_per_s))
        phase = unit(seed, "autovac/" + table.name, 0) * period
        auto = now - ((now - phase) % period)
        since = auto if manual is None or manual < auto else manual
    else:
        since = anchor - table.last_vacuum_days_ago * DAY
        if manual is not None and manual > since:
            since = manual
    dead = int(table.dead_per_s * max(0.0, now - since))
    return min(dead, table.rows * 3), manual, auto


def table_bloat_factor(name: str, seed: int, anchor: float, now: float, timeline: Timeline) -> float:
    """Dead share of a table (0..1), used by the load model's query times."""
    table = TABLE_BY_NAME[name]
    dead, _, _ = table_dead_tuples(table, seed, anchor, now, timeline)
    return dead / (dead + table.rows)


def index_bloat_pct(index: IndexSpec, anchor: float, now: float, timeline: Timeline) -> float:
    rebuilt = _last_manual(timeline, "reindex", index.name, now)
    if rebuilt is not None:
        return index.bloat_pct_per_day * (now - rebuilt) / DAY
    return max(0.0, index.bloat_pct + index.bloat_pct_per_day * (now - anchor) / DAY)


def index_bytes(index: IndexSpec, anchor: float, now: float, timeline: Timeline) -> int:
    return int(index.ideal_bytes * (1.0 + index_bloat_pct(index, anchor, now, timeline) / 100.0))


def build_index_stats(seed: int, anchor: float, now: float, timeline: Timeline) -> list[IndexStats]:
    elapsed = (STATS_RESET_DAYS_AGO * DAY) + (now - anchor)
    out = []
    for index in INDEXES:
        scans = int(index.scans_per_s * 0.72 * elapsed * (1.0 + 0.05 * unit(seed, "iscan/" + index.name, 0)))
        out.append(IndexStats(index.name, index.table, index_bytes(index, anchor, now, timeline), scans,
                              round(index_bloat_pct(index, anchor, now, timeline), 1), index.unique, index.primary,
                              index.definition))
    return out


def table_bytes(table: TableSpec, anchor: float, now: float) -> int:
    return int(table.table_bytes + table.growth_bytes_per_day * (now - anchor) / DAY)


def build_table_stats(seed: int, anchor: float, now: float, timeline: Timeline) -> list[TableStats]:
    elapsed = (STATS_RESET_DAYS_AGO * DAY) + (now - anchor)
    out = []
    for table in TABLES:
        dead, manual, auto = table_dead_tuples(table, seed, anchor, now, timeline)
        idx = sum(index_bytes(i, anchor, now, timeline) for i in INDEXES if i.table == table.name)
        tbytes = table_bytes(table, anchor, now)
        rows = int(table.rows + table.growth_bytes_per_day * (now - anchor) / DAY / max(1.0, table.table_bytes / table.rows))
        dead_pct = 100.0 * dead / (dead + rows) if rows + dead else 0.0
        analyzed_manual = _last_manual(timeline, "analyze", table.name, now)
        candidates = [t for t in (manual, analyzed_manual) if t is not None]
        last_analyze = max(candidates) if candidates else None
        seq = int(table.seq_scans_per_s * 0.72 * elapsed)
        out.append(TableStats(
            name=table.name,
            rows_estimate=rows,
            table_bytes=tbytes,
            index_bytes=idx,
            total_bytes=tbytes + idx,
            dead_tuples=dead,
            dead_pct=round(dead_pct, 1),
            bloat_pct=round(min(95.0, dead_pct * 0.9 + 4.0), 1),
            seq_scans=seq,
            seq_tup_read=seq * table.seq_rows_per_scan,
            idx_scans=int(table.idx_scans_per_s * 0.72 * elapsed),
            last_vacuum=as_datetime(manual) if manual else None,
            last_autovacuum=as_datetime(auto) if auto else (as_datetime(anchor - table.last_vacuum_days_ago * DAY) if not table.autovacuum_keeps_up else None),
            last_analyze=as_datetime(last_analyze) if last_analyze else None,
            last_autoanalyze=as_datetime((auto or anchor - table.last_vacuum_days_ago * DAY) + 2.0),
            autovacuum_threshold=int(50 + 0.02 * table.rows),
        ))
    return out


def database_bytes(anchor: float, now: float, timeline: Timeline) -> int:
    tables = sum(table_bytes(t, anchor, now) for t in TABLES)
    indexes = sum(index_bytes(i, anchor, now, timeline) for i in INDEXES)
    return SYSTEM_BYTES + tables + indexes
