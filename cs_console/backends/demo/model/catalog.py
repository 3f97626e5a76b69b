"""Static facts about the simulated CustomerSignal project: functions, pools, tables, queries, users, addresses.

Everything that does not change with time lives here, so the simulation
modules only hold behaviour. Addresses come from the documentation ranges
(RFC 5737), never from real networks.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT_REF = "csgnldemoxkqpwtzrvmb"  # 20 lowercase letters, like a real ref
PROJECT_NAME = "customersignal-demo"
REGION = "eu-central-1"
PROJECT_HOST = f"https://{PROJECT_REF}.supabase.co"
DATABASE_NAME = "postgres"
POSTGRES_VERSION = "15.8.1.085"

# superuser_reserved_connections on Supabase's images
RESERVED_CONNECTIONS = 3
# Sessions waiting on a lock give up after this (the authenticated role's statement_timeout).
STATEMENT_TIMEOUT_S = 8.0


@dataclass(frozen=True, slots=True)
class ComputeTier:
    name: str
    max_connections: int
    capacity: float  # request throughput relative to micro
    memory_gb: float
    cpu_cores: int


COMPUTE_TIERS: dict[str, ComputeTier] = {
    t.name: t
    for t in (
        ComputeTier("micro", 60, 1.0, 1, 2),
        ComputeTier("small", 90, 1.4, 2, 2),
        ComputeTier("medium", 120, 2.0, 4, 2),
        ComputeTier("large", 160, 3.0, 8, 2),
        ComputeTier("xl", 240, 5.0, 16, 4),
        ComputeTier("2xl", 380, 9.0, 32, 8),
        ComputeTier("4xl", 480, 16.0, 64, 16),
    )
}
START_TIER = "micro"
RESIZE_SECONDS = 90.0  # a compute resize restarts the database


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    slug: str
    id: str
    version: int
    created_ms: int
    updated_ms: int
    verify_jwt: bool
    base_rpm: float  # invocations per minute at the daily peak
    follows_traffic: bool  # False: scheduled (cron) invocations
    error_pct: float
    avg_ms: float
    p95_ms: float
    uses_db: bool


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("ingest-webhook", "3f0c1a52-7d4e-4b8a-9a61-2c5e8f1b7d01", 42, 1735689600000, 1780300800000, False, 90.0, True, 0.15, 140.0, 380.0, True),
    FunctionSpec("monitor-keywords", "5b7e2c91-4a3d-4f6e-8b1c-9d2e3f4a5b6c", 31, 1736899200000, 1780041600000, True, 60.0, False, 0.25, 420.0, 950.0, True),
    FunctionSpec("process-conversations", "8a2e6b71-1c3d-4f5a-8b9c-0d1e2f3a4b5c", 57, 1735776000000, 1780387200000, True, 150.0, True, 0.30, 850.0, 1900.0, True),
    FunctionSpec("send-alerts", "c5d4e3f2-a1b0-4c9d-8e7f-6a5b4c3d2e1f", 19, 1738368000000, 1779955200000, True, 25.0, True, 0.40, 310.0, 800.0, True),
    FunctionSpec("sync-integrations", "e7f6a5b4-c3d2-4e1f-9a0b-1c2d3e4f5a6b", 23, 1740787200000, 1780128000000, False, 12.0, False, 0.50, 1450.0, 3300.0, True),
)
FUNCTION_BY_SLUG: dict[str, FunctionSpec] = {f.slug: f for f in FUNCTIONS}
FAILING_FUNCTION = "process-conversations"  # the bad deploy in the function-failures scenario
SPIKY_FUNCTION = "monitor-keywords"  # throttled in the traffic spike
FUNCTION_CONCURRENCY_RPM = 220.0  # above this a function is THROTTLED


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A group of client backends that share user, application and address."""

    key: str
    user: str
    application_name: str
    client_addr: str | None
    min_size: int
    max_size: int
    superuser: bool = False


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec("auth", "supabase_auth_admin", "gotrue", "127.0.0.1", 2, 3),
    PoolSpec("storage", "supabase_storage_admin", "storage-api", "127.0.0.1", 2, 2),
    PoolSpec("realtime", "supabase_admin", "realtime_rls", "127.0.0.1", 2, 2, superuser=True),
    PoolSpec("exporter", "supabase_admin", "postgres_exporter", "127.0.0.1", 1, 1, superuser=True),
    PoolSpec("postgrest", "authenticator", "postgrest", "127.0.0.1", 3, 10),
    PoolSpec("supavisor", "postgres", "Supavisor", "10.0.2.14", 4, 26),
    PoolSpec("worker", "cs_worker", "signal-worker", "10.0.4.17", 2, 2),
    PoolSpec("dashboard", "postgres", "supabase/dashboard", "10.0.9.3", 0, 1),
)
POOL_BY_KEY: dict[str, PoolSpec] = {p.key: p for p in POOLS}
LEAKY_APPLICATION = "signal-worker"
LEAK_QUERY = (
    "SELECT id, payload FROM public.signal_queue WHERE status = 'pending' "
    "ORDER BY created_at LIMIT 50 FOR UPDATE SKIP LOCKED"
)
BLOCKED_QUERY = "UPDATE public.signal_queue SET status = 'processing', claimed_at = now() WHERE id = ANY($1)"
LONG_REPORT_QUERY = (
    "SELECT date_trunc('hour', s.created_at) AS hour, k.term, count(*) FROM public.signals s "
    "JOIN public.keywords k ON k.id = s.keyword_id GROUP BY 1, 2 ORDER BY 1 DESC"
)

