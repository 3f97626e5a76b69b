"""Mounting the panes not shown yet, after the first paint, while the keyboard is quiet.

Mounting the four other panes in one go held the event loop for 0.5-4 s on a loaded
machine, so a `2` or F1 pressed right after the first paint took seconds to act. Now
each pane waits until no key has come for a moment (a pane asked for by a key is
mounted at once, on demand, by the app's show_pane), and the loop gets a breath
between panes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

MOUNT_DELAY_S = 0.5
QUIET_S = 0.4
SHOWN_GRACE_S = 1.5  # after a pane asked for by a key is mounted


async def awaited(awaitable: Any) -> None:
    await awaitable


async def mount_remaining_panes(app: Any) -> None:
    """Mount every pane of `app` (a ConsoleApp) not mounted yet, one at a time."""
    await asyncio.sleep(MOUNT_DELAY_S)
    for spec in app.pane_specs:
        while not app._shutting_down():
            user_mount = app._user_mount
            if user_mount is not None and not user_mount.done():
                await asyncio.wait([user_mount])
                # Mounted is not painted: its tabs, lists and first refresh follow.
                app._last_key_at = time.monotonic() + SHOWN_GRACE_S
            elif time.monotonic() - app._last_key_at < QUIET_S:
                await asyncio.sleep(0.1)
            else:
                break
        if app._shutting_down():
            return
        try:
            app._pane_class(spec.pane_id)
        except Exception as exc:  # noqa: BLE001 - one broken pane must not stop the others
            app._report_pane_load_failure(spec, exc)
            continue
        mounting = app._ensure_pane(spec.pane_id)
        if mounting is not None:
            app._mount_in_flight = asyncio.ensure_future(awaited(mounting))
            await app._mount_in_flight
            await asyncio.sleep(0.1)
    if app._freeze_gc:
        # Everything built so far (modules, stylesheets, panes) lives as long as the app:
        # out of the collector's way, a full collection no longer stalls the UI for
        # 0.1-0.35 s now and then (measured on pane switches). Not in tests, where many
        # apps share one process and a frozen finished app could never be collected.
        import gc

        gc.freeze()
