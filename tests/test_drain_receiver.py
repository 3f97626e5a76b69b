"""The drain receiver over real HTTP on loopback, storing into a real ring in a temp dir."""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path

import httpx
import pytest

from cs_console.backends.drain.dedupe import RecentIds
from cs_console.backends.drain.receiver import DrainReceiver, ReceiverSettings, SinkDown, start_site
from cs_console.backends.drain.ring import RingStore, segment_paths
from cs_console.backends.drain.ring_source import RingLogSource
from tests.drain_sender import body_of, mixed_events

SECRET = "s3cret-for-tests-0123456789"
HEADER = "X-Drain-Secret"


class _Served:
    def __init__(self, receiver: DrainReceiver, runner, port: int) -> None:
        self.receiver, self.runner, self.port = receiver, runner, port
        self.url = f"http://127.0.0.1:{port}/"

    async def post(self, data: bytes, headers: dict[str, str], *, secret: str | None = SECRET, path: str = "") -> httpx.Response:
        h = dict(headers)
        if secret is not None:
            h[HEADER] = secret
        async with httpx.AsyncClient() as client:
            return await client.post(self.url + path, content=data, headers=h, timeout=10)


@pytest.fixture
async def served(tmp_path: Path):
    ring = RingStore(tmp_path / "ring")
    recent = RecentIds()
    ring.open(recent)
    receiver = DrainReceiver(ring, ReceiverSettings(secret=SECRET, header=HEADER, max_wire=1 << 20, max_plain=4 << 20), recent)
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    try:
        yield _Served(receiver, runner, port)
    finally:
        await runner.cleanup()
        ring.close()


async def _stored(directory: Path) -> list:
    out = []
    async for batch in RingLogSource(directory).records(None, False, tail=100_000):
        out.extend(batch)
    return out


async def test_gzip_batch_is_stored_and_read_back_as_records(served: _Served, tmp_path: Path) -> None:
    events = mixed_events(250)
    data, headers = body_of(events)
    r = await served.post(data, headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 250, "duplicates": 0}
    records = await _stored(tmp_path / "ring")
    assert [rec.id for rec in records] == [e["id"] for e in events]
    by_source = {rec.source for rec in records}
    assert by_source == {"edge", "function", "postgres", "auth"}
    fn = next(rec for rec in records if rec.source == "function")
    assert fn.function == "send-email" and fn.status == 200
    # The detail view reads the whole event back from the segment.
    assert fn.fields()["raw"]["metadata"]["execution_time_ms"] == events[2]["metadata"]["execution_time_ms"]


async def test_plain_json_and_a_single_object_are_accepted(served: _Served, tmp_path: Path) -> None:
    events = mixed_events(3, seed=3)
    data, headers = body_of(events, gzipped=False)
    assert (await served.post(data, headers)).json()["accepted"] == 3
    one = mixed_events(1, seed=4)[0]
    r = await served.post(json.dumps(one).encode(), {"Content-Type": "application/json"})
    assert r.json()["accepted"] == 1
    assert len(await _stored(tmp_path / "ring")) == 4


async def test_duplicates_are_stored_once_and_counted(served: _Served, tmp_path: Path) -> None:
    events = mixed_events(50)
    data, headers = body_of(events)
    assert (await served.post(data, headers)).json() == {"accepted": 50, "duplicates": 0}
    assert (await served.post(data, headers)).json() == {"accepted": 0, "duplicates": 50}
    assert len(await _stored(tmp_path / "ring")) == 50
    status = served.receiver.status()
    assert status["sources"]["edge_logs"]["accepted"] == 20
    assert status["sources"]["edge_logs"]["duplicates"] == 20
    assert status["sources"]["postgres_logs"]["accepted"] == 10


@pytest.mark.parametrize("secret", [None, "wrong-secret-wrong-secret", SECRET[:-1], ""], ids=["missing", "wrong", "one-short", "empty"])
async def test_unauthenticated_is_401_logged_once_and_stores_nothing(served: _Served, tmp_path: Path, caplog, secret) -> None:
    data, headers = body_of(mixed_events(5))
    with caplog.at_level(logging.WARNING, logger="cs_console.drain"):
        r = await served.post(data, headers, secret=secret)
    assert r.status_code == 401
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "cs_console.drain"]
    assert len(lines) == 1 and lines[0].startswith("drain: 401 from 127.0.0.1")
    assert SECRET not in lines[0] and (not secret or secret not in lines[0])
    assert await _stored(tmp_path / "ring") == []
    assert served.receiver.rejected[401] == 1


