"""OTLP/HTTP logs on the wire: decode an ExportLogsServiceRequest, encode the answers.

Supabase's OTLP drain sends `application/x-protobuf` (optionally gzip'd);
OTLP/HTTP also allows `application/json`. Both are turned into the OTLP/JSON
form that domain/otlp_logs.py maps to drain events. The answer is in the
request's encoding: an ExportLogsServiceResponse (with partialSuccess when
records were rejected) on 200, a google.rpc.Status on a refusal, as the OTLP
spec asks.

The protobuf classes come from `opentelemetry-proto` (the OpenTelemetry
project's own generated code; it brings `protobuf`). It is imported on the
first protobuf request, so a receiver without it still takes JSON and answers
protobuf with a 415 saying what to install.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cs_console.domain.drain_events import DrainBatchError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MISSING_PROTO = "OTLP protobuf needs the opentelemetry-proto package (pip install opentelemetry-proto); OTLP/JSON works without it"

# google.rpc.Code values for the Status body of a refusal.
_RPC_CODE = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 503: 14}


class UnsupportedMedia(Exception):
    """A Content-Type the OTLP endpoint does not take, or protobuf without opentelemetry-proto (-> 415)."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_otlp(path: str, content_type: str | None) -> bool:
    """A request for the OTLP endpoint: POST .../v1/logs, or protobuf to any path (Supabase posts to the URL as given)."""
    return path.rstrip("/").endswith("/v1/logs") or media_type(content_type) == PROTOBUF


def _classes() -> tuple[Any, Any, Any]:
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    except ImportError:
        raise UnsupportedMedia(MISSING_PROTO) from None
    return json_format, logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse


def _hex_ids(request: dict[str, Any]) -> None:
    """protobuf's JSON mapping gives bytes as base64; OTLP/JSON has traceId/spanId in hex."""
    for rl in request.get("resourceLogs", ()):
        for sl in rl.get("scopeLogs", ()):
            for record in sl.get("logRecords", ()):
                for key in ("traceId", "spanId"):
                    if key in record:
                        record[key] = base64.b64decode(record[key]).hex()


def decode_request(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The request in OTLP/JSON form. DrainBatchError (-> 400) for what does not decode, UnsupportedMedia (-> 415)."""
    kind = media_type(content_type)
    if kind == PROTOBUF:
        json_format, request_class, _ = _classes()
        message = request_class()
        try:
            message.ParseFromString(body)
        except Exception:  # noqa: BLE001 - protobuf raises DecodeError, or RuntimeError on deep nesting
            raise DrainBatchError("body is not a protobuf ExportLogsServiceRequest") from None
        request = json_format.MessageToDict(message, use_integers_for_enums=True)
        _hex_ids(request)
        return request
    if kind in (JSON, ""):
        try:
            return json.loads(body)
        except UnicodeDecodeError:
            raise DrainBatchError("body is not UTF-8 JSON") from None
        except RecursionError:
            raise DrainBatchError("body nests too deeply") from None
        except ValueError as exc:
            raise DrainBatchError(f"body is not JSON ({str(exc)[:80]})") from None
    raise UnsupportedMedia(f"Content-Type {kind[:60]!r} is not OTLP ({PROTOBUF} or {JSON})")


def success_body(content_type: str | None, rejected: int, reason: str) -> tuple[bytes, str]:
    """An ExportLogsServiceResponse: empty, or with partialSuccess when records were rejected."""
    partial = {"rejectedLogRecords": rejected, "errorMessage": reason} if rejected else None
    if media_type(content_type) == PROTOBUF:
        json_format, _, response_class = _classes()
        message = response_class()
        if partial:
            message.partial_success.rejected_log_records = rejected
            message.partial_success.error_message = reason
        return message.SerializeToString(), PROTOBUF
    return json.dumps({"partialSuccess": partial} if partial else {}).encode(), JSON


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def status_body(content_type: str | None, http_status: int, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status {code, message} for a refusal, protobuf or JSON as the request was."""
    code = _RPC_CODE.get(http_status, 2)
    if media_type(content_type) == PROTOBUF:
        text = message.encode("utf-8")
        # Status: field 1 (code, varint), field 2 (message, length-delimited); google.rpc is not in opentelemetry-proto.
        return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text, PROTOBUF
    return json.dumps({"code": code, "message": message}).encode(), JSON


__all__ = ["JSON", "MISSING_PROTO", "PROTOBUF", "UnsupportedMedia", "decode_request", "is_otlp", "media_type", "status_body", "success_body"]
