"""SQL of the database detail views (our own queries over the statistics views).

Each builder returns (sql, params, statement timeout in ms). Column aliases are
the column names declared for the view in domain/db_inspect.py, in that order.
Query text is cut server-side (1000 chars) so a huge statement never crosses
the wire for a table cell. The console's own backend is always left out.
"""

from __future__ import annotations

from collections.abc import Callable

from cs_console.backends.postgres.connector import Capabilities, quote_ident

QUERY_CHARS = 1000
USER_SCHEMAS = "n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'"
MAX_CONN = (
    "(current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
    " - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0))"
)

Built = tuple[str, list[object], int]


def _query(col: str) -> str:
    return f"left(regexp_replace({col}, '\\s+', ' ', 'g'), {QUERY_CHARS})"


def long_running(caps: Capabilities, *, min_seconds: float) -> Built:
    sql = f"""select a.pid,
       extract(epoch from now() - coalesce(case when a.state = 'active' then a.query_start end, a.xact_start, a.query_start))::float8 as duration,
       a.state, a.usename::text as "user", a.application_name as application,
       coalesce(host(a.client_addr), case when a.client_port = -1 then 'local socket' end) as client,
       case when a.wait_event is not null then a.wait_event_type || ':' || a.wait_event end as wait,
       {_query('a.query')} as query
  from pg_stat_activity a
 where a.pid <> pg_backend_pid() and a.backend_type = 'client backend'
   and a.state is distinct from 'idle'
   and now() - coalesce(case when a.state = 'active' then a.query_start end, a.xact_start, a.query_start) > make_interval(secs => $1)
 order by duration desc nulls last
 limit 100"""
    return sql, [float(min_seconds)], 1000


def blocking(caps: Capabilities) -> Built:
    sql = f"""select w.pid as blocked_pid, w.usename::text as blocked_user,
       extract(epoch from now() - w.query_start)::float8 as blocked_for, {_query('w.query')} as blocked_query,
       b.pid as blocking_pid, b.usename::text as blocking_user, b.state as blocking_state,
       extract(epoch from now() - b.xact_start)::float8 as blocking_for, {_query('b.query')} as blocking_query
  from (select distinct pid from pg_locks where not granted and pid <> pg_backend_pid()) l
  join pg_stat_activity w on w.pid = l.pid
  cross join lateral unnest(pg_blocking_pids(w.pid)) as bp(pid)
  left join pg_stat_activity b on b.pid = bp.pid
 order by blocked_for desc nulls last
 limit 100"""
    return sql, [], 1000


def locks(caps: Capabilities) -> Built:
    since = "coalesce(l.waitstart, a.xact_start)" if caps.has_query_id else "a.xact_start"
    sql = f"""select l.pid,
       case when l.relation is not null then l.relation::regclass::text
            when l.locktype = 'transactionid' then 'transaction ' || l.transactionid::text
            else l.locktype end as relation,
       l.mode, l.granted,
       extract(epoch from now() - {since})::float8 as age,
       a.usename::text as "user", {_query('a.query')} as query
  from pg_locks l
  left join pg_stat_activity a on a.pid = l.pid
 where l.pid is distinct from pg_backend_pid()
   and l.locktype <> 'virtualxid'
   and (l.database is null or l.database = (select oid from pg_database where datname = current_database()))
   and (not l.granted or l.mode not in ('AccessShareLock'))
   and not (l.locktype = 'transactionid' and l.granted)
 order by l.granted, age desc nulls last
 limit 200"""
    return sql, [], 1000


def _pgss(caps: Capabilities) -> str:
    return f"{quote_ident(caps.pgss_schema or 'public')}.pg_stat_statements(true)"


def _pgss_filter(caps: Capabilities) -> str:
    top = " and p.toplevel" if caps.has_query_id else ""
    # By id (statements of this process) and by text (the console's statements from earlier runs).
    return (
        f"p.dbid = (select oid from pg_database where datname = current_database()){top}"
        " and coalesce(p.queryid, 0) <> all($1::bigint[])"
        " and p.query not like '%cs-console%' and p.query not like '%\\_cs\\_qid%'"
    )


def outliers(caps: Capabilities, own: list[int]) -> Built:
    sql = f"""select p.total_exec_time::float8 as total_ms,
       (100 * p.total_exec_time / nullif(sum(p.total_exec_time) over (), 0))::float8 as share,
       p.calls, p.mean_exec_time::float8 as mean_ms, p.rows, {_query('p.query')} as query
  from {_pgss(caps)} p
 where {_pgss_filter(caps)}
 order by p.total_exec_time desc
 limit 20"""
    return sql, [own], 1500


