"""DemoProject: the simulated CustomerSignal project the demo sources read and the demo actions change.

Time comes from a SimClock. Everything except the connection slots is a
closed-form function of (seed, scenario, onset, the operator's actions, the
simulated second), so any moment can be evaluated quickly and in any order;
the connection slots are stepped second by second from the start (see
connections.py). Same seed + same anchor + same actions at the same
simulated times = the same numbers and the same logs.

Interactive consoles start just before the scenario's onset; one-shot
commands see it fully developed (18 simulated minutes after onset).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import replace as dc_replace
from datetime import datetime, timedelta, timezone

from cs_console.backends.demo import scenarios as sc
from cs_console.backends.demo.catalog import (
    BACKUP_FAILED_DAYS_AGO,
    BACKUP_HOUR_UTC,
    BUCKETS,
    COMPROMISED_USER,
    COMPUTE_TIERS,
    DISK_BYTES,
    FUNCTION_BY_SLUG,
    FUNCTIONS,
    INDEX_BY_NAME,
    LEAKY_APPLICATION,
    LONG_REPORT_QUERY,
    POOLS,
    POSTGRES_VERSION,
    PROJECT_NAME,
    PROJECT_REF,
    REGION,
    RESERVED_CONNECTIONS,
    RESIZE_SECONDS,
    STATEMENT_TIMEOUT_S,
    STATS_RESET_DAYS_AGO,
    STORAGE_QUOTA_BYTES,
    TABLE_BY_NAME,
    TAKEOVER_IP,
    USERS,
    WAL_AND_SYSTEM_BYTES,
)
from cs_console.backends.demo.clock import SimClock, wall_anchor
from cs_console.backends.demo.connections import ConnectionEngine, PgEvent, pool_pid
from cs_console.backends.demo.inventory import (
    backend_rows,
    build_backends,
    build_blocking,
    build_index_stats,
    build_locks,
    build_table_stats,
    build_top_queries,
    database_bytes,
)
from cs_console.backends.demo.noise import unit
from cs_console.backends.demo.rows import (
    ActionResult,
    ApiKey,
    AuthFailureHotspot,
    AuthUser,
    Backend,
    Backup,
    BackupList,
    BlockingPair,
    BucketUsage,
    DatabaseSettings,
    DemoActionError,
    FunctionInfo,
    IndexStats,
    Intervention,
    LockInfo,
    NetworkBan,
    ProjectInfo,
    QueryStats,
    StorageUsage,
    TableStats,
)
from cs_console.backends.demo.scenarios import SCENARIO_BY_NAME, Scenario
from cs_console.backends.demo.signals import Context, DbSecond, Load, Signals, compute_load, compute_signals
from cs_console.backends.demo.timeline import Timeline
from cs_console.domain.health import ComponentHealth
from cs_console.domain.metrics import MetricsSnapshot
from cs_console.domain.sources import SourceState, SourceStatus

_CACHE_SIZE = 8192
LOG_RATE_BLOCK_S = 5
_GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_STALE_BAN = "192.0.2.44"  # auto-banned last week for failed Postgres logins


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration ("24h", "90m", "1h30m"), as the Auth admin API parses ban_duration.

    Raises DemoActionError with the API's wording for anything else (no "d" unit, as in Go).
    """
    value = text.strip()
    if not _GO_DURATION.match(value):
        raise DemoActionError(f"invalid format for ban duration: {text!r} (a Go duration such as 24h, 90m or 876000h)")
    total = 0.0
    for number, unit_name in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value):
        total += float(number) * _GO_UNITS[unit_name]
    return total


