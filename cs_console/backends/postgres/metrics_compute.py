"""From the metrics row to the Database samples: deltas per refresh, never since-start totals.

Pure (no I/O) so the arithmetic is tested without a server. The console's own
statements are left out: its own transactions are subtracted from the commit
count (they reach pg_stat_database late, so a pending balance is kept and never
made negative), its `select 1` pings from the statement count, and its other
statements are excluded by query id in the SQL itself.

Statement totals (pg_stat_statements) are read less often than the rest when
reading them is costly, so the average query time has its own tracker and
covers the time between two such reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cs_console.backends.postgres.connector import NOTE_NEEDS_STATS, Capabilities
from cs_console.domain.metrics import MetricSample

FIRST_SAMPLE = "n/a: first sample (rates need two refreshes)"
STATS_RESET = "n/a: statistics were reset since the last refresh"


@dataclass(frozen=True, slots=True)
class Counters:
    at: float  # monotonic seconds when read
    commits: int
    rollbacks: int
    blks_fetched: int
    blks_hit: int
    deadlocks: int
    own_commits: int
    own_rollbacks: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any], at: float, own_commits: int, own_rollbacks: int) -> "Counters":
        return cls(
            at=at, commits=int(row["commits"]), rollbacks=int(row["rollbacks"]),
            blks_fetched=int(row["blks_fetched"]), blks_hit=int(row["blks_hit"]), deadlocks=int(row["deadlocks"]),
            own_commits=own_commits, own_rollbacks=own_rollbacks,
        )


@dataclass(frozen=True, slots=True)
class Deltas:
    seconds: float
    commits: int
    rollbacks: int
    blks_fetched: int
    blks_hit: int
    deadlocks: int
    reset: bool  # a counter went backwards (stats reset, server restart)


class DeltaTracker:
    """Keeps the previous counters and the console's own not-yet-subtracted transactions."""

    def __init__(self) -> None:
        self.previous: Counters | None = None
        self._pending_commits = 0
        self._pending_rollbacks = 0

    def reset(self) -> None:
        """After a reconnect the next sample starts a new series."""
        self.previous = None
        self._pending_commits = self._pending_rollbacks = 0

    def update(self, cur: Counters) -> Deltas | None:
        prev, self.previous = self.previous, cur
        if prev is None:
            return None
        self._pending_commits += max(0, cur.own_commits - prev.own_commits)
        self._pending_rollbacks += max(0, cur.own_rollbacks - prev.own_rollbacks)
        raw = {
            "commits": cur.commits - prev.commits,
            "rollbacks": cur.rollbacks - prev.rollbacks,
            "blks_fetched": cur.blks_fetched - prev.blks_fetched,
            "blks_hit": cur.blks_hit - prev.blks_hit,
            "deadlocks": cur.deadlocks - prev.deadlocks,
        }
        reset = any(v < 0 for v in raw.values())
        if reset:
            self._pending_commits = self._pending_rollbacks = 0
            raw = {k: max(0, v) for k, v in raw.items()}
        own_c = min(raw["commits"], self._pending_commits)
        self._pending_commits -= own_c
        own_r = min(raw["rollbacks"], self._pending_rollbacks)
        self._pending_rollbacks -= own_r
        return Deltas(
            seconds=max(cur.at - prev.at, 1e-6),
            commits=raw["commits"] - own_c, rollbacks=raw["rollbacks"] - own_r,
            blks_fetched=raw["blks_fetched"], blks_hit=raw["blks_hit"], deadlocks=raw["deadlocks"],
            reset=reset,
        )


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """One read of pg_stat_statements (top-level statements of this database, the console's left out)."""

    at: float  # monotonic seconds
    calls: float
    exec_ms: float
    own_pings: int  # our `select 1` share the entry of everyone's `select 1`: subtracted by count
    own_qids: int  # how many of our statement ids the sums left out


class StatementAverages:
    """Average statement time between two reads of the statement totals."""

    def __init__(self) -> None:
        self.previous: StatementTotals | None = None
        self.last: MetricSample | None = None

    def reset(self) -> None:
        self.previous = None
        self.last = None

    def update(self, cur: StatementTotals) -> MetricSample:
        prev, self.previous = self.previous, cur
        key = "db.query_avg_ms"
        if prev is None:
            sample = MetricSample(key, None, FIRST_SAMPLE)
        elif cur.own_qids != prev.own_qids:
            sample = MetricSample(key, None, "n/a: new console statement left out of the sums; back next refresh")
        elif cur.calls < prev.calls or cur.exec_ms < prev.exec_ms:
            sample = MetricSample(key, None, STATS_RESET)
        else:
            calls = max(0.0, cur.calls - prev.calls - (cur.own_pings - prev.own_pings))
            exec_ms = cur.exec_ms - prev.exec_ms
            seconds = max(cur.at - prev.at, 1e-6)
            if calls <= 0:
                sample = MetricSample(key, None, f"n/a: no statements in the last {seconds:.0f} s")
            else:
                sample = MetricSample(key, exec_ms / calls, f"{calls:.0f} statements over {seconds:.0f} s")
        self.last = sample
        return sample

    def current(self, now: float) -> MetricSample:
        """The latest average, carried between reads (its note says how old it is)."""
        if self.last is None or self.previous is None:
            return MetricSample("db.query_avg_ms", None, FIRST_SAMPLE)
        age = now - self.previous.at
        if age < 1:
            return self.last
        return MetricSample(self.last.key, self.last.value, f"{self.last.note}, read {age:.0f} s ago")