def calls(caps: Capabilities, own: list[int]) -> Built:
    sql = f"""select p.calls,
       (100.0 * p.calls / nullif(sum(p.calls) over (), 0))::float8 as share,
       p.total_exec_time::float8 as total_ms, p.mean_exec_time::float8 as mean_ms, {_query('p.query')} as query
  from {_pgss(caps)} p
 where {_pgss_filter(caps)}
 order by p.calls desc
 limit 20"""
    return sql, [own], 1500


def table_sizes(caps: Capabilities) -> Built:
    sql = f"""select n.nspname || '.' || c.relname as "table",
       greatest(c.reltuples, 0)::bigint as rows,
       pg_table_size(c.oid) as table_bytes, pg_indexes_size(c.oid) as index_bytes,
       pg_total_relation_size(c.oid) as total_bytes,
       pg_stat_get_numscans(c.oid) as seq_scans
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm', 'p') and {USER_SCHEMAS}
 order by total_bytes desc
 limit 50"""
    return sql, [], 1500


def index_sizes(caps: Capabilities) -> Built:
    sql = """select s.schemaname || '.' || s.indexrelname as index, s.schemaname || '.' || s.relname as "table",
       pg_relation_size(s.indexrelid) as size_bytes, s.idx_scan as scans
  from pg_stat_user_indexes s
 order by size_bytes desc
 limit 50"""
    return sql, [], 1500


def bloat(caps: Capabilities) -> Built:
    # Expected pages = live rows x estimated row width / usable page space; the rest is waste.
    # Row width: 24-byte header (+ null bitmap) + the average column widths from pg_stats,
    # aligned to 8, + a 4-byte line pointer. Tables never analyzed have no pg_stats: skipped.
    sql = f"""with t as (
  select c.oid, n.nspname, c.relname, c.reltuples, c.relpages,
         coalesce((select substring(o from 'fillfactor=(\\d+)')::int from unnest(c.reloptions) o where o like 'fillfactor=%'), 100) as fillfactor
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'm') and c.relpages > 0 and {USER_SCHEMAS}
), w as (
  select s.schemaname, s.tablename,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) as data_width,
         bool_or(s.null_frac > 0) as has_nulls, count(*) as ncols
    from pg_stats s
   group by s.schemaname, s.tablename
), e as (
  select t.*, w.data_width, w.has_nulls, w.ncols,
         current_setting('block_size')::int as bs,
         ceil((24 + case when w.has_nulls then ceil(w.ncols / 8.0) else 0 end + w.data_width) / 8.0) * 8 + 4 as row_bytes
    from t join w on w.schemaname = t.nspname and w.tablename = t.relname
), x as (
  select e.*, ceil(e.reltuples * e.row_bytes / ((e.bs - 24) * e.fillfactor / 100.0)) as expected_pages from e
)
select x.nspname || '.' || x.relname as "table",
       (100.0 * greatest(x.relpages - x.expected_pages, 0) / x.relpages)::float8 as bloat,
       (greatest(x.relpages - x.expected_pages, 0) * x.bs)::bigint as waste_bytes,
       (x.relpages::bigint * x.bs) as table_bytes,
       (100.0 * st.n_dead_tup / nullif(st.n_live_tup + st.n_dead_tup, 0))::float8 as dead_pct
  from x left join pg_stat_user_tables st on st.relid = x.oid
 order by waste_bytes desc, table_bytes desc
 limit 50"""
    return sql, [], 1500


def vacuum_stats(caps: Capabilities) -> Built:
    def opt(name: str) -> str:
        return f"(select substring(o from '{name}=([0-9.]+)') from unnest(c.reloptions) o where o like '{name}=%')"

    sql = f"""select s.schemaname || '.' || s.relname as "table",
       greatest(s.last_vacuum, s.last_autovacuum) as last_vacuum,
       greatest(s.last_analyze, s.last_autoanalyze) as last_analyze,
       s.n_live_tup as live_rows, s.n_dead_tup as dead_rows,
       (100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0))::float8 as dead_pct,
       v.vacuum_at::bigint as vacuum_at,
       s.n_dead_tup > v.vacuum_at as due
  from pg_stat_user_tables s
  join pg_class c on c.oid = s.relid
  cross join lateral (
    select coalesce({opt('autovacuum_vacuum_threshold')}::float8, current_setting('autovacuum_vacuum_threshold')::float8)
         + coalesce({opt('autovacuum_vacuum_scale_factor')}::float8, current_setting('autovacuum_vacuum_scale_factor')::float8)
           * greatest(c.reltuples, 0) as vacuum_at
  ) v
 order by s.n_dead_tup desc, "table"
 limit 50"""
    return sql, [], 1000


