"""A real PgBouncer in front of a test PostgreSQL, started and stopped by the tests.

The configuration is the distribution's stock `pgbouncer.ini` (Debian's package), with
only what a test must change: where it listens, where it keeps its files, the one
database it serves, the pool mode, and trust authentication (the test server trusts
loopback too). Everything else stays stock, in particular `ignore_startup_parameters`,
which a stock PgBouncer leaves empty and so refuses any startup parameter it does not
track itself (`statement_timeout`, `jit`, ...).

As root PgBouncer runs as the `postgres` user (it refuses to run as root).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.pg_server import PgServer, free_port, listening

STOCK_INI = Path("/etc/pgbouncer/pgbouncer.ini")
# What Debian's stock file sets, for a machine without it (the package's defaults otherwise).
_FALLBACK_INI = "[databases]\n\n[users]\n\n[pgbouncer]\nlisten_addr = localhost\nlisten_port = 6432\nauth_type = md5\n"
_OURS = ("logfile", "pidfile", "listen_addr", "listen_port", "unix_socket_dir", "auth_type", "auth_file", "pool_mode")


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None)


def _stock_settings() -> str:
    """The stock [pgbouncer] section without the lines this fixture sets itself."""
    text = STOCK_INI.read_text() if STOCK_INI.exists() else _FALLBACK_INI
    body = text.split("[pgbouncer]", 1)[1] if "[pgbouncer]" in text else ""
    keep = [line for line in body.splitlines()
            if not re.match(r"\s*(%s)\s*=" % "|".join(_OURS), line) and not line.lstrip().startswith("[")]
    return "\n".join(keep)


class PgBouncerServer:
    def __init__(self, pg: PgServer, pool_mode: str, *, default_pool_size: int = 5, server_port: int | None = None,
                 extra: str = "") -> None:
        """server_port: where PgBouncer looks for PostgreSQL (default: `pg`'s port);
        extra: more [pgbouncer] lines (a test's own limit)."""
        binary = pgbouncer_binary()
        if binary is None:
            raise RuntimeError("pgbouncer not installed (apt-get install pgbouncer)")
        self.binary = binary
        self.pg = pg
        self.pool_mode = pool_mode
        self.port = free_port()
        self.root = pg.root / f"pgbouncer-{pool_mode}-{self.port}"
        self.root.mkdir()
        target = server_port or pg.port
        (self.root / "userlist.txt").write_text('"postgres" ""\n"cs_pw" ""\n')
        ini = (
            f"[databases]\npostgres = host=127.0.0.1 port={target} dbname=postgres\n"
            f"* = host=127.0.0.1 port={target}\n\n"
            "[pgbouncer]\n"
            f"{_stock_settings()}\n"
            f"logfile = {self.root}/pgbouncer.log\npidfile = {self.root}/pgbouncer.pid\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir = {self.root}\n"
            f"auth_type = trust\nauth_file = {self.root}/userlist.txt\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = {default_pool_size}\n{extra}"
        )
        self.ini = self.root / "pgbouncer.ini"
        self.ini.write_text(ini)
        if os.geteuid() == 0:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        self.start()

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _argv(self, *args: str) -> list[str]:
        argv = [self.binary, *args]
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> None:
        subprocess.run(self._argv("-d", str(self.ini)), check=True, capture_output=True, cwd="/")
        if not listening(self.port, 10):
            raise RuntimeError(f"PgBouncer did not start: {self.log()[-500:]}")

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        pidfile = self.root / "pgbouncer.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, 9)
