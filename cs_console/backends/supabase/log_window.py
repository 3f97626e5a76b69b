"""Log query windows as the logs endpoints take them: at most 24 h, whole minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cs_console.backends.supabase.http_client import MAX_LOG_WINDOW

MIN_WINDOW = timedelta(seconds=1)


def floor_minute(at: datetime) -> datetime:
    """The endpoint rounds a window's start down to the minute: ask for what it reads."""
    return at.replace(second=0, microsecond=0)


def clamp_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The endpoint takes at most 24 h and needs end > start."""
    if end - start > MAX_LOG_WINDOW:
        start = end - MAX_LOG_WINDOW
    if end - start < MIN_WINDOW:
        start = end - MIN_WINDOW
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


__all__ = ["MIN_WINDOW", "clamp_window", "floor_minute"]