class ExplicitRollbacks:
    """How many of the rollbacks were the application's own ROLLBACK statements.

    Many applications end transactions they do not want with ROLLBACK on purpose;
    that is not an error. pg_stat_statements (with track_utility) counts the calls
    of the ROLLBACK statements, but it is read only every so often (its read is
    costly), so the share of rollbacks that were explicit is measured over each
    window between two reads and applied to the refreshes after it. An error
    inside a transaction block that the client then ends with ROLLBACK counts as
    asked for; errors in autocommit statements and aborted commits do not.
    """

    def __init__(self) -> None:
        self.share: float | None = None  # None: not measured (yet)
        self.window_s = 0.0
        self._calls: float | None = None
        self._at = 0.0
        self._rollbacks = 0  # transaction rollbacks since the last read (the console's left out)

    def reset(self) -> None:
        self.__init__()

    def rebase(self) -> None:
        """The set of ROLLBACK statements changed: the next read starts a new window."""
        self._calls, self._rollbacks = None, 0

    def add_interval(self, rollbacks: int) -> None:
        self._rollbacks += max(0, rollbacks)

    def observe(self, calls: float, at: float) -> None:
        """A read of the ROLLBACK statements' total calls at monotonic time `at`."""
        if self._calls is not None and calls >= self._calls and at > self._at:
            explicit = calls - self._calls
            if self._rollbacks > 0:
                self.share = min(1.0, explicit / self._rollbacks)
            elif explicit == 0:
                self.share = self.share if self.share is not None else 0.0
            self.window_s = at - self._at
        self._calls, self._at, self._rollbacks = calls, at, 0


def _s(key: str, value: float | None, note: str = "") -> tuple[str, MetricSample]:
    return key, MetricSample(key, None if value is None else float(value), note)


