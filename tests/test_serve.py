"""`cs-console serve`: the real textual-serve server, driven over its WebSocket as a browser does.

Each test starts the server as a subprocess on a loopback port, opens /ws with aiohttp (what
textual-serve itself runs on), sends the browser's resize, and feeds the frames it receives into
a pyte terminal until the Overview is on screen.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pyte

from tests.pg_server import PgServer
from tests.runbook_helpers import write_config

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 120, 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(*args: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_console", *args, "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.1)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def screen_until(port: int, done: Callable[[str], bool], timeout: float = 45.0) -> str:
    """Drive one browser session; return the screen text once `done(text)` holds."""
    screen = pyte.Screen(WIDTH, HEIGHT)
    stream = pyte.ByteStream(screen)
    text = ""
    url = f"http://127.0.0.1:{port}/ws?width={WIDTH}&height={HEIGHT}"
    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        await ws.send_json(["resize", {"width": WIDTH, "height": HEIGHT}])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                message = await ws.receive(timeout=max(0.1, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            if message.type == aiohttp.WSMsgType.BINARY:
                stream.feed(message.data)
                text = "\n".join(screen.display)
                if done(text):
                    return text
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    raise AssertionError(f"the Overview never arrived over the WebSocket; last screen:\n{text}")


def _overview_shown(text: str) -> bool:
    return all(part in text for part in ("1 Overview", "Components", "Daily review", "Database"))


async def test_serve_demo_session_reaches_the_overview() -> None:
    with serving("--demo") as (port, proc):
        text = await screen_until(port, _overview_shown)
        assert "DEMO" in text and "needs a terminal" not in text
        assert proc.poll() is None  # the server outlives the session


async def test_serve_profile_session_shows_live_database(pg: PgServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, pg.dsn)
    with serving("--config", str(config)) as (port, _proc):
        # Not just the frame: the live Database row, read by the child over the web driver.
        text = await screen_until(port, lambda t: _overview_shown(t) and "profile prod" in t and "HEALTHY" in t)
        database = next((line for line in text.splitlines() if "│ Database" in line), "")
        assert "HEALTHY" in database, text