# What idle/active backends of each pool show in pg_stat_activity.query.
POOL_QUERIES: dict[str, tuple[str, ...]] = {
    "auth": (
        "SELECT * FROM auth.users WHERE id = $1 LIMIT 1",
        "UPDATE auth.refresh_tokens SET revoked = true, updated_at = now() WHERE id = $1",
        "INSERT INTO auth.audit_log_entries (id, payload, created_at, ip_address, instance_id) VALUES ($1, $2, $3, $4, $5)",
    ),
    "storage": (
        "SELECT id, name, metadata FROM storage.objects WHERE bucket_id = $1 AND name = $2 LIMIT 1",
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
    ),
    "realtime": ("select * from realtime.list_changes($1, $2, $3, $4)",),
    "exporter": ("SELECT datname, numbackends, xact_commit, xact_rollback FROM pg_stat_database",),
    "postgrest": (
        "WITH pgrst_source AS (SELECT \"public\".\"conversations\".* FROM \"public\".\"conversations\" WHERE \"public\".\"conversations\".\"org_id\" = $1 ORDER BY \"public\".\"conversations\".\"updated_at\" DESC LIMIT $2 OFFSET $3) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT * FROM pgrst_source) _postgrest_t",
        "WITH pgrst_source AS (SELECT \"public\".\"signals\".* FROM \"public\".\"signals\" WHERE \"public\".\"signals\".\"keyword_id\" = $1 LIMIT $2 OFFSET $3) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT * FROM pgrst_source) _postgrest_t",
        "select set_config('search_path', $1, true), set_config('role', $2, true), set_config('request.jwt.claims', $3, true)",
    ),
    "supavisor": (
        "INSERT INTO public.messages (conversation_id, author, body, sentiment, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        "SELECT k.id, k.term, k.match_mode FROM public.keywords k WHERE k.org_id = $1 AND k.active",
        "INSERT INTO public.signals (external_id, keyword_id, conversation_id, score, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (external_id) DO NOTHING",
        "SELECT * FROM public.messages WHERE conversation_id = $1 ORDER BY created_at",
        "INSERT INTO public.audit_events (actor, action, target, created_at) VALUES ($1, $2, $3, now())",
    ),
    "worker": (
        LEAK_QUERY,
        "UPDATE public.signal_queue SET status = 'done', done_at = now() WHERE id = ANY($1)",
        "COMMIT",
    ),
    "dashboard": ("SELECT count(*) FROM public.conversations WHERE status = 'open'",),
}


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str  # schema-qualified
    rows: int
    table_bytes: int
    growth_bytes_per_day: int
    dead_per_s: float  # dead tuples created per second (updates + deletes)
    autovacuum_keeps_up: bool
    last_vacuum_days_ago: float
    seq_scans_per_s: float
    seq_rows_per_scan: int
    idx_scans_per_s: float


