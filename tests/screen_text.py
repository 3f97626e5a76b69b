"""Plain text of what a Textual app shows (for pilot tests that assert on the screen)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.app import App


def screen_text(app: App) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


def screen_segments(app: App):
    """Every (text, style) segment on screen: to check that data never became markup."""
    for strip in app.screen._compositor.render_strips():
        yield from strip


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (letting the app run) until check() holds; on a timeout, fail with the screen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time:\n" + screen_text(pilot.app))
        await pilot.pause(0.05)
