"""Typed rows the demo project returns from its inspection and action methods.

They mirror what the real sources give (pg_stat_activity, pg_locks,
pg_stat_user_tables, pg_stat_statements, the Management API lists), so the
runbook and metrics code can treat demo and live answers alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


class DemoActionError(ValueError):
    """A demo action was given something it cannot act on (unknown pid, slug, user...).

    The message is one line, fit to show the operator as is.
    """


@dataclass(frozen=True, slots=True)
class Backend:
    """One row of pg_stat_activity (client backends)."""

    pid: int
    user: str
    application_name: str
    client_addr: str | None
    state: str  # active | idle | idle in transaction | idle in transaction (aborted)
    query: str
    backend_start: datetime
    xact_start: datetime | None
    query_start: datetime | None
    state_change: datetime | None
    wait_event_type: str | None
    wait_event: str | None
    blocked_by: tuple[int, ...] = ()
    xact_age_s: float | None = None
    query_age_s: float | None = None
    backend_type: str = "client backend"
    superuser: bool = False


@dataclass(frozen=True, slots=True)
class LockInfo:
    """One row of pg_locks joined with pg_stat_activity."""

    pid: int
    locktype: str  # relation | transactionid | tuple
    relation: str | None
    mode: str
    granted: bool
    waiting_s: float | None
    application_name: str
    query: str


@dataclass(frozen=True, slots=True)
class BlockingPair:
    blocked_pid: int
    blocking_pid: int
    blocked_query: str
    blocking_query: str
    blocked_for_s: float
    blocking_state: str


@dataclass(frozen=True, slots=True)
class TableStats:
    name: str
    rows_estimate: int
    table_bytes: int
    index_bytes: int
    total_bytes: int
    dead_tuples: int
    dead_pct: float
    bloat_pct: float
    seq_scans: int
    seq_tup_read: int
    idx_scans: int
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    last_autoanalyze: datetime | None
    autovacuum_threshold: int


@dataclass(frozen=True, slots=True)
class IndexStats:
    name: str
    table: str
    bytes: int
    scans: int
    bloat_pct: float
    unique: bool
    primary: bool
    definition: str

    @property
    def unused(self) -> bool:
        return self.scans == 0 and not self.unique


@dataclass(frozen=True, slots=True)
class QueryStats:
    """A pg_stat_statements row since the last stats reset."""

    query: str
    role: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    share_pct: float  # of total execution time
    cache_hit_pct: float


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """As GET /v1/projects/{ref}/functions returns it."""

    id: str
    slug: str
    name: str
    status: str  # ACTIVE | THROTTLED | REMOVED
    version: int
    created_at: int  # epoch ms
    updated_at: int  # epoch ms
    verify_jwt: bool
    entrypoint_path: str

    def to_api(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: str
    email: str
    org: str
    role: str
    created_at: datetime
    last_sign_in_at: datetime | None
    banned_until: datetime | None

    @property
    def banned(self) -> bool:
        return self.banned_until is not None


@dataclass(frozen=True, slots=True)
class AuthFailureHotspot:
    ip: str
    country: str
    failures: int
    distinct_emails: int
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class NetworkBan:
    """As POST /network-bans/retrieve/enriched returns it."""

    banned_address: str
    identifier: str
    type: str = "primary"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    type: str  # legacy | publishable | secret
    prefix: str
    description: str
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Backup:
    id: int
    inserted_at: datetime
    is_physical_backup: bool
    status: str  # COMPLETED | FAILED | ...


@dataclass(frozen=True, slots=True)
class BackupList:
    """As GET /v1/projects/{ref}/database/backups returns it."""

    region: str
    walg_enabled: bool
    pitr_enabled: bool
    backups: tuple[Backup, ...]

    def latest_completed(self) -> Backup | None:
        done = [b for b in self.backups if b.status == "COMPLETED"]
        return max(done, key=lambda b: b.inserted_at) if done else None


@dataclass(frozen=True, slots=True)
class BucketUsage:
    name: str
    public: bool
    bytes: int
    objects: int


@dataclass(frozen=True, slots=True)
class StorageUsage:
    buckets: tuple[BucketUsage, ...]
    total_bytes: int
    quota_bytes: int

    @property
    def used_pct(self) -> float:
        return 100.0 * self.total_bytes / self.quota_bytes


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    max_connections: int
    reserved_connections: int
    idle_in_transaction_session_timeout_s: float | None  # None = disabled (0)
    statement_timeout_s: float
    compute_tier: str
    restarting: bool


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """As GET /v1/projects/{ref} returns it (the fields the console uses)."""

    ref: str
    name: str
    region: str
    status: str  # ACTIVE_HEALTHY | RESIZING | ...
    postgres_version: str
    compute_tier: str


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a demo action did: one line for the operator, details for the audit."""

    action: str
    target: str
    ok: bool
    message: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Intervention:
    """An action recorded on the simulation's timeline (simulated Unix seconds)."""

    at: float
    kind: str
    target: str = ""
    value: Any = None
