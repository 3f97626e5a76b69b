"""The platform facet of the demo project: compute, traffic controls, edge functions, backups, storage.

What the Supabase Management API manages around the database: a compute resize
restarts it (so this facet builds on the database facet), rate limiting and CDN
caching shape the traffic, a redeploy fixes a broken function.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import (
    BACKUP_FAILED_DAYS_AGO,
    BACKUP_HOUR_UTC,
    BUCKETS,
    COMPUTE_TIERS,
    DISK_BYTES,
    FUNCTION_BY_SLUG,
    FUNCTIONS,
    POSTGRES_VERSION,
    PROJECT_NAME,
    PROJECT_REF,
    REGION,
    RESIZE_SECONDS,
    STORAGE_QUOTA_BYTES,
    WAL_AND_SYSTEM_BYTES,
)
from cs_console.backends.demo.model.database import DatabaseFacet
from cs_console.backends.demo.model.noise import unit
from cs_console.backends.demo.model.results import ActionResult, Backup, BackupList, BucketUsage, DemoActionError, FunctionInfo, ProjectInfo, StorageUsage


class PlatformFacet(DatabaseFacet):
    """Compute tiers, rate limiting and CDN caching, edge functions, backups, storage and the project itself."""

    # --- compute and traffic ----------------------------------------------------------
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

    # --- edge functions ---------------------------------------------------------------
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

    # --- backups, storage, project ----------------------------------------------------
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