MB = 1024 * 1024
GB = 1024 * MB

TABLES: tuple[TableSpec, ...] = (
    TableSpec("public.conversations", 14_200_000, int(5.3 * GB), 50 * MB, 4.0, True, 0.6, 0.002, 14_200_000, 180.0),
    TableSpec("public.messages", 61_000_000, int(4.1 * GB), 90 * MB, 2.5, False, 9.2, 0.0001, 61_000_000, 240.0),
    TableSpec("public.signals", 22_500_000, int(1.6 * GB), 25 * MB, 1.2, True, 1.4, 0.0004, 22_500_000, 95.0),
    TableSpec("public.audit_events", 48_000_000, int(2.3 * GB), 40 * MB, 0.0, True, 6.0, 0.0005, 48_000_000, 2.0),
    TableSpec("public.signal_queue", 180_000, 310 * MB, 0, 0.8, False, 4.5, 0.3, 180_000, 60.0),
    TableSpec("public.alerts", 2_100_000, 260 * MB, 5 * MB, 0.4, True, 2.1, 0.01, 2_100_000, 30.0),
    TableSpec("public.keywords", 9_400, 3 * MB, 0, 0.01, True, 3.0, 5.0, 9_400, 20.0),
    TableSpec("public.customers", 1_260, 2 * MB, 0, 0.005, True, 5.0, 30.0, 1_260, 4.0),
    TableSpec("public.integrations", 3_800, 6 * MB, 0, 0.02, True, 2.5, 1.2, 3_800, 6.0),
    TableSpec("public.profiles", 4_812, 3 * MB, 0, 0.01, True, 4.0, 0.5, 4_812, 12.0),
)
TABLE_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


@dataclass(frozen=True, slots=True)
class IndexSpec:
    name: str  # schema-qualified
    table: str
    ideal_bytes: int  # size right after a REINDEX
    scans_per_s: float
    bloat_pct: float  # at the anchor
    bloat_pct_per_day: float
    definition: str
    unique: bool = False
    primary: bool = False


INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("public.conversations_pkey", "public.conversations", 310 * MB, 40.0, 8.0, 0.2, "CREATE UNIQUE INDEX conversations_pkey ON public.conversations USING btree (id)", True, True),
    IndexSpec("public.conversations_org_id_updated_at_idx", "public.conversations", 420 * MB, 25.0, 12.0, 0.3, "CREATE INDEX conversations_org_id_updated_at_idx ON public.conversations USING btree (org_id, updated_at DESC)"),
    IndexSpec("public.conversations_status_idx", "public.conversations", 180 * MB, 0.0, 5.0, 0.1, "CREATE INDEX conversations_status_idx ON public.conversations USING btree (status)"),
    IndexSpec("public.messages_pkey", "public.messages", 1300 * MB, 12.0, 9.0, 0.2, "CREATE UNIQUE INDEX messages_pkey ON public.messages USING btree (id)", True, True),
    IndexSpec("public.messages_conversation_id_idx", "public.messages", 700 * MB, 60.0, 38.0, 0.6, "CREATE INDEX messages_conversation_id_idx ON public.messages USING btree (conversation_id, created_at)"),
    IndexSpec("public.signals_pkey", "public.signals", 480 * MB, 10.0, 6.0, 0.1, "CREATE UNIQUE INDEX signals_pkey ON public.signals USING btree (id)", True, True),
    IndexSpec("public.signals_external_id_key", "public.signals", 520 * MB, 15.0, 11.0, 0.2, "CREATE UNIQUE INDEX signals_external_id_key ON public.signals USING btree (external_id)", True),
    IndexSpec("public.signals_keyword_id_idx", "public.signals", 310 * MB, 9.0, 9.0, 0.2, "CREATE INDEX signals_keyword_id_idx ON public.signals USING btree (keyword_id, created_at)"),
    IndexSpec("public.audit_events_created_at_brin", "public.audit_events", 1 * MB, 0.2, 0.0, 0.0, "CREATE INDEX audit_events_created_at_brin ON public.audit_events USING brin (created_at)"),
    IndexSpec("public.signal_queue_pkey", "public.signal_queue", 28 * MB, 35.0, 44.0, 2.0, "CREATE UNIQUE INDEX signal_queue_pkey ON public.signal_queue USING btree (id)", True, True),
    IndexSpec("public.signal_queue_status_created_at_idx", "public.signal_queue", 26 * MB, 25.0, 71.0, 3.0, "CREATE INDEX signal_queue_status_created_at_idx ON public.signal_queue USING btree (status, created_at)"),
    IndexSpec("public.alerts_org_id_idx", "public.alerts", 60 * MB, 30.0, 7.0, 0.1, "CREATE INDEX alerts_org_id_idx ON public.alerts USING btree (org_id) WHERE (acknowledged_at IS NULL)"),
    IndexSpec("public.alerts_legacy_state_idx", "public.alerts", 44 * MB, 0.0, 3.0, 0.0, "CREATE INDEX alerts_legacy_state_idx ON public.alerts USING btree (legacy_state)"),
    IndexSpec("public.keywords_org_id_idx", "public.keywords", 1 * MB, 20.0, 4.0, 0.0, "CREATE INDEX keywords_org_id_idx ON public.keywords USING btree (org_id) WHERE active"),
    IndexSpec("public.customers_pkey", "public.customers", 1 * MB, 4.0, 2.0, 0.0, "CREATE UNIQUE INDEX customers_pkey ON public.customers USING btree (id)", True, True),
    IndexSpec("public.integrations_pkey", "public.integrations", 1 * MB, 6.0, 3.0, 0.0, "CREATE UNIQUE INDEX integrations_pkey ON public.integrations USING btree (id)", True, True),
    IndexSpec("public.profiles_pkey", "public.profiles", 1 * MB, 12.0, 2.0, 0.0, "CREATE UNIQUE INDEX profiles_pkey ON public.profiles USING btree (id)", True, True),
)
INDEX_BY_NAME: dict[str, IndexSpec] = {i.name: i for i in INDEXES}
SYSTEM_BYTES = 620 * MB  # catalogs, auth, storage and realtime schemas


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A pg_stat_statements entry: calls follow traffic, mean time follows load."""

    key: str
    query: str
    role: str
    calls_per_s: float  # at traffic factor 1
    mean_ms: float
    rows_per_call: float
    follows_traffic: bool = True


QUERIES: tuple[QuerySpec, ...] = (
    QuerySpec("pgrst_settings", "select set_config('search_path', $1, true), set_config('role', $2, true), set_config('request.jwt.claims', $3, true)", "authenticator", 9.0, 0.04, 1),
    QuerySpec("conversations_page", POOL_QUERIES["postgrest"][0], "authenticated", 3.2, 6.5, 25),
    QuerySpec("messages_by_conversation", "SELECT * FROM public.messages WHERE conversation_id = $1 ORDER BY created_at", "postgres", 4.0, 3.1, 38),
    QuerySpec("insert_message", POOL_QUERIES["supavisor"][0], "postgres", 2.5, 1.8, 1),
    QuerySpec("insert_signal", POOL_QUERIES["supavisor"][2], "postgres", 1.5, 2.4, 0.9),
    QuerySpec("keywords_for_org", POOL_QUERIES["supavisor"][1], "postgres", 2.0, 0.4, 37),
    QuerySpec("queue_claim", BLOCKED_QUERY, "postgres", 1.4, 2.1, 12),
    QuerySpec("queue_fetch", LEAK_QUERY, "cs_worker", 0.9, 4.5, 50, follows_traffic=False),
    QuerySpec("audit_insert", POOL_QUERIES["supavisor"][4], "postgres", 3.0, 0.9, 1),
    QuerySpec("open_count", "SELECT count(*) FROM public.conversations WHERE org_id = $1 AND status = $2", "authenticated", 0.4, 48.0, 1),
    QuerySpec("alerts_open", "SELECT * FROM public.alerts WHERE org_id = $1 AND acknowledged_at IS NULL", "authenticated", 0.8, 2.2, 6),
    QuerySpec("realtime_changes", "select * from realtime.list_changes($1, $2, $3, $4)", "supabase_admin", 10.0, 1.2, 0.3, follows_traffic=False),
    QuerySpec("auth_user", "SELECT * FROM auth.users WHERE id = $1 LIMIT 1", "supabase_auth_admin", 1.6, 0.3, 1),
)
BULK_READ_QUERY = "SELECT * FROM public.conversations WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
STATS_RESET_DAYS_AGO = 3.0


@dataclass(frozen=True, slots=True)
class UserSpec:
    id: str
    email: str
    org: str
    created_at: str
    role: str = "authenticated"


USERS: tuple[UserSpec, ...] = (
    UserSpec("0b1f6a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "ops@customersignal.io", "customersignal", "2024-11-02T09:14:00Z"),
    UserSpec("1c2a7b3f-4d5e-4f60-9b1c-1d2e3f4a5b6c", "priya.nair@northwind-retail.com", "northwind-retail", "2025-01-14T10:22:00Z"),
    UserSpec("2d3b8c40-5e6f-4071-8c2d-2e3f4a5b6c7d", "tom.becker@northwind-retail.com", "northwind-retail", "2025-01-15T08:03:00Z"),
    UserSpec("3e4c9d51-6f70-4182-9d3e-3f4a5b6c7d8e", "lina.okafor@acme-logistics.io", "acme-logistics", "2025-02-20T16:40:00Z"),
    UserSpec("4f5dae62-7081-4293-ae4f-4a5b6c7d8e9f", "marc.dubois@acme-logistics.io", "acme-logistics", "2025-03-02T11:11:00Z"),
    UserSpec("50aebf73-8192-43a4-bf50-5b6c7d8e9fa0", "dana.whitfield@brightpath.health", "brightpath-health", "2025-03-18T13:55:00Z"),
    UserSpec("61bfc084-92a3-44b5-8061-6c7d8e9fa0b1", "sam.ortiz@brightpath.health", "brightpath-health", "2025-03-18T14:02:00Z"),
    UserSpec("72c0d195-a3b4-45c6-9172-7d8e9fa0b1c2", "jo.kim@brightpath.health", "brightpath-health", "2025-04-01T09:30:00Z"),
    UserSpec("83d1e2a6-b4c5-46d7-a283-8e9fa0b1c2d3", "alex.meyer@fjordbank.no", "fjordbank", "2025-05-06T07:45:00Z"),
    UserSpec("94e2f3b7-c5d6-47e8-b394-9fa0b1c2d3e4", "ines.costa@fjordbank.no", "fjordbank", "2025-05-06T07:51:00Z"),
    UserSpec("a5f304c8-d6e7-48f9-84a5-a0b1c2d3e4f5", "noah.hart@lumen-media.co", "lumen-media", "2025-06-12T12:12:00Z"),
    UserSpec("b60415d9-e7f8-490a-95b6-b1c2d3e4f5a6", "eva.lind@lumen-media.co", "lumen-media", "2025-07-01T15:20:00Z"),
    UserSpec("c71526ea-f809-4a1b-a6c7-c2d3e4f5a6b7", "raj.patel@quayside.dev", "quayside", "2025-08-19T10:05:00Z"),
    UserSpec("d82637fb-091a-4b2c-b7d8-d3e4f5a6b7c8", "mia.schulz@quayside.dev", "quayside", "2025-09-09T09:09:00Z"),
    UserSpec("e9374809-1a2b-4c3d-88e9-e4f5a6b7c8d9", "support@customersignal.io", "customersignal", "2024-11-02T09:20:00Z"),
    UserSpec("fa48591a-2b3c-4d4e-99fa-f5a6b7c8d9ea", "integration-bot@acme-logistics.io", "acme-logistics", "2025-02-21T08:00:00Z"),
)
USER_COUNT = 4812
COMPROMISED_USER = "dana.whitfield@brightpath.health"
# The accounts the credential-stuffing list targets (a leaked partner list).
TARGETED_EMAILS: tuple[str, ...] = (
    "dana.whitfield@brightpath.health",
    "sam.ortiz@brightpath.health",
    "jo.kim@brightpath.health",
    "alex.meyer@fjordbank.no",
    "ines.costa@fjordbank.no",
    "eva.lind@lumen-media.co",
    "c.nguyen@brightpath.health",
    "admin@brightpath.health",
    "finance@fjordbank.no",
    "k.larsen@fjordbank.no",
)

# Credential stuffing comes from a few addresses, weighted.
ATTACKER_IPS: tuple[tuple[str, str, float], ...] = (
    ("203.0.113.77", "NL", 0.38),
    ("198.51.100.23", "RU", 0.30),
    ("192.0.2.181", "BR", 0.20),
    ("203.0.113.145", "VN", 0.12),
)
TAKEOVER_IP = "203.0.113.77"  # the address that signs in to the compromised account
SERVICE_KEY_IP = ("198.51.100.201", "SG")  # uses the leaked service_role key
SPIKE_CLIENT = ("203.0.113.50", "US", "acme-sync/2.4 (+python-httpx/0.27.0)")
ATTACKER_UA = "python-requests/2.32.3"

COUNTRIES: tuple[str, ...] = ("US", "US", "US", "GB", "DE", "DE", "FR", "NL", "IE", "CA", "NO", "AU")
BROWSER_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
)
SERVER_UAS: tuple[str, ...] = (
    "supabase-js-node/2.45.4",
    "Deno/1.45.2 (variant; SupabaseEdgeRuntime/1.58.3)",
    "node-fetch/1.0",
)


def _client_ips() -> tuple[str, ...]:
    prefixes = ("192.0.2.", "198.51.100.", "203.0.113.")
    taken = {ip for ip, _, _ in ATTACKER_IPS} | {SERVICE_KEY_IP[0], SPIKE_CLIENT[0]}
    out = []
    for n in range(600):
        ip = f"{prefixes[n % 3]}{1 + (n // 3) % 200}"
        out.append(ip if ip not in taken else f"{prefixes[n % 3]}{230 + n % 20}")
    return tuple(out)


CLIENT_IPS: tuple[str, ...] = _client_ips()


def client_ip(n: int) -> str:
    """One of 600 ordinary client addresses (documentation ranges, attackers excluded)."""
    return CLIENT_IPS[n % 600]


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    public: bool
    bytes_at_anchor: int
    growth_bytes_per_day: int
    objects: int


BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec("attachments", False, int(22.4 * GB), 260 * MB, 1_840_000),
    BucketSpec("exports", False, int(6.1 * GB), 70 * MB, 41_200),
    BucketSpec("avatars", True, int(0.9 * GB), 2 * MB, 5_100),
    BucketSpec("reports", False, int(1.8 * GB), 25 * MB, 12_900),
)
STORAGE_QUOTA_BYTES = 100 * GB
DISK_BYTES = 50 * GB
WAL_AND_SYSTEM_BYTES = int(2.6 * GB)
BACKUP_HOUR_UTC = (3, 12)  # daily platform backups start at 03:12 UTC
BACKUP_FAILED_DAYS_AGO = 4  # that day's first attempt failed and was retried
