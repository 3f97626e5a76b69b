"""`drain serve`'s HTTP side: an aiohttp app taking Supabase custom-endpoint drain POSTs.

Each request, in order: the shared secret (a custom header the project owner
sets on the drain, compared with hmac.compare_digest) -> 401; the size
(Content-Length, then the bytes read, then what they gunzip to) -> 413; the
body (a JSON array of event objects) -> 400; storage (the sink is down) ->
503 with Retry-After. Only a batch the sink has made durable is answered 200,
so whatever the sender does not hear 200 for was not stored as far as it
knows. Refusals are one log line each (status, peer, reason; never the
secret or the body) and store nothing.

aiohttp is the house's async server already (textual-serve runs on it); it is
run with auto_decompress off so the body is inflated here, within limits.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections import Counter
import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from cs_console.backends.drain import otlp
from cs_console.backends.drain.body import BodyTooLarge, BodyUnreadable, read_body
from cs_console.backends.drain.dedupe import RecentIds
from cs_console.domain.drain_events import DrainBatchError, SinkDown, event_id, normal_table, parse_batch, table_of
from cs_console.domain.log_fields import parse_timestamp
from cs_console.domain.otlp_logs import otlp_events
from cs_console.domain.safe_text import safe_text

log = logging.getLogger("cs_console.drain")

DEFAULT_HEADER = "X-Drain-Secret"
DEFAULT_MAX_WIRE = 8 << 20  # a full batch of 250 large edge events gzips to well under 1 MiB
DEFAULT_MAX_PLAIN = 64 << 20
RETRY_AFTER_S = 5


class DrainSink(Protocol):
    kind: str

    async def put(self, events: list[tuple[str, str, int, str]]) -> None:
        """Store (id, table, timestamp µs, event JSON) durably, or raise SinkDown."""
        ...


@dataclass
class SourceCounters:
    accepted: int = 0
    duplicates: int = 0
    last_event_us: int = 0
    last_received: float = 0.0

    def as_json(self) -> dict[str, Any]:
        from cs_console.domain.log_record import iso_utc
        from datetime import datetime, timezone

        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "last_event": iso_utc(datetime.fromtimestamp(self.last_event_us / 1e6, timezone.utc)) if self.last_event_us else None,
            "last_received": iso_utc(datetime.fromtimestamp(self.last_received, timezone.utc)) if self.last_received else None,
        }


@dataclass
class ReceiverSettings:
    secret: str = field(repr=False)
    header: str = DEFAULT_HEADER
    max_wire: int = DEFAULT_MAX_WIRE
    max_plain: int = DEFAULT_MAX_PLAIN


class DrainReceiver:
    def __init__(self, sink: DrainSink, settings: ReceiverSettings, recent: RecentIds | None = None,
                 *, now: Callable[[], float] = time.time) -> None:
        if not settings.secret:
            raise ValueError("the drain needs a shared secret")
        self.sink = sink
        self.settings = settings
        self.recent = recent if recent is not None else RecentIds()
        self._secret = settings.secret.encode("utf-8")
        self._now = now
        self.sources: dict[str, SourceCounters] = {}
        self.rejected: Counter[int] = Counter()
        self.requests = 0
        self.otlp_requests = 0
        self.rejected_records = 0  # OTLP log records refused inside an accepted request (partialSuccess)
        self.started = now()
        # ids of batches being stored: a retry racing its original waits for the original's outcome.
        self._inflight: dict[str, asyncio.Future[None]] = {}

    # -------------------------------------------------------------- app

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_wire)
        app.router.add_get("/status", self._status)
        app.router.add_post("/{tail:.*}", self._post)
        return app

    def _authorised(self, request: web.BaseRequest) -> bool:
        given = request.headers.get(self.settings.header)
        if given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret)

    def _refuse(self, request: web.BaseRequest, status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
        self.rejected[status] += 1
        peer = request.remote or "?"
        log.warning("drain: %d from %s: %s", status, safe_text(peer, 60), safe_text(reason, 200))
        return web.json_response({"error": reason}, status=status, headers=headers)

    async def _read(self, request: web.Request, refuse: Callable[..., web.Response]) -> bytes | web.Response:
        """The body, authenticated and within limits, or the refusal to send."""
        if not self._authorised(request):
            return refuse(request, 401, f"missing or wrong {self.settings.header} header")
        length = request.content_length
        if length is not None and length > self.settings.max_wire:
            return refuse(request, 413, f"body of {length:,} bytes is over {self.settings.max_wire:,}")
        try:
            return await read_body(
                request.content.iter_chunked(65536), request.headers.get("Content-Encoding", ""),
                max_wire=self.settings.max_wire, max_plain=self.settings.max_plain,
            )
        except BodyTooLarge as exc:
            return refuse(request, 413, str(exc))
        except BodyUnreadable as exc:
            return refuse(request, 400, str(exc))

    async def _post(self, request: web.Request) -> web.Response:
        if otlp.is_otlp(request.path, request.content_type):
            return await self._post_otlp(request)
        self.requests += 1
        body = await self._read(request, self._refuse)
        if isinstance(body, web.Response):
            return body
        try:
            events = parse_batch(body)
        except DrainBatchError as exc:
            return self._refuse(request, 400, str(exc))
        hint = normal_table(request.query.get("source"))
        try:
            stored, duplicates = await self._store(events, hint)
        except SinkDown as exc:
            return self._refuse(request, 503, f"store unavailable: {exc}", {"Retry-After": str(RETRY_AFTER_S)})
        return web.json_response({"accepted": stored, "duplicates": duplicates})

    def _refuse_otlp(self, request: web.BaseRequest, status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
        self.rejected[status] += 1
        peer = request.remote or "?"
        log.warning("drain: %d from %s: OTLP: %s", status, safe_text(peer, 60), safe_text(reason, 200))
        data, kind = otlp.status_body(request.headers.get("Content-Type"), status, reason)
        return web.Response(body=data, status=status, content_type=kind, headers=headers)

    async def _post_otlp(self, request: web.Request) -> web.Response:
        """OTLP/HTTP logs: ExportLogsServiceRequest in, ExportLogsServiceResponse out, same checks and store."""
        self.requests += 1
        self.otlp_requests += 1
        content_type = request.headers.get("Content-Type")
        if otlp.media_type(content_type) not in (otlp.PROTOBUF, otlp.JSON):
            return self._refuse_otlp(request, 415, f"Content-Type must be {otlp.PROTOBUF} or {otlp.JSON}")
        body = await self._read(request, self._refuse_otlp)
        if isinstance(body, web.Response):
            return body
        try:
            events, rejected, reason = otlp_events(otlp.decode_request(body, content_type))
        except otlp.UnsupportedMedia as exc:
            return self._refuse_otlp(request, 415, str(exc))
        except DrainBatchError as exc:
            return self._refuse_otlp(request, 400, str(exc))
        try:
            await self._store(events, normal_table(request.query.get("source")))
        except SinkDown as exc:
            return self._refuse_otlp(request, 503, f"store unavailable: {exc}", {"Retry-After": str(RETRY_AFTER_S)})
        if rejected:
            self.rejected_records += rejected
            log.warning("drain: OTLP from %s: %d log record(s) rejected: %s", safe_text(request.remote or "?", 60), rejected, safe_text(reason, 200))
        data, kind = otlp.success_body(content_type, rejected, reason)
        return web.Response(body=data, status=200, content_type=kind)

    async def _store(self, events: list[dict[str, Any]], hint: str | None) -> tuple[int, int]:
        now = self._now()
        now_us = int(now * 1e6)
        recent = self.recent
        rows: list[tuple[str, str, int, str]] = []
        dup_by_table: Counter[str] = Counter()
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
        inflight = self._inflight
        waits: set[asyncio.Future[None]] = set()
        for event in events:
            ident = event_id(event)
            table = table_of(event, hint)
            if not recent.add(ident):
                dup_by_table[table] += 1
                pending = inflight.get(ident)
                if pending is not None:
                    waits.add(pending)
                continue
            ts = event.get("timestamp")
            if isinstance(ts, int) and not isinstance(ts, bool) and 10**14 < ts < 10**17:
                ts_us = ts  # the drain's own form: microseconds since the epoch
            else:
                parsed = parse_timestamp(ts)
                ts_us = int(parsed.timestamp() * 1e6) if parsed is not None else now_us
            rows.append((ident, table, ts_us, dumps(event)))
        if rows:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for row in rows:
                inflight[row[0]] = done
            try:
                await self.sink.put(rows)
            except Exception as exc:
                recent.forget(r[0] for r in rows)
                done.set_exception(SinkDown(str(exc)))
                done.exception()  # retrieved: nobody else may be waiting
                if isinstance(exc, SinkDown):
                    raise
                if isinstance(exc, OSError):  # a full disk, a vanished state dir
                    raise SinkDown(exc.strerror or type(exc).__name__) from None
                raise
            else:
                done.set_result(None)
            finally:
                for row in rows:
                    if inflight.get(row[0]) is done:
                        del inflight[row[0]]
        if waits:
            # Events this request shares with one still being stored: ours is stored when theirs is.
            for pending in waits:
                try:
                    await pending
                except SinkDown:
                    raise SinkDown("an earlier copy of this batch could not be stored") from None
        for ident, table, ts_us, _ in rows:
            c = self.sources.get(table)
            if c is None:
                c = self.sources[table] = SourceCounters()
            c.accepted += 1
            if ts_us > c.last_event_us:
                c.last_event_us = ts_us
            c.last_received = now
        for table, n in dup_by_table.items():
            self.sources.setdefault(table, SourceCounters()).duplicates += n
        return len(rows), sum(dup_by_table.values())

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse(request, 401, f"missing or wrong {self.settings.header} header")
        return web.json_response(self.status())

    def status(self) -> dict[str, Any]:
        return {
            "store": self.sink.kind,
            "uptime_s": round(self._now() - self.started, 1),
            "requests": self.requests,
            "sources": {name: c.as_json() for name, c in sorted(self.sources.items())},
            "rejected": {str(k): v for k, v in sorted(self.rejected.items())},
            "otlp": {"requests": self.otlp_requests, "rejected_records": self.rejected_records},
        }


async def start_site(app: web.Application, host: str, port: int, ssl_context: Any = None) -> tuple[web.AppRunner, int]:
    """Listen; returns the runner (to clean up) and the port bound (0 picks a free one)."""
    runner = web.AppRunner(app, auto_decompress=False, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    bound = port
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        bound = server.sockets[0].getsockname()[1]
    return runner, bound

