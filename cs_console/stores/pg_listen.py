"""LISTEN on one channel of the team store, on a connection of its own, reconnecting by itself.

After a reconnect the callback gets None: anything may have changed while nobody listened.
``on_problem`` hears "" when live updates work and a short sentence when they do not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from cs_console.domain.backoff import Backoff

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)

Payload = Callable[[str | None], Any]


async def listen(dsn: str, password: str | None, channel: str, callback: Payload, *,
                 on_problem: Callable[[str], None] | None = None, backoff_cap: float = 1.0) -> Callable[[], Awaitable[None]]:
    """Subscribe; returns the coroutine function that unsubscribes."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Future[Any]] = set()
    state: dict[str, Any] = {"conn": None, "closing": False}
    lost = asyncio.Event()

    def problem(text: str) -> None:
        if on_problem is not None:
            with contextlib.suppress(Exception):
                on_problem(text)

    def deliver(payload: str | None) -> None:
        try:
            result = callback(payload)
        except Exception:
            return
        if asyncio.iscoroutine(result):
            fut = asyncio.ensure_future(result)
            pending.add(fut)
            fut.add_done_callback(pending.discard)

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        deliver(payload)

    def on_terminate(_conn: Any) -> None:
        if not state["closing"]:
            problem("team store: live updates lost, reconnecting")
            loop.call_soon_threadsafe(lost.set)

    async def connect() -> None:
        conn = await asyncpg.connect(dsn, password=password, timeout=5,
                                     server_settings={"application_name": f"cs-console listen {channel}"[:63]})
        conn.add_termination_listener(on_terminate)
        await conn.add_listener(channel, on_notify)
        state["conn"] = conn

    async def keeper() -> None:
        # Capped (1 s by default): live updates resume within about a second of the server's return.
        backoff = Backoff(initial=0.25, cap=backoff_cap)
        while not state["closing"]:
            await lost.wait()
            lost.clear()
            old, state["conn"] = state["conn"], None
            if old is not None:
                with contextlib.suppress(Exception):
                    old.terminate()
            while not state["closing"]:
                try:
                    await connect()
                except _DB_ERRORS:
                    await asyncio.sleep(backoff.next())
                    continue
                backoff.reset()
                problem("")
                deliver(None)
                break

    try:
        await connect()
    except _DB_ERRORS as exc:
        problem(f"team store: live updates unavailable ({type(exc).__name__}), retrying")
        lost.set()
    task = loop.create_task(keeper(), name=f"listen-{channel}")

    async def unsubscribe() -> None:
        state["closing"] = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        conn = state["conn"]
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.remove_listener(channel, on_notify)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
        for fut in list(pending):
            fut.cancel()

    return unsubscribe