class DemoProject:
    """The simulated project. Thread-safe: every public method takes the project's lock.

    scenario: one of scenarios.SCENARIO_NAMES; seed: any int; speed: simulated
    seconds per wall second. one_shot: place the clock 18 simulated minutes
    after the onset (scripted checks see the incident fully developed);
    otherwise the onset comes 10 simulated seconds after start.
    anchor: the simulated time at start (default: the wall clock); real_time
    False freezes the clock so only clock.advance() moves it (tests).
    """

    # What a runbook step may call on the demo (backends/executors/demo.py): reads and actions,
    # never the model's internals.
    RUNBOOK_CALLS: frozenset[str] = frozenset({
        "list_backends", "list_locks", "blocking", "terminate_backend", "terminate_backends", "cancel_backend",
        "restart_worker", "set_idle_in_transaction_timeout", "settings",
        "table_stats", "index_stats", "top_queries", "vacuum_analyze", "analyze", "reindex", "database_size",
        "scale_compute", "enable_rate_limiting", "disable_rate_limiting", "enable_cdn_caching",
        "list_functions", "redeploy_function", "list_users", "find_user", "ban_user", "unban_user",
        "auth_failures_by_ip", "list_network_bans", "remove_network_ban", "add_network_ban", "enable_captcha",
        "list_api_keys", "rotate_api_key", "list_backups", "storage_usage", "disk_usage", "project_info",
        "metrics_snapshot", "health", "phase", "actions",
    })

    def __init__(
        self,
        scenario: str = "calm",
        seed: int = 7,
        speed: float = 1.0,
        *,
        one_shot: bool = False,
        anchor: datetime | None = None,
        real_time: bool = True,
    ) -> None:
        if scenario not in SCENARIO_BY_NAME:
            raise ValueError(f"unknown scenario {scenario!r} (expected one of: {', '.join(SCENARIO_BY_NAME)})")
        self.scenario: Scenario = SCENARIO_BY_NAME[scenario]
        self.seed = int(seed)
        self.one_shot = one_shot
        self.clock = SimClock(anchor or wall_anchor(), speed, real_time=real_time)
        self._anchor = float(int(self.clock.epoch()))
        if scenario == "calm":
            onset: float | None = None
        elif one_shot:
            onset = self._anchor - self.scenario.developed_after_s
        else:
            onset = self._anchor + self.scenario.onset_lead_s
        self.timeline = Timeline()
        self.ctx = Context(self.seed, scenario, onset, self.timeline)
        self._lock = threading.RLock()
        self._loads: OrderedDict[int, Load] = OrderedDict()
        self._signals: OrderedDict[int, Signals] = OrderedDict()
        start = int(min(onset, self._anchor)) if onset is not None else int(self._anchor)
        self.engine = ConnectionEngine(self.ctx, self.load_at, start)
        self._bans: dict[str, datetime | None] = {}
        self._sign_ins: dict[str, datetime] = {}
        self._network_bans_removed: set[str] = set()
        self._keys: dict[str, ApiKey] = self._initial_keys()
        self._started = self.clock.now()
        with self._lock:
            self.engine.advance_to(int(self._anchor))

    # --- time -----------------------------------------------------------------
    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def anchor(self) -> datetime:
        return datetime.fromtimestamp(self._anchor, tz=timezone.utc)

    @property
    def onset(self) -> datetime | None:
        """When the scenario's incident begins (None for calm)."""
        return None if self.ctx.onset is None else datetime.fromtimestamp(self.ctx.onset, tz=timezone.utc)

    def now(self) -> datetime:
        return self.clock.now()

    def _now(self) -> float:
        """Simulated Unix seconds, with the engine stepped up to this second."""
        t = self.clock.epoch()
        self.engine.advance_to(int(t))
        return t

    def advance(self, seconds: float) -> None:
        """Fast-forward the simulated clock (a key in the console, tests)."""
        with self._lock:
            self.clock.advance(seconds)
            self._now()

    def sync(self) -> float:
        """Step the simulation to the clock's time; returns simulated Unix seconds."""
        with self._lock:
            return self._now()

    # --- the model, per second (used by the metrics, health and log sources) -----
    def load_at(self, s: int) -> Load:
        cached = self._loads.get(s)
        if cached is None:
            cached = compute_load(self.ctx, s)
            self._loads[s] = cached
            if len(self._loads) > _CACHE_SIZE:
                self._loads.popitem(last=False)
        return cached

    def db_at(self, s: int) -> DbSecond:
        with self._lock:
            if s > self.engine.stepped_until:
                self._now()
            if s > self.engine.stepped_until:
                raise ValueError("cannot look into the simulated future")
            return self.engine.state_at(s)

    def signals_at(self, s: int) -> Signals:
        """Every rate and figure of second s (must not be in the simulated future)."""
        with self._lock:
            cached = self._signals.get(s)
            if cached is None:
                cached = compute_signals(self.ctx, s, self.load_at(s), self.db_at(s))
                cached = self._with_maintenance(cached)
                self._signals[s] = cached
                if len(self._signals) > _CACHE_SIZE:
                    self._signals.popitem(last=False)
            return cached

    def log_signals(self, s: int) -> Signals:
        """The model for log generation: rates from the start of s's 5-second block (or from the latest
        action inside it), with the exact database state of s. Rates vary smoothly, so logs stay
        consistent with the metrics, and a history window costs a fifth of the model evaluations."""
        with self._lock:
            rep = s - s % LOG_RATE_BLOCK_S
            for item in reversed(self.timeline):  # actions show in the logs from their own second on
                second = int(item.at)
                if second <= s:
                    if second > rep:
                        rep = second
                    break
            sig = self.signals_at(rep)
            if rep == s:
                return sig
            if s > self.engine.stepped_until:
                self._now()
            db = self.engine.stepped_state(s)
            if db is None and not sig.db.restarting:
                return sig  # a quiet second: the block's closed-form state stands
            return dc_replace(sig, s=s, db=db or self.engine.state_at(s))

    def _with_maintenance(self, sig: Signals) -> Signals:
        """Bloat on the hot queue table slows queries; VACUUM and REINDEX take that away."""
        from cs_console.backends.demo.inventory import index_bloat_pct, table_bloat_factor

        dead = table_bloat_factor("public.signal_queue", self.seed, self._anchor, sig.s, self.timeline)
        idx = index_bloat_pct(INDEX_BY_NAME["public.signal_queue_status_created_at_idx"], self._anchor, sig.s, self.timeline)
        sig.db_query_avg_ms += 4.0 * dead + 0.03 * idx
        return sig

    def pg_events(self, s: int) -> list[PgEvent]:
        with self._lock:
            return list(self.engine.events_in(s))

    def _invalidate_from(self, s: int) -> None:
        for cache in (self._loads, self._signals):
            for key in [k for k in cache if k >= s]:
                del cache[key]

    def _record(self, kind: str, target: str = "", value: object = None) -> float:
        """Put an action on the timeline at the current simulated time; it shows from this second on."""
        t = self._now()
        self.timeline.add(Intervention(t, kind, target, value))
        self._invalidate_from(int(t))
        self.engine.rerecord(int(t))
        return t

    def _result(self, action: str, target: str, message: str, t: float, ok: bool = True, **detail: object) -> ActionResult:
        return ActionResult(action, target, ok, message, datetime.fromtimestamp(t, tz=timezone.utc), dict(detail))

    # --- status -----------------------------------------------------------------
    def status(self) -> SourceStatus:
        """The header dot: always UP (nothing to lose), with what is simulated."""
        speed = f" ×{self.speed:g}" if self.speed != 1 else ""
        return SourceStatus(
            "demo",
            SourceState.UP,
            f"simulated CustomerSignal · {self.scenario.name} · seed {self.seed}{speed}",
            self._started,
        )

    def metrics_snapshot(self) -> MetricsSnapshot:
        """Every metric of domain.metrics.METRICS plus per-function stats, at the clock's time."""
        from cs_console.backends.demo.metrics_source import build_snapshot

        with self._lock:
            return build_snapshot(self)

    def health(self) -> list[ComponentHealth]:
        """Health of every component of domain.health.COMPONENTS, at the clock's time."""
        from cs_console.backends.demo.health_probe import assess_health

        with self._lock:
            return assess_health(self)

    def phase(self) -> str:
        """A short description of where the scenario stands (for a banner)."""
        with self._lock:
            t = self._now()
            tau = self.ctx.tau(t)
            if self.ctx.onset is None:
                return "calm"
            if tau is None:
                return f"{self.scenario.title}: starts in {self.ctx.onset - t:.0f} s"
            return f"{self.scenario.title}: {tau / 60:.1f} min since onset"

    # --- database: sessions -----------------------------------------------------------
    def list_backends(self) -> list[Backend]:
        """pg_stat_activity: every client backend (pid, user, application_name, client_addr, state, query,
        backend/xact/query start, wait event, blocked_by). The console's own session is not listed."""
        with self._lock:
            t = self._now()
            s = int(t)
            return build_backends(self.ctx, t, self.load_at(s), self.engine.state_at(s), self.engine, self._anchor)

    def backend_rows(self) -> list[tuple]:
        """list_backends() as plain tuples with Unix-second times (inventory.Row): cheap, for counting."""
        with self._lock:
            t = self._now()
            s = int(t)
            return backend_rows(self.ctx, t, self.load_at(s), self.engine.state_at(s), self.engine, self._anchor)

    def list_locks(self) -> list[LockInfo]:
        """pg_locks joined with pg_stat_activity (granted and waiting)."""
        return build_locks(self.list_backends())

    def blocking(self) -> list[BlockingPair]:
        """Blocked/blocking pairs, as `inspect db blocking` shows them."""
        return build_blocking(self.list_backends())

    def _find_backend(self, pid: int) -> Backend:
        for b in self.list_backends():
            if b.pid == pid:
                return b
        raise DemoActionError(f"no backend with pid {pid}")

    def terminate_backend(self, pid: int) -> bool:
        """pg_terminate_backend(pid). True when a session was ended; False for an unknown pid (as PostgreSQL).

        Ending a leaked signal-worker session frees its slot and its row locks; pooled
        sessions (PostgREST, Supavisor...) reconnect at once with a new pid.
        """
        with self._lock:
            t = self._now()
            s = int(t)
            backends = {b.pid: b for b in self.list_backends()}
            b = backends.get(pid)
            if b is None:
                return False
            if b.application_name == LEAKY_APPLICATION and b.state.startswith("idle in transaction") and self.engine.terminate_leaked(pid, t):
                pass
            else:
                if b.query == LONG_REPORT_QUERY:
                    self.timeline.add(Intervention(t, "stop_report_query", str(pid)))
                pool_index, slot = self._pool_slot(pid)
                if pool_index is None:  # a superuser session in a reserved slot: it simply goes
                    self.engine.emit(t, PgEvent(t, "FATAL", "terminating connection due to administrator command",
                                                user=b.user, application=b.application_name, pid=pid))
                else:
                    pool = POOLS[pool_index]
                    self.engine.reconnect_pool_member(pool.key, slot, t, pid, b.user, b.application_name)
            self.timeline.add(Intervention(t, "terminate_backend", str(pid)))
            self._invalidate_from(s)
            self.engine.rerecord(s)
            return True

    def terminate_backends(self, pids: list[int]) -> int:
        """Terminate several backends; returns how many were ended."""
        return sum(1 for pid in pids if self.terminate_backend(pid))

    def _pool_slot(self, pid: int) -> tuple[int | None, int]:
        for index, pool in enumerate(POOLS):
            for slot in range(pool.max_size):
                gen, _ = self.engine.generation(pool.key, slot)
                if pool_pid(index, slot, gen) == pid:
                    return index, slot
        return None, 0

    def cancel_backend(self, pid: int) -> bool:
        """pg_cancel_backend(pid): cancels the running statement. True if the pid exists (as PostgreSQL),
        even when nothing was running: an idle-in-transaction session keeps its transaction and locks."""
        with self._lock:
            t = self._now()
            try:
                b = self._find_backend(pid)
            except DemoActionError:
                return False
            if b.state == "active":
                self.engine.emit(t, PgEvent(t, "ERROR", "canceling statement due to user request", user=b.user,
                                            application=b.application_name, pid=pid, query=b.query))
                if b.query == LONG_REPORT_QUERY:
                    self._record("stop_report_query", str(pid))
            self.timeline.add(Intervention(t, "cancel_backend", str(pid)))
            return True

    def restart_worker(self, application_name: str = LEAKY_APPLICATION) -> ActionResult:
        """Restart the signal-worker with the fixed release: its leaked sessions end (transactions roll back)
        and it stops leaking. This resolves connection-exhaustion."""
        with self._lock:
            if application_name != LEAKY_APPLICATION:
                raise DemoActionError(f"no worker named {application_name!r} (the demo runs {LEAKY_APPLICATION!r})")
            t = self._now()
            closed = self.engine.restart_worker(t)
            self.timeline.add(Intervention(t, "restart_worker", application_name))
            self._invalidate_from(int(t))
            self.engine.rerecord(int(t))
            return self._result("restart_worker", application_name,
                                f"{application_name} restarted; {closed} idle-in-transaction sessions closed", t, closed=closed)

    def set_idle_in_transaction_timeout(self, seconds: float | None) -> ActionResult:
        """ALTER ROLE/DATABASE ... SET idle_in_transaction_session_timeout. None or 0 disables it.
        Sessions idle in a transaction longer than this are ended by the server."""
        with self._lock:
            value = None if not seconds else float(seconds)
            if value is not None and value < 1:
                raise DemoActionError("idle_in_transaction_session_timeout must be at least 1 s (or 0 to disable)")
            t = self._record("idle_in_transaction_timeout", "postgres", value)
            self.engine.idle_tx_timeout_s = value
            shown = f"{value:g}s" if value else "0 (disabled)"
            return self._result("set_idle_in_transaction_timeout", "postgres",
                                f"idle_in_transaction_session_timeout = {shown}", t, seconds=value)

    def settings(self) -> DatabaseSettings:
        """max_connections, reserved slots, timeouts and the compute tier."""
        with self._lock:
            t = self._now()
            load = self.load_at(int(t))
            return DatabaseSettings(load.tier.max_connections, RESERVED_CONNECTIONS, self.engine.idle_tx_timeout_s,
                                    STATEMENT_TIMEOUT_S, load.tier.name, load.restarting_since is not None)

    # --- database: maintenance and statistics --------------------------------------------
    def table_stats(self) -> list[TableStats]:
        """Sizes, live/dead tuples, bloat, seq/index scans and last (auto)vacuum/analyze per table."""
        with self._lock:
            return build_table_stats(self.seed, self._anchor, self._now(), self.timeline)

    def index_stats(self) -> list[IndexStats]:
        """Size, scans, estimated bloat and definition per index (unused: no scans and not unique)."""
        with self._lock:
            return build_index_stats(self.seed, self._anchor, self._now(), self.timeline)

    def top_queries(self, order_by: str = "total_time", limit: int = 10) -> list[QueryStats]:
        """pg_stat_statements since the last reset; order_by total_time | calls | mean."""
        with self._lock:
            t = self._now()
            s = int(t)
            return build_top_queries(self.ctx, self._anchor, t, self.load_at(s), self.engine.state_at(s), order_by, limit)

    def vacuum_analyze(self, table: str | None = None) -> ActionResult:
        """VACUUM (ANALYZE) one table (schema-qualified or bare name) or, with None, the whole database."""
        with self._lock:
            name = "*" if table is None else self._table_name(table)
            before = {ts.name: ts for ts in self.table_stats()}
            t = self._record("vacuum", name)
            self.timeline.add(Intervention(t, "analyze", name))
            targets = list(before) if name == "*" else [name]
            removed = sum(before[n].dead_tuples for n in targets)
            size = sum(before[n].table_bytes for n in targets)
            duration = 0.4 + size / (220 * 1024 * 1024)  # ~220 MB/s
            statement = "VACUUM (ANALYZE)" + ("" if name == "*" else f" {name}")
            self.engine.emit(t + 0.01, PgEvent(t + 0.01, "LOG", f"duration: {duration * 1000:.3f} ms  statement: {statement}",
                                               user="postgres", application="cs-console"))
            return self._result("vacuum_analyze", name, f"{statement}: {removed:,} dead tuples removed in {duration:.1f} s",
                                t, dead_tuples_removed=removed, duration_s=round(duration, 2))

    def analyze(self, table: str | None = None) -> ActionResult:
        """ANALYZE one table or the whole database (refreshes planner statistics only)."""
        with self._lock:
            name = "*" if table is None else self._table_name(table)
            t = self._record("analyze", name)
            return self._result("analyze", name, "ANALYZE" + ("" if name == "*" else f" {name}"), t)

    def reindex(self, index: str, concurrently: bool = True) -> ActionResult:
        """REINDEX INDEX [CONCURRENTLY] name: the index is rebuilt without its bloat."""
        with self._lock:
            name = self._index_name(index)
            before = next(i for i in self.index_stats() if i.name == name)
            t = self._record("reindex", name)
            after = next(i for i in self.index_stats() if i.name == name)
            duration = 0.5 + before.bytes / (60 * 1024 * 1024)
            statement = f"REINDEX INDEX {'CONCURRENTLY ' if concurrently else ''}{name}"
            self.engine.emit(t + 0.01, PgEvent(t + 0.01, "LOG", f"duration: {duration * 1000:.3f} ms  statement: {statement}",
                                               user="postgres", application="cs-console"))
            return self._result("reindex", name, f"{statement}: {before.bytes / 1048576:.0f} MB → {after.bytes / 1048576:.0f} MB",
                                t, bytes_before=before.bytes, bytes_after=after.bytes, duration_s=round(duration, 2))

    @staticmethod
    def _table_name(table: str) -> str:
        name = table if "." in table else f"public.{table}"
        if name not in TABLE_BY_NAME:
            raise DemoActionError(f"no table {table!r} (tables: {', '.join(t.split('.', 1)[1] for t in TABLE_BY_NAME)})")
        return name

    @staticmethod
    def _index_name(index: str) -> str:
        name = index if "." in index else f"public.{index}"
        if name not in INDEX_BY_NAME:
            raise DemoActionError(f"no index {index!r}")
        return name

    def stats_reset_at(self) -> datetime:
        """When pg_stat_statements and the cumulative statistics were last reset."""
        return datetime.fromtimestamp(self._anchor - STATS_RESET_DAYS_AGO * 86400.0, tz=timezone.utc)

    def database_size(self) -> int:
        with self._lock:
            return database_bytes(self._anchor, self._now(), self.timeline)

    # --- compute and traffic -----------------------------------------------------------------
    def scale_compute(self, tier: str) -> ActionResult:
        """Resize the compute add-on (micro, small, medium, large, xl, 2xl, 4xl). The database restarts
        (about 90 simulated seconds DOWN, every session dropped), then runs with the tier's
        max_connections and capacity."""
        with self._lock:
            if tier not in COMPUTE_TIERS:
                raise DemoActionError(f"unknown compute tier {tier!r} (expected one of: {', '.join(COMPUTE_TIERS)})")
            current = self.settings()
            if current.restarting:
                raise DemoActionError("a compute resize is already in progress")
            if current.compute_tier == tier:
                raise DemoActionError(f"the project already runs on {tier}")
            t = self._record("scale_compute", tier, tier)
            self.engine.restart(t, RESIZE_SECONDS)
            self._invalidate_from(int(t))
            new = COMPUTE_TIERS[tier]
            return self._result("scale_compute", tier,
                                f"resizing {current.compute_tier} → {tier}: the database restarts (~90 s), "
                                f"then max_connections = {new.max_connections}", t, max_connections=new.max_connections)

    def enable_rate_limiting(self, client_rpm: float | None = None) -> ActionResult:
        """Rate-limit heavy API clients (default 300 requests/min per client); the excess gets 429."""
        with self._lock:
            limit = float(client_rpm or sc.RATE_LIMIT_CLIENT_RPM)
            t = self._record("enable_rate_limiting", "api", limit)
            return self._result("enable_rate_limiting", "api", f"rate limiting on: {limit:.0f} requests/min per client", t, client_rpm=limit)

    def disable_rate_limiting(self) -> ActionResult:
        with self._lock:
            t = self._record("disable_rate_limiting", "api")
            return self._result("disable_rate_limiting", "api", "rate limiting off", t)

    def enable_cdn_caching(self) -> ActionResult:
        """Cache GET responses at the CDN: most of a read-heavy spike stops reaching the database."""
        with self._lock:
            t = self._record("enable_cdn_caching", "api")
            return self._result("enable_cdn_caching", "api", "CDN caching on for GET /rest/v1/* (max-age 30 s)", t)

    # --- edge functions ------------------------------------------------------------------------
    def list_functions(self) -> list[FunctionInfo]:
        """As GET /v1/projects/{ref}/functions: id, slug, status, version, created/updated (epoch ms)."""
        with self._lock:
            t = self._now()
            sig = self.signals_at(int(t))
            out = []
            for spec in FUNCTIONS:
                fn = sig.fns[spec.slug]
                deployed = [i.at for i in self.timeline if i.kind == "redeploy_function" and i.target == spec.slug]
                if self.ctx.scenario == "function-failures" and spec.slug == "process-conversations" and self.ctx.onset is not None:
                    deployed.append(self.ctx.onset)
                updated = int(max(deployed) * 1000) if deployed else spec.updated_ms
                out.append(FunctionInfo(spec.id, spec.slug, spec.slug, fn.status, fn.version, spec.created_ms, updated,
                                        spec.verify_jwt, f"file:///src/functions/{spec.slug}/index.ts"))
            return out

    def redeploy_function(self, slug: str) -> ActionResult:
        """`supabase functions deploy <slug>`: deploys the current main build (version + 1). For the function
        broken by the bad deploy this is the fix: errors fall back within ~40 simulated seconds."""
        with self._lock:
            if slug not in FUNCTION_BY_SLUG:
                raise DemoActionError(f"no function {slug!r} (functions: {', '.join(FUNCTION_BY_SLUG)})")
            t = self._record("redeploy_function", slug)
            version = self.signals_at(int(t)).fns[slug].version
            return self._result("redeploy_function", slug, f"deployed {slug} version {version}", t, version=version)

    # --- auth and security ------------------------------------------------------------------------
    def list_users(self, search: str | None = None) -> list[AuthUser]:
        """Auth users (a sample of the project's 4,812), optionally filtered by a substring of the e-mail."""
        with self._lock:
            t = self._now()
            out = []
            for spec in USERS:
                if search and search.lower() not in spec.email.lower():
                    continue
                out.append(self._user(spec.id, t))
            return out

    def _user(self, user_id: str, t: float) -> AuthUser:
        spec = next(u for u in USERS if u.id == user_id)
        last = self._sign_ins.get(spec.id)
        if last is None:
            last = datetime.fromtimestamp(self._anchor - 3600 * 30 * unit(self.seed, "signin/" + spec.id, 0), tz=timezone.utc)
        tau = self.ctx.tau(t)
        if spec.email == COMPROMISED_USER and self.ctx.scenario == "security-breach" and tau is not None and tau >= sc.TAKEOVER_AT_S:
            last = datetime.fromtimestamp(self.ctx.onset + sc.TAKEOVER_AT_S, tz=timezone.utc)  # type: ignore[operator]
        banned = self._bans.get(spec.id)
        if banned is not None and banned <= datetime.fromtimestamp(t, tz=timezone.utc):
            banned = None
        return AuthUser(spec.id, spec.email, spec.org, spec.role, datetime.fromisoformat(spec.created_at.replace("Z", "+00:00")),
                        last, banned)

    def find_user(self, user: str) -> AuthUser:
        """By id (UUID) or e-mail; DemoActionError('User not found') otherwise, as the Auth admin API."""
        with self._lock:
            t = self._now()
            for spec in USERS:
                if user in (spec.id, spec.email):
                    return self._user(spec.id, t)
            raise DemoActionError(f"User not found: {user}")

    def ban_user(self, user: str, duration: str = "24h") -> AuthUser:
        """PUT /auth/v1/admin/users/{id} {"ban_duration": duration}: a Go duration ("24h", "876000h");
        "none" unbans. Banning the compromised account ends its session at its next token refresh."""
        with self._lock:
            found = self.find_user(user)
            if duration.strip() == "none":
                return self.unban_user(user)
            seconds = parse_go_duration(duration)
            target = "compromised" if found.email == COMPROMISED_USER else found.id
            t = self._record("ban_user", target, seconds)
            self._bans[found.id] = datetime.fromtimestamp(t + seconds, tz=timezone.utc)
            return self._user(found.id, t)

    def unban_user(self, user: str) -> AuthUser:
        """ban_duration "none"."""
        with self._lock:
            found = self.find_user(user)
            target = "compromised" if found.email == COMPROMISED_USER else found.id
            t = self._record("unban_user", target)
            self._bans.pop(found.id, None)
            return self._user(found.id, t)

    def auth_failures_by_ip(self, window_s: float = 3600.0) -> list[AuthFailureHotspot]:
        """Failed sign-ins per client address over the last window (from the auth logs), worst first."""
        from cs_console.backends.demo.log_generators import auth_failure_counts

        with self._lock:
            t = self._now()
            return auth_failure_counts(self, t - window_s, t)

    def auth_failure_ips_now(self) -> dict[str, float]:
        """Failed sign-ins per minute by address, right now (cheap; for health and headers)."""
        from cs_console.backends.demo.signals import auth_failure_sources

        with self._lock:
            return auth_failure_sources(self.load_at(int(self._now())))

    def list_network_bans(self) -> list[NetworkBan]:
        """POST /network-bans/retrieve/enriched: addresses Postgres brute-force protection banned."""
        with self._lock:
            t = self._now()
            banned = [_STALE_BAN]
            tau = self.ctx.tau(t)
            if self.ctx.scenario == "security-breach" and tau is not None and tau >= sc.DB_AUTO_BAN_AT_S:
                banned.append(TAKEOVER_IP)
            return [NetworkBan(ip, PROJECT_REF) for ip in banned if ip not in self._network_bans_removed]

    def remove_network_ban(self, ip: str) -> ActionResult:
        """DELETE /network-bans {"ipv4_addresses": [ip]}: lifts an automatic ban."""
        with self._lock:
            if ip not in {b.banned_address for b in self.list_network_bans()}:
                raise DemoActionError(f"{ip} is not banned")
            t = self._record("remove_network_ban", ip)
            self._network_bans_removed.add(ip)
            return self._result("remove_network_ban", ip, f"network ban on {ip} removed", t)

    def add_network_ban(self, ip: str) -> ActionResult:
        """Always refused: the Management API has no verb to add a network ban (bans come only from
        Postgres brute-force protection). Say what to do instead."""
        raise DemoActionError(
            f"cannot ban {ip}: the Supabase API has no 'add network ban' verb; restrict database access with "
            "network restrictions (Postgres only), enable CAPTCHA and rate limits for Auth, or block it at your CDN/WAF"
        )

    def enable_captcha(self) -> ActionResult:
        """Auth config security_captcha_enabled: sign-ins need a CAPTCHA; credential-stuffing bots fail it and give up."""
        with self._lock:
            t = self._record("enable_captcha", "auth")
            return self._result("enable_captcha", "auth", "CAPTCHA required on sign-in, sign-up and password recovery", t)

    def list_api_keys(self) -> list[ApiKey]:
        """GET /api-keys (never revealed)."""
        with self._lock:
            return list(self._keys.values())

    def _initial_keys(self) -> dict[str, ApiKey]:
        made = datetime(2024, 11, 2, 9, 0, tzinfo=timezone.utc)
        return {
            "anon": ApiKey("5c6d7e8f-anon", "anon", "legacy", "eyJhbGciOi", "Legacy anon JWT", made, made),
            "service_role": ApiKey("6d7e8f90-svc", "service_role", "legacy", "eyJhbGciOi", "Legacy service_role JWT", made, made),
            "default": ApiKey("7e8f9012-pub", "default", "publishable", "sb_publishable_", "Web and mobile apps", made, made),
            "backend-jobs": ApiKey("8f901234-sec", "backend-jobs", "secret", "sb_secret_", "Workers and edge functions", made, made),
        }

    def rotate_api_key(self, name: str = "service_role") -> ActionResult:
        """Replace a key (new secret; the old one is revoked). For the legacy service_role key this means
        rotating the JWT secret; requests still using the old key get 401 "Invalid API key"."""
        with self._lock:
            if name not in self._keys:
                raise DemoActionError(f"no API key {name!r} (keys: {', '.join(self._keys)})")
            t = self._record("rotate_api_key", name)
            old = self._keys[name]
            new_id = f"{int(unit(self.seed, 'key/' + name, len(self.timeline)) * 0xFFFFFFFF):08x}-{name[:3]}"
            at = datetime.fromtimestamp(t, tz=timezone.utc)
            self._keys[name] = ApiKey(new_id, old.name, old.type, old.prefix, old.description, at, at)
            return self._result("rotate_api_key", name, f"{name} key rotated; clients must use the new key", t, key_id=new_id)

    # --- backups, storage, project -------------------------------------------------------------
    def list_backups(self) -> BackupList:
        """As GET /database/backups: one daily physical backup per day for 7 days (one day's first attempt FAILED)."""
        with self._lock:
            t = self._now()
            now = datetime.fromtimestamp(t, tz=timezone.utc)
            anchor_day = datetime.fromtimestamp(self._anchor, tz=timezone.utc).date()
            backups: list[Backup] = []
            day = now.date()
            for back in range(0, 8):
                d = day - timedelta(days=back)
                start = datetime(d.year, d.month, d.day, *BACKUP_HOUR_UTC, tzinfo=timezone.utc)
                start += timedelta(seconds=int(50 * unit(self.seed, "backup", d.toordinal())))
                if start > now:
                    continue
                bid = 910000 + d.toordinal() % 10000 * 3
                if (anchor_day - d).days == BACKUP_FAILED_DAYS_AGO:
                    backups.append(Backup(bid, start, True, "FAILED"))
                    retry = start + timedelta(hours=2, minutes=29)
                    if retry <= now:
                        backups.append(Backup(bid + 1, retry, True, "COMPLETED"))
                else:
                    backups.append(Backup(bid, start, True, "COMPLETED"))
            backups.sort(key=lambda b: b.inserted_at, reverse=True)
            return BackupList(REGION, True, False, tuple(backups[:8]))

    def storage_usage(self) -> StorageUsage:
        """File storage per bucket against the plan's quota."""
        with self._lock:
            t = self._now()
            days = (t - self._anchor) / 86400.0
            buckets = tuple(BucketUsage(b.name, b.public, int(b.bytes_at_anchor + b.growth_bytes_per_day * days),
                                        int(b.objects * (1 + 0.001 * days))) for b in BUCKETS)
            return StorageUsage(buckets, sum(b.bytes for b in buckets), STORAGE_QUOTA_BYTES)

    def disk_usage(self) -> tuple[int, int]:
        """(used bytes, size bytes) of the database volume, as /config/disk/util."""
        with self._lock:
            return self.database_size() + WAL_AND_SYSTEM_BYTES, DISK_BYTES

    def project_info(self) -> ProjectInfo:
        with self._lock:
            settings = self.settings()
            return ProjectInfo(PROJECT_REF, PROJECT_NAME, REGION, "RESIZING" if settings.restarting else "ACTIVE_HEALTHY",
                               POSTGRES_VERSION, settings.compute_tier)

    def actions(self) -> list[Intervention]:
        """Every action taken so far, oldest first."""
        with self._lock:
            return list(self.timeline)
