"""Open `cs-console serve` in headless Chromium and save what the browser shows.

    python -m tests.make_serve_screenshot [--out screenshots/serve-browser.png] [-- console flags]

Starts `cs-console --demo serve` on a free loopback port (or with the flags after `--`, e.g.
`-- --config my.toml`), starts Chromium (Debian package `chromium`) headless with its DevTools
port on loopback, loads the page, waits in real time until the console has painted (the
WebSocket session is real, so a virtual-time budget would only capture the splash), and saves
a PNG through the DevTools protocol. Not a test: a tool to check the browser path by eye.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


async def _capture(devtools_port: int, url: str, out: Path, settle_s: float) -> None:
    async with aiohttp.ClientSession() as client:
        deadline = time.monotonic() + 20
        while True:
            try:
                async with client.get(f"http://127.0.0.1:{devtools_port}/json/list") as resp:
                    targets = await resp.json()
                page = next(t for t in targets if t.get("type") == "page")
                break
            except (aiohttp.ClientError, StopIteration):
                if time.monotonic() > deadline:
                    raise SystemExit("Chromium's DevTools did not answer")
                await asyncio.sleep(0.2)
        async with client.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 1000))

            async def call(method: str, **params: object) -> dict:
                msg_id = next(ids)
                await ws.send_json({"id": msg_id, "method": method, "params": params})
                async for message in ws:
                    data = json.loads(message.data)
                    if data.get("id") == msg_id:
                        return data.get("result", {})
                raise SystemExit("DevTools closed the connection")

            await call("Page.enable")
            await call("Page.navigate", url=url)
            await asyncio.sleep(settle_s)
            shot = await call("Page.captureScreenshot", format="png")
    out.write_bytes(base64.b64decode(shot["data"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots" / "serve-browser.png"))
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to let the console paint")
    parser.add_argument("console_flags", nargs="*", help="flags for cs-console (default: --demo)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    port, devtools = _free_port(), _free_port()
    server = subprocess.Popen([sys.executable, "-m", "cs_console", *(args.console_flags or ["--demo"]), "serve", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    with tempfile.TemporaryDirectory(prefix="cs-chromium-") as profile:
        browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                    "--window-size=1280,800", f"--user-data-dir={profile}",
                                    "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={devtools}",
                                    "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(port)
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            asyncio.run(_capture(devtools, f"http://127.0.0.1:{port}/", out, args.settle))
            print(f"wrote {out}")
        finally:
            for proc in (browser, server):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