def index_usage(caps: Capabilities) -> Built:
    sql = """select s.schemaname || '.' || s.relname as "table",
       (100.0 * coalesce(s.idx_scan, 0) / nullif(coalesce(s.idx_scan, 0) + s.seq_scan, 0))::float8 as index_pct,
       coalesce(s.idx_scan, 0) as index_scans, s.seq_scan as seq_scans, greatest(c.reltuples, 0)::bigint as rows
  from pg_stat_user_tables s join pg_class c on c.oid = s.relid
 order by rows desc, "table"
 limit 50"""
    return sql, [], 1000


def unused_indexes(caps: Capabilities) -> Built:
    sql = """select s.schemaname || '.' || s.indexrelname as index, s.schemaname || '.' || s.relname as "table",
       pg_relation_size(s.indexrelid) as size_bytes, s.idx_scan as scans
  from pg_stat_user_indexes s
  join pg_index i on i.indexrelid = s.indexrelid
 where s.idx_scan < 50 and not i.indisunique and not i.indisprimary and not i.indisexclusion
   and not exists (select 1 from pg_constraint k where k.conindid = s.indexrelid)
 order by size_bytes desc, scans
 limit 50"""
    return sql, [], 1000


def seq_scans(caps: Capabilities) -> Built:
    sql = """select s.schemaname || '.' || s.relname as "table", s.seq_scan as seq_scans, s.seq_tup_read as rows_read,
       (s.seq_tup_read::float8 / nullif(s.seq_scan, 0)) as avg_rows, pg_table_size(s.relid) as table_bytes
  from pg_stat_user_tables s
 where s.seq_scan > 0
 order by s.seq_tup_read desc
 limit 50"""
    return sql, [], 1000


def role_connections(caps: Capabilities) -> Built:
    sql = f"""select r.rolname::text as role, count(a.pid)::int as connections,
       case when r.rolconnlimit >= 0 then r.rolconnlimit else {MAX_CONN} end as "limit",
       (100.0 * count(a.pid) / nullif(case when r.rolconnlimit >= 0 then r.rolconnlimit else {MAX_CONN} end, 0))::float8 as pct
  from pg_roles r
  left join pg_stat_activity a on a.usesysid = r.oid and a.pid <> pg_backend_pid()
 where r.rolcanlogin
 group by r.rolname, r.rolconnlimit
 order by connections desc, role
 limit 100"""
    return sql, [], 1000


def cache_hit(caps: Capabilities) -> Built:
    sql = """with since as (select stats_reset from pg_stat_database where datname = current_database())
select 'tables' as name,
       (100.0 * sum(heap_blks_hit) / nullif(sum(heap_blks_hit + heap_blks_read), 0))::float8 as hit_pct,
       sum(heap_blks_hit)::bigint as hits, sum(heap_blks_read)::bigint as reads, (select stats_reset from since) as since
  from pg_statio_user_tables
union all
select 'indexes',
       (100.0 * sum(idx_blks_hit) / nullif(sum(idx_blks_hit + idx_blks_read), 0))::float8,
       sum(idx_blks_hit)::bigint, sum(idx_blks_read)::bigint, (select stats_reset from since)
  from pg_statio_user_indexes
union all
select 'whole database',
       (100.0 * blks_hit / nullif(blks_hit + blks_read, 0))::float8, blks_hit, blks_read, stats_reset
  from pg_stat_database where datname = current_database()"""
    return sql, [], 1000


def replication(caps: Capabilities) -> Built:
    sql = """select s.slot_name::text as name, s.slot_type || coalesce(' (' || s.plugin || ')', '') as kind, s.active,
       coalesce(r.state, s.wal_status) as state,
       coalesce(host(r.client_addr), r.application_name) as client,
       case when pg_is_in_recovery() then null
            else pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(s.confirmed_flush_lsn, s.restart_lsn))::bigint end as lag_bytes,
       extract(epoch from r.replay_lag)::float8 as lag_s
  from pg_replication_slots s
  left join pg_stat_replication r on r.pid = s.active_pid
union all
select r.application_name, 'standby (no slot)', true, r.state, host(r.client_addr),
       case when pg_is_in_recovery() then null else pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint end,
       extract(epoch from r.replay_lag)::float8
  from pg_stat_replication r
 where not exists (select 1 from pg_replication_slots s where s.active_pid = r.pid)"""
    return sql, [], 1000


NEEDS_OWN_QIDS: dict[str, Callable[[Capabilities, list[int]], Built]] = {"outliers": outliers, "calls": calls}
SIMPLE: dict[str, Callable[[Capabilities], Built]] = {
    "blocking": blocking,
    "locks": locks,
    "table_sizes": table_sizes,
    "index_sizes": index_sizes,
    "bloat": bloat,
    "vacuum_stats": vacuum_stats,
    "index_usage": index_usage,
    "unused_indexes": unused_indexes,
    "seq_scans": seq_scans,
    "role_connections": role_connections,
    "cache_hit": cache_hit,
    "replication": replication,
}
