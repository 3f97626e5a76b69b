"""The one statement a metrics refresh runs (besides the `select 1` round trip).

Everything the Database group shows comes from a single row: sessions by state
and their ages (pg_stat_activity, the console's own backend excluded), lock
waits (pg_locks, visible to every role), the database's cumulative counters
(read through the pg_stat_get_db_* functions for this one database instead of
the pg_stat_database view, which computes them for every database), the size
(only when asked: pg_database_size walks the data directory), replication lag,
and pg_stat_statements totals read without query text (`pg_stat_statements(false)`
never touches the query-text file). It also returns its own query id so the
next refresh can leave the console's statements out of the query averages.

Parameters: $1 bool = include the database size; $2 int[] = the console's other
own backends (its pool's second connection: never counted, like this one); and
only when pg_stat_statements is usable, $3 bigint[] = the console's own query ids,
$4 bool = read the statement totals this time, and, when it counts utility
statements, $5 bigint[] = the query ids of the application's ROLLBACK statements
(their calls, read with the totals, take explicit rollbacks out of the error rate).

Ages are clamped at zero: another backend's `query_start` can be a little after
this statement's `now()` (it started after our transaction did). Both optional reads sit behind a parameter the executor tests
once (a one-time filter), so a refresh that skips them does not pay for them:
pg_database_size walks the data directory, and pg_stat_statements(false) still
builds a row for every entry (about 3-8 ms for 3 000 entries).
"""

from __future__ import annotations

from cs_console.backends.postgres.connector import Capabilities, own_query_id_expr, quote_ident


def metrics_sql(caps: Capabilities) -> tuple[str, bool]:
    """(statement, whether it takes the pg_stat_statements parameters $3 and $4; $5 too
    when `caps.counts_rollback_calls`)."""
    reserved = (
        "current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        " - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)"
    )
    if caps.counts_rollback_calls:
        # Left out of the totals' own filter: the query ids are the application's, not the console's.
        rollback_sum = "sum(p.calls) filter (where p.queryid = any($5::bigint[]))"
        rollback_col = "coalesce(s.rb_calls, 0)::float8"
    else:
        rollback_sum, rollback_col = "null::numeric", "null::float8"
    if caps.pgss_ok:
        toplevel = " and p.toplevel" if caps.has_query_id else ""
        lateral = (
            ",\n  lateral (select sum(p.calls) as calls, sum(p.total_exec_time) as exec_ms,\n"
            f"                  {rollback_sum} as rb_calls\n"
            f"           from {quote_ident(caps.pgss_schema or 'public')}.pg_stat_statements(false) p\n"
            f"           where $4::bool and p.dbid = d.oid{toplevel} and coalesce(p.queryid, 0) <> all($3::bigint[])\n"
            f"             and p.queryid is distinct from {own_query_id_expr(caps)}) s"
        )
        pgss_select = (
            "  case when $4::bool then coalesce(s.calls, 0)::float8 end as pgss_calls,\n"
            f"  case when $4::bool then {rollback_col} end as pgss_rollback_calls,\n"
            "  case when $4::bool then coalesce(s.exec_ms, 0)::float8 end as pgss_exec_ms,"
        )
        uses_qids = True
    else:
        lateral = ""
        pgss_select = "  null::float8 as pgss_calls,\n  null::float8 as pgss_rollback_calls,\n  null::float8 as pgss_exec_ms,"
        uses_qids = False
    sql = f"""/* cs-console metrics */
with act as (
  select state, backend_type, greatest(now() - state_change, interval '0') as in_state,
         greatest(now() - query_start, interval '0') as q_age, greatest(now() - xact_start, interval '0') as x_age
    from pg_stat_activity
   where pid <> pg_backend_pid() and pid <> all($2::int[]) and backend_type = 'client backend'
), waiting as (
  select distinct pid from pg_locks where not granted and pid <> pg_backend_pid() and pid <> all($2::int[])
), act_agg as (
  select count(*) as used,
         count(*) filter (where state = 'active') as active,
         count(*) filter (where state = 'idle') as idle,
         count(*) filter (where state like 'idle in transaction%') as idle_in_tx,
         extract(epoch from max(in_state) filter (where state like 'idle in transaction%'))::float8 as idle_in_tx_age_s,
         extract(epoch from max(q_age) filter (where state = 'active'))::float8 as longest_query_s,
         extract(epoch from max(x_age))::float8 as longest_tx_s
    from act
)
select
  {own_query_id_expr(caps)} as _cs_qid,
  a.used, a.active, a.idle, a.idle_in_tx, a.idle_in_tx_age_s, a.longest_query_s, a.longest_tx_s,
  (select sum(pg_stat_get_db_numbackends(oid)) from pg_database)::int - 1
    - (select count(*) from pg_stat_activity where pid = any($2::int[]) and pid <> pg_backend_pid())::int as backends_all_dbs,
  {reserved} as max_conn,
  (select count(*) from waiting)::int as blocked,
  (select count(distinct b) from waiting w, unnest(pg_blocking_pids(w.pid)) b)::int as blocking,
  (select count(*) from pg_locks where not granted)::int as locks_waiting,
  pg_stat_get_db_xact_commit(d.oid) as commits,
  pg_stat_get_db_xact_rollback(d.oid) as rollbacks,
  pg_stat_get_db_blocks_fetched(d.oid) as blks_fetched,
  pg_stat_get_db_blocks_hit(d.oid) as blks_hit,
  pg_stat_get_db_deadlocks(d.oid) as deadlocks,
  case when $1::bool then pg_database_size(d.oid) end as size_bytes,
  pg_is_in_recovery() as in_recovery,
  case when pg_is_in_recovery() then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8
       else (select extract(epoch from max(replay_lag))::float8 from pg_stat_replication) end as replication_lag_s,
  (select count(*) from pg_stat_replication)::int as replicas,
{pgss_select}
  now() as server_now,
  -- Last column: evaluated after everything above, so it is this statement's own server time.
  (extract(epoch from clock_timestamp() - statement_timestamp()) * 1000)::float8 as server_ms
from pg_database d cross join act_agg a{lateral}
where d.datname = current_database()"""
    return sql, uses_qids
