"""Turn asyncpg / socket exceptions into one-line reasons an operator can act on."""

from __future__ import annotations

import asyncio
import socket
from enum import StrEnum
from typing import Callable

import asyncpg

from cs_console.domain.safe_text import safe_text


class FailureKind(StrEnum):
    REFUSED = "refused"  # nothing listening
    TIMEOUT = "timeout"
    AUTH = "auth"
    SATURATED = "saturated"  # server refuses: too many connections
    NOT_FOUND = "not_found"  # database or host unknown
    SHUTDOWN = "shutdown"  # server shutting down / starting up
    LOST = "lost"  # connection dropped mid-use
    NETWORK = "network"
    CONFIG = "config"  # bad DSN or client setting
    QUERY = "query"  # the connection is fine; one statement failed
    POOLER = "pooler"  # the pooler in front refused or failed; the database itself was not heard from


# Errors after which the connection can no longer be trusted.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. the protocol got a FATAL between our statements
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidCatalogNameError,
)


# What PgBouncer and Supavisor say about themselves (PostgreSQL never says these).
_POOLER_PHRASES = (
    "pgbouncer", "no more connections allowed", "query_wait_timeout", "server_login_retry",
    "client_login_timeout", "unsupported startup parameter", "unsupported pkt type", "server conn crashed",
    "closing because", "no such database", "not allowed", "max_client_conn", "supavisor", "tenant",
    "max client connections reached", "idle_transaction_timeout", "client_idle_timeout", "pool_size",
)


def is_pooler_error(exc: BaseException, pooler: str | None) -> bool:
    """An error the pooler sent itself: PostgreSQL uses 08P01 only for a malformed
    message, which the console never sends, while poolers use it for their own refusals."""
    if not isinstance(exc, asyncpg.PostgresError):
        return False
    text = str(exc).lower()
    if getattr(exc, "sqlstate", "") == "08P01":
        return True
    return pooler is not None and any(p in text for p in _POOLER_PHRASES)


def describe_failure(exc: BaseException, target: str, scrub: Callable[[str], str], connect_timeout: float,
                     *, pooler: str | None = None) -> tuple[FailureKind, str]:
    """(kind, one-line reason) for `exc`; the reason never carries a secret.

    `pooler` names the pooler the connection goes through, when one was found."""
    if is_pooler_error(exc, pooler):
        who = pooler or "the connection pooler"
        kind, text = FailureKind.POOLER, f"{who} refused: {_first_line(exc)} (the database behind it was not reached)"
    else:
        kind, text = _classify(exc, target, connect_timeout)
    return kind, safe_text(scrub(text), max_len=300)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _classify(exc: BaseException, target: str, connect_timeout: float) -> tuple[FailureKind, str]:
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return FailureKind.SATURATED, f"server refuses new connections: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return FailureKind.AUTH, f"authentication failed: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return FailureKind.AUTH, f"not authorized: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return FailureKind.NOT_FOUND, _first_line(exc)
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return FailureKind.SHUTDOWN, f"server not accepting connections: {_first_line(exc)}"
    if isinstance(exc, (asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)):
        return FailureKind.SHUTDOWN, f"server closed the connection: {_first_line(exc)}"
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError):
        return FailureKind.LOST, f"connection to {target} lost"
    if isinstance(exc, asyncpg.ClientConfigurationError):
        return FailureKind.CONFIG, f"bad connection settings: {_first_line(exc)}"
    if isinstance(exc, (asyncpg.InterfaceError, asyncpg.InternalClientError)):
        return FailureKind.LOST, f"connection to {target} unusable: {_first_line(exc)}"
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return FailureKind.LOST, f"connection error: {_first_line(exc)}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return FailureKind.TIMEOUT, f"no answer from {target} within {connect_timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return FailureKind.REFUSED, f"connection refused by {target} (server not running?)"
    if isinstance(exc, socket.gaierror):
        return FailureKind.NOT_FOUND, f"cannot resolve the host of {target}"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return FailureKind.LOST, f"connection to {target} dropped"
    if isinstance(exc, OSError):
        detail = exc.strerror or _first_line(exc)
        if "Connect call failed" in str(exc) or "Multiple exceptions" in str(exc):
            return FailureKind.REFUSED, f"cannot connect to {target}: {detail}"
        return FailureKind.NETWORK, f"network error talking to {target}: {detail}"
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", "") or ""
        return FailureKind.QUERY, f"{sqlstate} {_first_line(exc)}".strip()
    return FailureKind.NETWORK, f"{type(exc).__name__}: {_first_line(exc)}"
