"""Which logs endpoint a project answers on, decided once per project and session.

Supabase's hosted platform serves logs SQL only on the ClickHouse endpoint
`analytics/endpoints/logs` since `logs.all` (BigQuery/Logflare dialect) was
removed on 2026-09-23; self-hosted stacks and the local CLI still serve only
`logs.all`. So `log_dialect = "auto"` tries ClickHouse first, and an answer
that says the endpoint is missing or retired (404, 410, a 5xx, or an error
body naming deprecation) switches it once to the other one. The choice is
remembered per project for the session (every client of that project, the log
hub and the edge metrics alike), with a one-line note for the sources' status.
A profile that names a dialect is never switched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cs_console.backends.supabase.errors import AnalyticsError, ClientError, ServerError, SupabaseError

DIALECTS = ("clickhouse", "bigquery")
ENDPOINT = {"clickhouse": "/logs", "bigquery": "logs.all"}
_RETIRED_WORDS = ("deprecat", "retired", "no longer", "has been removed", "sunset")


@dataclass(frozen=True, slots=True)
class Choice:
    dialect: str
    note: str  # why, when it was switched ("" when the first choice worked or the profile said)


_lock = threading.Lock()
_remembered: dict[tuple[str, str], Choice] = {}


def _key(client: object) -> tuple[str, str]:
    return (str(getattr(client, "management_url", "")), str(getattr(client, "project_ref", "")))


def endpoint_gone(exc: SupabaseError) -> bool:
    """Does this failure say the endpoint is missing or retired (not that our SQL is wrong)?"""
    if isinstance(exc, ServerError):
        return True
    text = str(exc).lower()
    if any(word in text for word in _RETIRED_WORDS):
        return True
    return isinstance(exc, (ClientError, AnalyticsError)) and exc.status in (404, 410)


def current(client: object) -> str:
    """The dialect to use now: the profile's, the one remembered, or ClickHouse first."""
    configured = getattr(client, "log_dialect", "auto")
    if configured in DIALECTS:
        return configured
    with _lock:
        choice = _remembered.get(_key(client))
    return choice.dialect if choice else "clickhouse"


def is_auto(client: object) -> bool:
    return getattr(client, "log_dialect", "auto") not in DIALECTS


def note(client: object) -> str:
    with _lock:
        choice = _remembered.get(_key(client))
    return choice.note if choice and is_auto(client) else ""


def confirm(client: object, dialect: str) -> None:
    """The dialect answered: remember it (keeping any switch note)."""
    if not is_auto(client):
        return
    with _lock:
        old = _remembered.get(_key(client))
        if old is None or old.dialect != dialect:
            _remembered[_key(client)] = Choice(dialect, old.note if old else "")


def switch(client: object, failed: str, exc: SupabaseError) -> str | None:
    """`failed` answered as missing/retired: the other dialect, once; None when no switch is left."""
    if not is_auto(client) or not endpoint_gone(exc):
        return None
    other = DIALECTS[1] if failed == DIALECTS[0] else DIALECTS[0]
    with _lock:
        old = _remembered.get(_key(client))
        if old is not None and old.note:
            return None  # switched already this session: do not flap
        why = getattr(exc, "short", "") or type(exc).__name__
        _remembered[_key(client)] = Choice(other, f"{ENDPOINT[failed]} answered {why}: using {ENDPOINT[other]} ({other})")
    return other


def forget_all() -> None:
    """Tests: a fresh session."""
    with _lock:
        _remembered.clear()


__all__ = ["Choice", "confirm", "current", "endpoint_gone", "forget_all", "is_auto", "note", "switch"]