def build_samples(
    row: Mapping[str, Any],
    caps: Capabilities,
    deltas: Deltas | None,
    *,
    response_ms: float,
    size_bytes: int | None,
    size_note: str,
    growth: tuple[float | None, str],
    query_avg: MetricSample | None = None,
    explicit_rollbacks: ExplicitRollbacks | None = None,
) -> dict[str, MetricSample]:
    """All Database samples; `query_avg` comes from StatementAverages (None: pg_stat_statements unusable);
    `explicit_rollbacks` (None: ROLLBACK calls cannot be counted) takes the application's own
    ROLLBACKs out of the error rate."""
    out: dict[str, MetricSample] = {}

    def put(key: str, value: float | None, note: str = "") -> None:
        k, sample = _s(key, value, note)
        out[k] = sample

    put("db.response_ms", response_ms, "round trip of select 1")

    # Connections against what non-superusers may open.
    max_conn = int(row["max_conn"])
    if caps.read_all_stats:
        used: float | None = float(row["used"])
        used_note = "client backends, the console's own excluded"
    else:
        used = float(max(0, int(row["backends_all_dbs"] or 0)))
        used_note = "approximate (all backends attached to a database): exact count needs pg_read_all_stats"
    put("db.connections.used", used, used_note)
    put("db.connections.max", max_conn, "max_connections minus reserved slots")
    put("db.connections.pct", None if used is None or max_conn <= 0 else used / max_conn * 100, used_note if not caps.read_all_stats else "")
    for key, col in (("db.connections.active", "active"), ("db.connections.idle", "idle"), ("db.connections.idle_in_tx", "idle_in_tx")):
        if caps.read_all_stats:
            put(key, row[col])
        else:
            put(key, None, NOTE_NEEDS_STATS)
    if caps.read_all_stats:
        idle_age = row["idle_in_tx_age_s"]
        put("db.idle_in_tx.max_age_s", idle_age if idle_age is not None else 0.0, "" if idle_age is not None else "none idle in transaction")
        lq = row["longest_query_s"]
        put("db.longest_query_s", lq if lq is not None else 0.0, "" if lq is not None else "no query running")
        lt = row["longest_tx_s"]
        put("db.longest_tx_s", lt if lt is not None else 0.0, "" if lt is not None else "no open transaction")
    else:
        for key in ("db.idle_in_tx.max_age_s", "db.longest_query_s", "db.longest_tx_s"):
            put(key, None, NOTE_NEEDS_STATS)

    blocking = int(row["blocking"] or 0)
    blocked = int(row["blocked"] or 0)
    put("db.blocked", blocked, f"blocked by {blocking} session{'s' if blocking != 1 else ''}" if blocked else "")
    put("db.locks_waiting", row["locks_waiting"], "ungranted lock requests")

    # Replication: a standby reports its own replay delay; a primary its slowest standby.
    if row["in_recovery"]:
        put("db.replication_lag_s", row["replication_lag_s"], "standby: since the last replayed transaction")
    elif int(row["replicas"] or 0) == 0:
        put("db.replication_lag_s", None, "n/a: no replication")
    elif row["replication_lag_s"] is None and not caps.read_all_stats:
        put("db.replication_lag_s", None, NOTE_NEEDS_STATS)
    else:
        lag = row["replication_lag_s"]
        put("db.replication_lag_s", lag if lag is not None else 0.0, f"slowest of {row['replicas']} standbys")

    put("db.size_bytes", size_bytes, size_note)
    put("db.growth_bytes_per_day", growth[0], growth[1])

    if caps.pgss_problem or query_avg is None:
        put("db.query_avg_ms", None, caps.pgss_problem or "n/a: pg_stat_statements not read")
    else:
        out["db.query_avg_ms"] = query_avg

    # Per-interval figures.
    if deltas is None:
        for key in ("db.commits_per_s", "db.rollbacks_per_s", "db.error_rate_pct", "db.cache_hit_pct", "db.deadlocks"):
            put(key, None, FIRST_SAMPLE)
        return out
    if deltas.reset:
        for key in ("db.commits_per_s", "db.rollbacks_per_s", "db.error_rate_pct", "db.cache_hit_pct", "db.deadlocks"):
            put(key, None, STATS_RESET)
        return out
    window = f"over {deltas.seconds:.0f} s"
    put("db.commits_per_s", deltas.commits / deltas.seconds, window)
    put("db.rollbacks_per_s", deltas.rollbacks / deltas.seconds, window)
    total = deltas.commits + deltas.rollbacks
    share = explicit_rollbacks.share if explicit_rollbacks is not None else None
    if total > 0 and share is not None:
        unasked = deltas.rollbacks * (1.0 - share)
        put("db.error_rate_pct", unasked / total * 100,
            f"rolled back without a ROLLBACK asked for; {share * 100:.0f} % of rollbacks were explicit"
            f" (pg_stat_statements, over {explicit_rollbacks.window_s:.0f} s) and are left out")
    elif total > 0:
        why = ("explicit ROLLBACK calls not counted yet" if explicit_rollbacks is not None
               else "pg_stat_statements cannot count ROLLBACK calls (needs track_utility)")
        put("db.error_rate_pct", deltas.rollbacks / total * 100,
            f"share of transactions rolled back, errors and explicit ROLLBACK alike ({why})")
    else:
        put("db.error_rate_pct", None, "n/a: no transactions in the interval")
    if deltas.blks_fetched > 0:
        put("db.cache_hit_pct", deltas.blks_hit / deltas.blks_fetched * 100, window)
    else:
        put("db.cache_hit_pct", None, "n/a: no block reads in the interval")
    put("db.deadlocks", deltas.deadlocks, window)
    return out


class StatementsSchedule:
    """When to read the statement totals.

    Every refresh while that is cheap. pg_stat_statements(false) still builds a
    row per entry, so with thousands of entries one read can cost more than the
    rest of the refresh; then it is read less often, keeping its server time
    under `budget_ms_per_s` per second of wall time (at most every `max_every_s`).
    Its cost is the difference in the metrics statement's own server time
    between refreshes with and without the read. Noise on a busy server only
    ever adds time, so each side is the lowest of its last few measurements.
    A refresh without the read is taken now and then to keep that side fresh.
    """

    KEEP = 3  # measurements kept per side
    BASELINE_EVERY = 20  # refreshes with the read before one without

    def __init__(self, *, budget_ms_per_s: float = 1.0, max_every_s: float = 30.0, fixed_every_s: float | None = None) -> None:
        self.budget_ms_per_s = budget_ms_per_s
        self.max_every_s = max_every_s
        self.fixed_every_s = fixed_every_s
        self.every_s = 0.0
        self.cost_ms: float | None = None
        self._with: list[float] = []
        self._without: list[float] = []
        self._last_read_at = float("-inf")
        self._reads_since_baseline = 0

    def due(self, now: float, have_average: bool) -> bool:
        if self.fixed_every_s is not None:
            return now - self._last_read_at >= self.fixed_every_s
        if have_average and (not self._without or self._reads_since_baseline >= self.BASELINE_EVERY):
            return False
        return now - self._last_read_at >= self.every_s

    def observe(self, read: bool, server_ms: float, now: float) -> None:
        if read:
            self._with = (self._with + [server_ms])[-self.KEEP:]
            self._last_read_at = now
            self._reads_since_baseline += 1
        else:
            self._without = (self._without + [server_ms])[-self.KEEP:]
            self._reads_since_baseline = 0
        if self._with and self._without:
            self.cost_ms = max(0.0, min(self._with) - min(self._without))
            self.every_s = min(self.max_every_s, self.cost_ms / self.budget_ms_per_s)