async def test_status_endpoint_needs_the_secret(served: _Served) -> None:
    data, headers = body_of(mixed_events(10))
    await served.post(data, headers)
    async with httpx.AsyncClient() as client:
        denied = await client.get(served.url + "status")
        ok = await client.get(served.url + "status", headers={HEADER: SECRET})
    assert denied.status_code == 401
    body = ok.json()
    assert body["store"] == "ring"
    assert sum(s["accepted"] for s in body["sources"].values()) == 10
    assert body["rejected"] == {"401": 1}


async def test_oversized_body_is_413(served: _Served, tmp_path: Path) -> None:
    big = json.dumps([{"id": f"e{i}", "event_message": "x" * 1000} for i in range(1200)]).encode()
    assert len(big) > 1 << 20
    r = await served.post(big, {"Content-Type": "application/json"})
    assert r.status_code == 413
    assert await _stored(tmp_path / "ring") == []


async def test_chunked_oversized_body_without_length_is_413(served: _Served, tmp_path: Path) -> None:
    async def chunks():
        for _ in range(40):
            yield b" " * 65536

    async with httpx.AsyncClient() as client:
        r = await client.post(served.url, content=chunks(), headers={HEADER: SECRET, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert await _stored(tmp_path / "ring") == []


async def test_gzip_bomb_is_413_without_inflating_it(served: _Served, tmp_path: Path) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]", compresslevel=9)  # 64 MiB of blanks in ~64 KiB
    assert len(bomb) < 1 << 20
    r = await served.post(bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "inflates" in r.json()["error"]
    assert await _stored(tmp_path / "ring") == []


@pytest.mark.parametrize("body,encoding,why", ids=["not-json", "string", "numbers", "gzip-garbage", "gzip-truncated", "brotli", "bad-id"], argvalues=[
    (b"{not json", "", "not JSON"),
    (b'"a string"', "", "not an array"),
    (b"[1, 2]", "", "not an object"),
    (b"\x1f\x8b\x08\x00garbage", "gzip", "gzip"),
    (gzip.compress(b"[]", mtime=0)[:-6], "gzip", "gzip"),
    (b"[]", "br", "not supported"),
    (json.dumps([{"id": "has space"}]).encode(), "", "id"),
])
async def test_malformed_is_400_and_stores_nothing(served: _Served, tmp_path: Path, body, encoding, why) -> None:
    headers = {"Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    r = await served.post(body, headers)
    assert r.status_code == 400
    assert why in r.json()["error"]
    assert await _stored(tmp_path / "ring") == []


class _FlakySink:
    kind = "flaky"

    def __init__(self) -> None:
        self.down = True
        self.rows: list = []

    async def put(self, events) -> None:
        if self.down:
            raise SinkDown("team database: connection refused")
        self.rows.extend(events)


async def test_store_down_is_503_with_retry_after_and_the_retry_is_stored() -> None:
    sink = _FlakySink()
    receiver = DrainReceiver(sink, ReceiverSettings(secret=SECRET, header=HEADER))
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    try:
        served = _Served(receiver, runner, port)
        data, headers = body_of(mixed_events(20))
        r = await served.post(data, headers)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        sink.down = False
        r = await served.post(data, headers)  # the platform's retry: not a duplicate, it was never stored
        assert r.json() == {"accepted": 20, "duplicates": 0}
        assert len(sink.rows) == 20
    finally:
        await runner.cleanup()


async def test_source_hint_in_the_url_names_the_table(served: _Served, tmp_path: Path) -> None:
    event = {"id": "x-1", "timestamp": 1_700_000_000_000_000, "event_message": "hello", "metadata": {"host": "h"}}
    r = await served.post(json.dumps([event]).encode(), {"Content-Type": "application/json"}, path="?source=storage")
    assert r.json()["accepted"] == 1
    [rec] = await _stored(tmp_path / "ring")
    assert rec.source == "storage_logs" and rec.message == "hello"


def test_files_are_private(tmp_path: Path) -> None:
    ring = RingStore(tmp_path / "ring")
    ring.open()
    ring.close()
    [(_, path)] = segment_paths(tmp_path / "ring")
    assert os.stat(path).st_mode & 0o077 == 0
    assert os.stat(tmp_path / "ring").st_mode & 0o077 == 0
