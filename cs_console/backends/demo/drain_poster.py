"""The demo as a Log Drain sender: the simulated project's logs POSTed to a drain receiver.

`cs-console drain serve --demo` runs this beside the receiver, so the drain can
be tried with no Supabase account: every simulated second's records become
drain events (Logflare event bodies: id, timestamp µs, event_message, and
the source's metadata in the platform's nesting, see
tests/fixtures/drain/README.md) and go out as gzip'd batches of at most 250
over loopback HTTP, with the secret header, like the platform's drain.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Mapping
from typing import Any

from cs_console.backends.demo.log_source import DemoLogSource
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import LogRecord

log = logging.getLogger("cs_console.drain")

BATCH_MAX = 250
_TOP = ("id", "timestamp", "event_message")
_PG_SEVERITY = {"debug": "DEBUG", "info": "LOG", "warn": "WARNING", "error": "ERROR", "fatal": "FATAL"}


def drain_event(record: LogRecord) -> dict[str, Any]:
    """One demo record as the drain would carry it."""
    raw: Mapping[str, Any] = record.raw or {}
    rest = {k: v for k, v in raw.items() if k not in _TOP}
    ts_us = raw.get("timestamp") if isinstance(raw.get("timestamp"), int) else int(record.ts.timestamp() * 1e6)
    meta: dict[str, Any]
    if record.source == "edge":
        headers = {k: rest.pop(k) for k in ("x_real_ip", "user_agent", "cf_ray") if k in rest}
        cf = {"country": rest.pop("cf_country")} if "cf_country" in rest else {}
        response = {k: rest.pop(k) for k in ("status_code", "origin_time") if k in rest}
        request = {k: rest.pop(k) for k in ("method", "path", "search") if k in rest}
        meta = {**rest, "request": {**request, "headers": headers, "cf": cf}, "response": response}
    elif record.source == "function" and "status_code" in rest:
        response = {"status_code": rest.pop("status_code")}
        request = {k: rest.pop(k) for k in ("method", "pathname") if k in rest}
        meta = {**rest, "request": request, "response": response}
    elif record.source == "postgres":
        meta = {"parsed": {**rest, "error_severity": str(rest.get("error_severity") or _PG_SEVERITY.get(record.level.label, "LOG"))}}
    elif record.source == "auth":
        meta = {"component": "api", "level": record.level.label, **rest}
    else:
        meta = rest
    return {"id": record.id or f"demo-{ts_us}-{hash(record.message) & 0xFFFFFFFF:x}", "timestamp": ts_us,
            "event_message": record.message, "metadata": meta}


async def post_demo_logs(project: DemoProject, url: str, header: str, secret: str, *, verify: bool = True) -> None:
    """Follow the simulated project's logs and POST them to `url` until cancelled."""
    import httpx

    source = DemoLogSource(project, "all")
    # verify=False only for our own receiver on loopback with its own certificate (--tls-cert).
    async with httpx.AsyncClient(timeout=5.0, verify=verify) as client:
        async for batch in source.records(None, True):
            events = [drain_event(r) for r in batch]
            for i in range(0, len(events), BATCH_MAX):
                body = gzip.compress(json.dumps(events[i:i + BATCH_MAX], separators=(",", ":")).encode(), 6)
                headers = {header: secret, "Content-Type": "application/json", "Content-Encoding": "gzip"}
                for attempt in range(3):  # a 503 or a dropped connection: try again, as a sender should
                    try:
                        r = await client.post(url, content=body, headers=headers)
                        if r.status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.5 * (attempt + 1))
