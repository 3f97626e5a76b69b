"""The runbook-facing view of the demo project: filtered lists and targeted actions.

The built-in runbooks ask questions the way their live SQL does ("sessions idle
in a transaction for more than 5 minutes, of application X") and act on the
answer ("terminate exactly those"). ``DemoProject`` exposes the raw material
(every backend, every index, terminate by pid); this facade answers in the
shape of the live SQL rows, so a runbook's expectations hold on both, and
acts only through the project's own public actions, so the simulation reacts
exactly as it would to the operator doing it by hand.

Everything else is delegated to the project unchanged, so the demo executor
can be given a facade wherever it takes a project::

    DemoExecutor(DemoRunbookCalls(environment.demo))
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cs_console.domain.durations import hms

# Extensions enabled on every Supabase project (and therefore in the simulated one).
DEMO_EXTENSIONS: frozenset[str] = frozenset({
    "pg_stat_statements", "pgcrypto", "uuid-ossp", "pg_graphql", "supabase_vault", "plpgsql",
})

# The calls this facade adds; the demo executor may map runbook steps onto them.
FACADE_CALLS: frozenset[str] = frozenset({
    "idle_in_transaction", "count_idle_in_transaction", "terminate_idle_in_transaction",
    "long_running_queries", "cancel_long_running", "bloated_indexes", "unused_indexes",
    "extension_installed", "postgres_version",
    "find_compromised", "connections_by_state",
})


def _pid_filter(pids: Any) -> set[int] | None:
    """'' / None = no filter; '12,34' or [12, 34] = only those."""
    if pids in (None, "", []):
        return None
    items = pids.split(",") if isinstance(pids, str) else list(pids)
    out: set[int] = set()
    for item in items:
        try:
            out.add(int(str(item).strip()))
        except ValueError:
            raise ValueError(f"pids: expected comma-separated numbers (got {item!r})") from None
    return out


def _seconds_since(now: datetime, then: datetime | None) -> float:
    return (now - then).total_seconds() if then is not None else 0.0


class DemoRunbookCalls:
    """Wraps a DemoProject; unknown attributes are the project's own."""

    def __init__(self, project: Any) -> None:
        self._project = project

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._project, name)

    @property
    def RUNBOOK_CALLS(self) -> frozenset[str] | None:  # noqa: N802 - the executor's attribute name
        own = getattr(self._project, "RUNBOOK_CALLS", None)
        return None if own is None else frozenset(own) | FACADE_CALLS

    @property
    def project(self) -> Any:
        return self._project

    # ------------------------------------------------------------ sessions

    def _idle_backends(self, idle_minutes: Any, application_name: Any, pids: Any) -> list[Any]:
        minutes = float(idle_minutes or 0)
        only = _pid_filter(pids)
        now = self._project.now()
        out = []
        for b in self._project.list_backends():
            if not b.state.startswith("idle in transaction"):
                continue
            if _seconds_since(now, b.state_change) <= minutes * 60:
                continue
            if application_name and b.application_name != application_name:
                continue
            if only is not None and b.pid not in only:
                continue
            out.append(b)
        out.sort(key=lambda b: b.state_change or now)
        return out

    def idle_in_transaction(self, idle_minutes: Any = 5, application_name: Any = "", pids: Any = "") -> list[dict[str, Any]]:
        """Like the runbook's pg_stat_activity query: idle in a transaction for longer than idle_minutes."""
        now = self._project.now()
        return [
            {"pid": b.pid, "user": b.user, "application_name": b.application_name, "client_addr": b.client_addr,
             "idle_for": hms(_seconds_since(now, b.state_change)), "last_query": b.query[:160]}
            for b in self._idle_backends(idle_minutes, application_name, pids)
        ]

    def count_idle_in_transaction(self, idle_minutes: Any = 5, application_name: Any = "", pids: Any = "") -> int:
        return len(self._idle_backends(idle_minutes, application_name, pids))

    def terminate_idle_in_transaction(self, idle_minutes: Any = 5, application_name: Any = "", pids: Any = "") -> dict[str, Any]:
        """pg_terminate_backend on exactly the sessions idle_in_transaction() lists now."""
        targets = [b.pid for b in self._idle_backends(idle_minutes, application_name, pids)]
        ended = [pid for pid in targets if self._project.terminate_backend(pid)]
        return {"terminated": len(ended), "pids": ended}

    def connections_by_state(self, limit: Any = 20) -> list[dict[str, Any]]:
        """Like the connection runbook's by_state SQL: client backends per (application, state), most first."""
        counts: dict[tuple[str, str], int] = {}
        for b in self._project.list_backends():
            if getattr(b, "backend_type", "client backend") != "client backend":
                continue
            key = (b.application_name or "", b.state or "")
            counts[key] = counts.get(key, 0) + 1
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: int(limit)]
        return [{"application_name": app, "state": state, "sessions": n} for (app, state), n in ordered]

    def _long_running(self, long_running_minutes: Any, application_name: Any) -> list[Any]:
        minutes = float(long_running_minutes or 0)
        now = self._project.now()
        out = []
        for b in self._project.list_backends():
            if b.state != "active" or b.query_start is None:
                continue
            if _seconds_since(now, b.query_start) <= minutes * 60:
                continue
            if application_name and b.application_name != application_name:
                continue
            out.append(b)
        out.sort(key=lambda b: b.query_start)
        return out

    def long_running_queries(self, long_running_minutes: Any = 5, application_name: Any = "") -> list[dict[str, Any]]:
        now = self._project.now()
        return [
            {"pid": b.pid, "user": b.user, "application_name": b.application_name,
             "running_for": hms(_seconds_since(now, b.query_start)), "wait_event_type": b.wait_event_type,
             "blocked_by": len(b.blocked_by), "query": b.query[:160]}
            for b in self._long_running(long_running_minutes, application_name)
        ]

    def cancel_long_running(self, long_running_minutes: Any = 5, application_name: Any = "") -> dict[str, Any]:
        targets = [b.pid for b in self._long_running(long_running_minutes, application_name)]
        done = [pid for pid in targets if self._project.cancel_backend(pid)]
        return {"affected": len(done), "pids": done}

    # ------------------------------------------------------------ security

    def auth_failures_by_ip(self, window_s: Any = 3600, limit: Any = None) -> list[Any]:
        """The project's failed sign-ins per address, worst first; at most `limit` addresses (as log_groups)."""
        rows = self._project.auth_failures_by_ip(float(window_s))
        return rows if limit in (None, "") else rows[: int(limit)]

    def find_compromised(self, user: Any = "", window_s: Any = 3600) -> dict[str, Any]:
        """Like the containment runbook's find_user SQL: the account given, or else the one signed in
        to in the last window from an address it had never used (the simulated audit log has one:
        the compromised account, from the attacker's address). No such account: id None."""
        from cs_console.backends.demo.model.catalog import COMPROMISED_USER, TAKEOVER_IP

        if user:
            found = self._project.find_user(str(user))
            ip = TAKEOVER_IP if found.email == COMPROMISED_USER and self._taken_over(found, window_s) else None
        else:
            found = self._project.find_user(COMPROMISED_USER)
            if not self._taken_over(found, window_s):
                return {"id": None, "email": None, "last_sign_in_at": None, "banned_until": None, "signed_in_from": None}
            ip = TAKEOVER_IP
        return {"id": found.id, "email": found.email,
                "last_sign_in_at": found.last_sign_in_at.isoformat() if found.last_sign_in_at else None,
                "banned_until": found.banned_until.isoformat() if found.banned_until else None, "signed_in_from": ip}

    def _taken_over(self, found: Any, window_s: Any) -> bool:
        last = found.last_sign_in_at
        return self._project.scenario.name == "security-breach" and last is not None \
            and _seconds_since(self._project.now(), last) <= float(window_s)

    # ------------------------------------------------------------ maintenance

    def bloated_indexes(self, min_bloat_pct: Any = 30, min_size_mb: Any = 10, limit: Any = 3) -> list[dict[str, Any]]:
        rows = [
            i for i in self._project.index_stats()
            if i.bloat_pct >= float(min_bloat_pct) and i.bytes >= float(min_size_mb) * 1048576
        ]
        rows.sort(key=lambda i: i.bloat_pct, reverse=True)
        return [
            {"index_name": i.name, "table_name": i.table, "size": f"{i.bytes / 1048576:.0f} MB", "bloat_pct": round(i.bloat_pct)}
            for i in rows[: int(limit)]
        ]

    def unused_indexes(self) -> list[dict[str, Any]]:
        rows = [i for i in self._project.index_stats() if i.unused and not i.primary and i.bytes > 1048576]
        rows.sort(key=lambda i: i.bytes, reverse=True)
        return [{"index_name": i.name, "table_name": i.table, "size": f"{i.bytes / 1048576:.0f} MB", "scans": i.scans} for i in rows]

    def extension_installed(self, name: str) -> dict[str, Any]:
        return {"installed": name in DEMO_EXTENSIONS}

    def postgres_version(self) -> dict[str, Any]:
        info = self._project.project_info()
        version = str(getattr(info, "postgres_version", ""))
        major = version.split(".")[0] if version else "0"
        return {"version": f"PostgreSQL {version} (simulated)", "version_num": int(major) * 10000 if major.isdigit() else 0}

