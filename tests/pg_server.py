"""A real PostgreSQL 15 server for the tests, started and stopped by the tests.

As root the server runs as the `postgres` user (PostgreSQL refuses to run as
root). `pg_stat_statements` is preloaded. Authentication is trust on
loopback, with one password-protected role for tests that need a secret.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/pgsql/bin")


def pg_bin_dir() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int, timeout_s: float) -> bool:
    """Whether something accepts connections on the loopback port within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def scratch_dir() -> str | None:
    """Where the servers keep their data: /dev/shm when it is a roomy tmpfs (no disk I/O; the
    servers run with fsync off and are thrown away), else the default temp dir."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize >= 2 << 30  # a container's 64 MB /dev/shm is left alone
    return "/dev/shm" if roomy and os.access("/dev/shm", os.W_OK) else None


def _new_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="cs-console-pg-", dir=scratch_dir()))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres", "postgres")
    return root


_template: Path | None = None  # one initdb per test process; each server starts from a copy


def _initdb_template(bindir: Path, run) -> Path:
    global _template
    if _template is None:
        root = _new_root()
        run([str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
        atexit.register(shutil.rmtree, root, True)
        _template = root / "data"
    return _template


class PgServer:
    def __init__(self, max_connections: int = 40) -> None:
        bindir = pg_bin_dir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries (initdb) not found")
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = _new_root()
        self.data = self.root / "data"
        self.port = free_port()
        self.max_connections = max_connections
        self.user = "postgres"
        # A copy of a fresh initdb is the same cluster in a fraction of the time (-a keeps owner and modes).
        subprocess.run(["cp", "-a", str(_initdb_template(bindir, self._run)), str(self.data)], check=True, capture_output=True)
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                "include_if_exists = 'port.conf'\n"
                f"unix_socket_directories = '{self.root}'\n"
                f"max_connections = {max_connections}\n"
                "superuser_reserved_connections = 3\n"
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "pg_stat_statements.track = all\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "log_min_messages = warning\n"
            )
        # Several test processes (pytest-xdist workers) pick free ports at once: a port
        # another server took between free_port() and the bind is retried with a new one.
        for attempt in range(5):
            self._write_port()
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                log = self.data / "server.log"
                if attempt == 4 or "could not bind" not in (log.read_text(errors="replace") if log.exists() else ""):
                    raise
                self.port = free_port()

    def _write_port(self) -> None:
        port_conf = self.data / "port.conf"
        port_conf.write_text(f"port = {self.port}\n")
        if self.as_root:
            shutil.chown(port_conf, "postgres", "postgres")

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, cwd="/")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "30", "start"])
        if not listening(self.port, 15):
            raise RuntimeError("PostgreSQL did not start listening")

    def stop(self, mode: str = "fast") -> None:
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], check=False)

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.dsn_for(db), "-c", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


async def until_true(dsn: str, sql: str, *args: object, timeout: float = 15.0, what: str = "") -> None:
    """Poll a boolean query (on its own connection) until it is true: wait for the server's
    state (a backend blocked, gone, or old enough by the server's clock), never for a fixed time."""
    import asyncio

    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while not await conn.fetchval(sql, *args):
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {timeout:g} s: {what or sql}")
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
