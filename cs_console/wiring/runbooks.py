"""The runbook engine built from a session: its router and executors, the audit trail,
the run store and the run lock, the team store when the profile asks for team mode.

The one place that knows which concrete executor, store and lock a session gets;
the engine is handed them and never asks whether it is on the demo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.runbooks.schema import Runbook
from cs_console.wiring.incidents import open_incident_service
from cs_console.services.runbooks.console_calls import ConsoleExecutor
from cs_console.services.runbooks.core import ChangeHandler, OutputHandler
from cs_console.services.runbooks.engine import RunbookEngine
from cs_console.services.runbooks.router import DemoRouter, LiveRouter
from cs_console.stores.audit_log import AuditTrail, LocalAuditLog, PgAuditLog
from cs_console.stores.checklists import ChecklistStore
from cs_console.stores.run_lock import LocalRunLock, PgRunLock
from cs_console.stores.run_store import RunStore

if TYPE_CHECKING:
    from cs_console.stores.approval_store_pg import PgApprovalStore
    from cs_console.stores.run_store_pg import PgRunStore
    from cs_console.services.environment import Environment
    from cs_console.services.session import Session


def environment_name(session: "Session", environment: "Environment | None" = None) -> str:
    """The environment a run is recorded against (and confirmations are bound to)."""
    on_demo = session.demo is not None or (environment is not None and environment.demo is not None)
    return "demo" if on_demo else session.profile.environment_name


def build_router(session: "Session", environment: "Environment | None") -> LiveRouter:
    """The executors this session may use: the demo's simulation, or the real systems."""
    console = ConsoleExecutor(environment) if environment is not None else None
    if environment is not None and environment.demo is not None:
        from cs_console.backends.demo.runbook_calls import DemoRunbookCalls
        from cs_console.backends.executors.demo import DemoExecutor

        # The facade answers the built-ins' filtered questions (idle-in-transaction
        # backends, bloated indexes...) from the simulation, in the live SQL's row shape.
        return DemoRouter(demo=DemoExecutor(DemoRunbookCalls(environment.demo)), console=console)
    if session.demo is not None:
        return DemoRouter(console=console)  # a demo session never touches real systems, even without its simulation
    if environment is not None and environment.replay is not None:
        return LiveRouter(console=console)  # a replay reads its recording and runs nothing on real systems
    from cs_console.backends.executors.http import HttpExecutor
    from cs_console.backends.executors.shell import ShellExecutor

    sql = None
    dsn = session.profile.db_dsn or ""
    if dsn:
        from cs_console.backends.executors.sql import SqlExecutor

        sql = SqlExecutor(dsn, password=session.profile.secret("db_password_env"))
    return LiveRouter(sql=sql, shell=ShellExecutor(), http=HttpExecutor(), console=console)


def build_audit_trail(session: "Session") -> AuditTrail:
    """Local audit always; the team table too when the profile's store is postgres (not on the demo)."""
    local = LocalAuditLog.in_state_dir(session.state_dir)
    target = session.team_store
    team = PgAuditLog(target.dsn, target.password) if target is not None and target.dsn else None
    return AuditTrail(local, team, team_expected=target is not None)


def build_run_lock(session: "Session", runbook_id: str) -> LocalRunLock | PgRunLock:
    target = session.team_store
    if target is not None and target.dsn:
        return PgRunLock(target.dsn, runbook_id, session.profile.name, target.password)
    return LocalRunLock(session.state_dir / "locks", runbook_id, session.profile.name)


def build_run_store(session: "Session") -> "RunStore | PgRunStore":
    """The team's run store in team mode (with a team_dsn), else this machine's."""
    local = RunStore.in_state_dir(session.state_dir)
    target = session.team_store
    if target is None or not target.dsn:
        return local
    from cs_console.domain.runbooks.approval import who
    from cs_console.stores.operator_identity import operator_identity
    from cs_console.stores.run_store_pg import PgRunStore  # asyncpg only for team mode

    return PgRunStore(target.dsn, target.password, local_root=local.root, holder=who(operator_identity()))


def build_approval_store(session: "Session") -> "PgApprovalStore | None":
    """Two-person approvals live in the team store only (None: this machine cannot hold one)."""
    target = session.team_store
    if target is None or not target.dsn:
        return None
    from cs_console.stores.approval_store_pg import PgApprovalStore

    return PgApprovalStore(target.dsn, target.password)


def open_engine(session: "Session", runbook: Runbook, *, environment: "Environment | None" = None,
                on_output: OutputHandler | None = None, on_change: ChangeHandler | None = None,
                environ: Mapping[str, str] | None = None) -> RunbookEngine:
    """An engine for one run of `runbook` in this session (router, audit, store and lock from the session)."""

    async def open_incidents() -> Any:
        # Opened only for a run linked to an incident.
        # The environment's clock: on the demo, incident times follow simulated time like the run's.
        return await open_incident_service(session, clock=environment.clock if environment is not None else None)

    return RunbookEngine(
        session.profile, runbook,
        router=build_router(session, environment),
        audit=build_audit_trail(session),
        run_store=build_run_store(session),
        local_run_store=RunStore.in_state_dir(session.state_dir),
        approvals=build_approval_store(session),
        run_lock=lambda: build_run_lock(session, runbook.id),
        local_run_lock=lambda: LocalRunLock(session.state_dir / "locks", runbook.id, session.profile.name),
        clock=environment.clock if environment is not None else SystemClock(),
        environment_name=environment_name(session, environment),
        read_only=bool(session.read_only),
        state_dir=session.state_dir,
        environ=environ if environ is not None else os.environ,
        on_output=on_output, on_change=on_change,
        open_incidents=open_incidents,
    )


def build_checklist_store(clock: Clock | None = None) -> ChecklistStore:
    """The daily checklist ticks, kept in the state dir (shared by the consoles of one machine)."""
    return ChecklistStore(clock=clock)


def open_team_feed(session: "Session") -> Any:
    """The team's runs and approvals, live, for the Runbooks pane (None outside team mode)."""
    store = build_run_store(session)
    approvals = build_approval_store(session)
    if store.kind != "postgres" or approvals is None:
        return None
    from cs_console.services.runbooks.team_feed import TeamRunsFeed
    from cs_console.stores.operator_identity import operator_identity

    return TeamRunsFeed(store, approvals, build_audit_trail(session), profile=session.profile.name, me=operator_identity())
