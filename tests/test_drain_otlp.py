"""OTLP/HTTP logs into the drain receiver: real HTTP on loopback, bodies built with the real protobuf classes.

The requests are shaped as Supabase's OTLP drain (Logflare's OTLP adaptor) builds them: one
ResourceLogs, scope "logflare", a record per event with timeUnixNano from the event's
timestamp, eventName = event_message and the rest of the event (id, metadata, project) as a
kvlist body. They land in a real ring and are read back as the Logs pane reads them.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_ERROR

from cs_console.backends.drain import otlp
from cs_console.backends.drain.dedupe import RecentIds
from cs_console.backends.drain.receiver import DrainReceiver, ReceiverSettings, SinkDown, start_site
from cs_console.backends.drain.ring import RingStore
from cs_console.backends.drain.ring_source import RingLogSource
from cs_console.domain.log_record import Level
from cs_console.domain.otlp_logs import otlp_events
from tests.drain_sender import _any_value as _value
from tests.drain_sender import mixed_events, otlp_body_of, supabase_otlp

SECRET = "otlp-s3cret-for-tests-0123456789"
HEADER = "X-Drain-Secret"
PROTO = {"Content-Type": "application/x-protobuf"}


class _Served:
    def __init__(self, receiver: DrainReceiver, port: int) -> None:
        self.receiver = receiver
        self.url = f"http://127.0.0.1:{port}/v1/logs"

    async def post(self, data: bytes, headers: dict[str, str], *, secret: str | None = SECRET, url: str | None = None) -> httpx.Response:
        h = dict(headers)
        if secret is not None:
            h[HEADER] = secret
        async with httpx.AsyncClient() as client:
            return await client.post(url or self.url, content=data, headers=h, timeout=10)


@pytest.fixture
async def served(tmp_path: Path):
    ring = RingStore(tmp_path / "ring")
    recent = RecentIds()
    ring.open(recent)
    receiver = DrainReceiver(ring, ReceiverSettings(secret=SECRET, header=HEADER, max_wire=1 << 20, max_plain=4 << 20), recent)
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    try:
        yield _Served(receiver, port)
    finally:
        await runner.cleanup()
        ring.close()


async def _stored(directory: Path) -> list:
    out = []
    async for batch in RingLogSource(directory).records(None, False, tail=100_000):
        out.extend(batch)
    return out


def _response(r: httpx.Response) -> ExportLogsServiceResponse:
    assert r.headers["Content-Type"].startswith("application/x-protobuf")
    return ExportLogsServiceResponse.FromString(r.content)


async def test_supabase_shaped_protobuf_gzip_is_stored_as_the_custom_endpoint_would(served: _Served, tmp_path: Path) -> None:
    events = mixed_events(250)
    data, headers = otlp_body_of(events)
    r = await served.post(data, headers)
    assert r.status_code == 200, r.content
    assert not _response(r).HasField("partial_success")
    records = await _stored(tmp_path / "ring")
    assert [rec.id for rec in records] == [e["id"] for e in events]  # the event's own id, carried in the body
    assert {rec.source for rec in records} == {"edge", "function", "postgres", "auth"}
    fn = next(rec for rec in records if rec.source == "function")
    assert fn.function == "send-email" and fn.status == 200
    assert fn.message == events[2]["event_message"]
    assert int(fn.ts.timestamp() * 1e6) == events[2]["timestamp"]
    raw = fn.fields()["raw"]
    assert raw["metadata"]["execution_time_ms"] == events[2]["metadata"]["execution_time_ms"]
    assert raw["resource"] == {"logflare.source_uuid": "0f4c-test"} and raw["scope"] == "logflare"
    assert served.receiver.status()["otlp"] == {"requests": 1, "rejected_records": 0}


async def test_protobuf_posted_to_the_bare_url_is_otlp_too(served: _Served, tmp_path: Path) -> None:
    # Supabase posts to the URL exactly as configured; protobuf is OTLP whatever the path.
    events = mixed_events(5, seed=11)
    r = await served.post(supabase_otlp(events).SerializeToString(), PROTO, url=served.url.removesuffix("v1/logs"))
    assert r.status_code == 200
    assert len(await _stored(tmp_path / "ring")) == 5


async def test_plain_otlp_records_map_severity_attributes_and_service_name(served: _Served, tmp_path: Path) -> None:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.append(KeyValue(key="service.name", value=_value("storage")))
    rec = rl.scope_logs.add().log_records.add()
    rec.time_unix_nano = 1_764_000_000_123_456_789
    rec.severity_number = SEVERITY_NUMBER_ERROR
    rec.body.string_value = "object not found"
    rec.attributes.append(KeyValue(key="bucket", value=_value("avatars")))
    rec.trace_id = bytes(range(16))
    r = await served.post(request.SerializeToString(), PROTO)
    assert r.status_code == 200
    [stored] = await _stored(tmp_path / "ring")
    assert stored.source == "storage_logs" and stored.message == "object not found"
    assert stored.level is Level.ERROR
    assert int(stored.ts.timestamp() * 1e6) == 1_764_000_000_123_456
    raw = stored.fields()["raw"]
    assert raw["attributes"] == {"bucket": "avatars"} and raw["traceId"] == bytes(range(16)).hex()
    assert raw["id"].startswith("otlp-")  # no id in OTLP: derived from the content


async def test_json_encoding_answers_json(served: _Served, tmp_path: Path) -> None:
    body = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "auth"}}]},
                              "scopeLogs": [{"logRecords": [
                                  {"timeUnixNano": "1764000000000000000", "severityText": "WARN",
                                   "body": {"stringValue": "login failed"}, "attributes": [{"key": "n", "value": {"intValue": "3"}}]},
                                  {"timeUnixNano": 1764000001000000000, "body": {"kvlistValue": {"values": [
                                      {"key": "event_message", "value": {"stringValue": "from a kvlist"}}]}}},
                              ]}]}]}
    r = await served.post(json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {}
    first, second = await _stored(tmp_path / "ring")
    assert (first.source, first.message, first.level) == ("auth", "login failed", Level.WARN)
    assert first.fields()["raw"]["attributes"] == {"n": 3}
    assert second.message == "from a kvlist"


async def test_resend_is_stored_once_with_and_without_an_id_in_the_body(served: _Served, tmp_path: Path) -> None:
    with_ids = supabase_otlp(mixed_events(20, seed=5))
    plain = ExportLogsServiceRequest()
    recs = plain.resource_logs.add().scope_logs.add().log_records
    for i in range(10):
        rec = recs.add()
        rec.time_unix_nano = 1_764_000_000_000_000_000 + i
        rec.body.string_value = f"line {i}"
    for request in (with_ids, plain):
        data = gzip.compress(request.SerializeToString())
        for _ in range(2):
            r = await served.post(data, {**PROTO, "Content-Encoding": "gzip"})
            assert r.status_code == 200
    assert len(await _stored(tmp_path / "ring")) == 30
    dups = sum(s["duplicates"] for s in served.receiver.status()["sources"].values())
    assert dups == 30


async def test_rejected_records_come_back_as_partial_success(served: _Served, tmp_path: Path) -> None:
    request = supabase_otlp(mixed_events(3, seed=8))
    request.resource_logs[0].scope_logs[0].log_records.add()  # empty: no body, no name, no attributes
    r = await served.post(request.SerializeToString(), PROTO)
    assert r.status_code == 200
    partial = _response(r).partial_success
    assert partial.rejected_log_records == 1 and "no body" in partial.error_message
    assert len(await _stored(tmp_path / "ring")) == 3
    assert served.receiver.status()["otlp"]["rejected_records"] == 1


def _status_class():
    """google.rpc.Status, built from its descriptor (it is not in opentelemetry-proto)."""
    fd = descriptor_pb2.FileDescriptorProto(name="test_status.proto", package="testrpc", syntax="proto3")
    msg = fd.message_type.add(name="Status")
    msg.field.add(name="code", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32, label=1)
    msg.field.add(name="message", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("testrpc.Status"))


@pytest.mark.parametrize("secret", [None, "wrong-secret-wrong-secret-wrong"], ids=["missing", "wrong"])
async def test_wrong_secret_is_401_with_a_status_body_and_stores_nothing(served: _Served, tmp_path: Path, caplog, secret) -> None:
    data = supabase_otlp(mixed_events(5)).SerializeToString()
    with caplog.at_level(logging.WARNING, logger="cs_console.drain"):
        r = await served.post(data, PROTO, secret=secret)
    assert r.status_code == 401
    status = _status_class().FromString(r.content)
    assert status.code == 16 and HEADER in status.message  # UNAUTHENTICATED
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "cs_console.drain"]
    assert len(lines) == 1 and lines[0].startswith("drain: 401 from 127.0.0.1") and SECRET not in lines[0]
    assert await _stored(tmp_path / "ring") == []


async def test_oversized_and_bomb_are_413(served: _Served, tmp_path: Path) -> None:
    big = supabase_otlp([{**e, "event_message": "x" * 5000} for e in mixed_events(250)]).SerializeToString()
    assert len(big) > 1 << 20
    assert (await served.post(big, PROTO)).status_code == 413
    bomb = gzip.compress(b"\x00" * (8 << 20), compresslevel=9)
    r = await served.post(bomb, {**PROTO, "Content-Encoding": "gzip"})
    assert r.status_code == 413 and b"inflates" in r.content
    assert await _stored(tmp_path / "ring") == []


@pytest.mark.parametrize("body,headers,status,why", ids=["garbage-proto", "garbage-json", "json-array", "bad-record-list", "gzip-garbage", "no-type", "xml"], argvalues=[
    (b"\xff\xff\xff\xff not protobuf", PROTO, 400, "not a protobuf"),
    (b"{nope", {"Content-Type": "application/json"}, 400, "not JSON"),
    (b"[]", {"Content-Type": "application/json"}, 400, "not an ExportLogsServiceRequest"),
    (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": 5}]}]}', {"Content-Type": "application/json"}, 400, "logRecords"),
    (b"\x1f\x8b\x08\x00garbage", {**PROTO, "Content-Encoding": "gzip"}, 400, "gzip"),
    (b"{}", {}, 415, "Content-Type"),
    (b"<logs/>", {"Content-Type": "application/xml"}, 415, "Content-Type"),
])
async def test_garbage_is_refused_and_stores_nothing(served: _Served, tmp_path: Path, body, headers, status, why) -> None:
    r = await served.post(body, headers)
    assert r.status_code == status
    assert why in r.text
    assert await _stored(tmp_path / "ring") == []


class _DownSink:
    kind = "down"

    async def put(self, events) -> None:
        raise SinkDown("team database: connection refused")


async def test_store_down_is_503_with_retry_after() -> None:
    receiver = DrainReceiver(_DownSink(), ReceiverSettings(secret=SECRET, header=HEADER))
    runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
    try:
        r = await _Served(receiver, port).post(supabase_otlp(mixed_events(3)).SerializeToString(), PROTO)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert _status_class().FromString(r.content).code == 14  # UNAVAILABLE
    finally:
        await runner.cleanup()


def test_protobuf_without_opentelemetry_proto_is_a_clear_415(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.proto.collector.logs.v1", None)
    with pytest.raises(otlp.UnsupportedMedia, match="pip install opentelemetry-proto"):
        otlp.decode_request(b"", "application/x-protobuf")


def test_the_mapping_counts_bad_records_and_refuses_bad_shapes() -> None:
    events, rejected, why = otlp_events({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"body": {"stringValue": "ok"}}, 7, {"body": {"intValue": "seven"}}, {"timeUnixNano": "-1", "body": {"stringValue": "x"}},
    ]}]}]})
    assert [e["event_message"] for e in events] == ["ok"] and rejected == 3 and "not an object" in why
    deep: dict[str, Any] = {"stringValue": "bottom"}
    for _ in range(40):
        deep = {"arrayValue": {"values": [deep]}}
    assert otlp_events({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": deep}]}]}]})[1] == 1
