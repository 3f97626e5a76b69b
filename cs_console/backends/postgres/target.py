"""Where a DSN points, said without its password.

Every message the PostgreSQL backend produces goes through a
`cs_console.domain.redaction.Redactor` (the connector's `scrub`), so a password
given in the DSN, in PGPASSWORD or in the profile's env var can never reach the
screen, a log or an error line.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from cs_console.domain.redaction import redact

_DSN_RE = re.compile(r"^postgres(ql)?://", re.IGNORECASE)


class InvalidDsn(ValueError):
    """A DSN that is not a postgresql:// URL; the message never contains the DSN's secret."""


@dataclass(frozen=True, slots=True)
class DbTarget:
    user: str
    host: str
    port: int
    database: str
    password: str | None  # from the DSN itself, if it carries one

    @property
    def label(self) -> str:
        """user@host:port/db, fine to show anywhere."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def key(self) -> str:
        """Stable short id for state files of this database (no secret in it)."""
        return hashlib.sha1(f"{self.host}:{self.port}/{self.database}".encode()).hexdigest()[:12]


def parse_target(dsn: str) -> DbTarget:
    if not _DSN_RE.match(dsn):
        raise InvalidDsn(f"not a PostgreSQL DSN ({redact(dsn)[:60]!s}): expected postgresql://user@host:port/database")
    try:
        parts = urlsplit(dsn)
        port = parts.port or int(os.environ.get("PGPORT", "5432"))
    except ValueError:
        raise InvalidDsn(f"bad port in DSN {redact(dsn)}: expected postgresql://user@host:port/database") from None
    query = parse_qs(parts.query)
    user = unquote(parts.username or "") or (query.get("user") or [""])[0] or os.environ.get("PGUSER", "") or _os_user()
    host = parts.hostname or (query.get("host") or [""])[0] or os.environ.get("PGHOST", "localhost")
    database = unquote(parts.path.lstrip("/")) or (query.get("dbname") or [""])[0] or os.environ.get("PGDATABASE", "") or user
    password = unquote(parts.password) if parts.password else (query.get("password") or [None])[0]
    return DbTarget(user, host, port, database, password)


def _os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "postgres"
