"""Shared fixtures: an isolated config/state dir per test, and real PostgreSQL servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import PgServer


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG config and state dirs and no stray env."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for var in ("CS_CONSOLE_CONFIG", "CS_CONSOLE_PROFILE", "CS_CONSOLE_READ_ONLY", "CS_CONSOLE_THEME", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    # A 16-colour TERM picks the ansi theme: screens and snapshots are taken at 256 colours.
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """One PostgreSQL server per test process (each pytest-xdist worker starts its own, on its
    own free port and data dir), for the whole run. Tests must leave it running.

    It never skips: the suite is meant to run against a real server, and CI
    fails if it cannot start one.
    """
    server = PgServer()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_factory() -> Iterator:
    """Disposable servers for tests that stop, crash or saturate them."""
    servers: list[PgServer] = []

    def make(**kwargs) -> PgServer:
        server = PgServer(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.destroy()


@pytest.fixture
def fake_supabase() -> Iterator:
    """A loopback HTTP server answering like Supabase (tests/fake_supabase.py)."""
    from cs_console.backends.supabase import log_endpoint
    from tests.fake_supabase import FakeSupabase

    log_endpoint.forget_all()  # each test is a fresh console session
    with FakeSupabase() as fake:
        yield fake
