"""OTLP logs (an ExportLogsServiceRequest) as drain events, the same dicts a custom endpoint posts.

Input is the request in OTLP/JSON form (lowerCamelCase keys, 64-bit ints as
strings or numbers, AnyValue as {"stringValue": ...}); the protobuf encoding
is turned into that form by backends/drain/otlp.py. Each logRecord becomes
one event:

    id           the body's own `id` (Supabase's OTLP drain puts the Logflare event,
                 id included, in the body), else the `log.record.uid` attribute, else
                 "otlp-" + a hash of the record's content with its resource and scope:
                 OTLP has no event id, so a resent record hashes alike and is stored
                 once (and two records identical in every field are stored once too)
    timestamp    timeUnixNano (else observedTimeUnixNano) in microseconds
    event_message  the body's `event_message`, else eventName (where Logflare puts it),
                 else a string body, else the body as JSON
    metadata     the body's `metadata`, plus `level` from severityText/severityNumber
    attributes / resource / scope   the record's attributes, the resource's, the scope name
    source       a known table named by a `source` attribute or the service name, if any
                 (else the table is recognised from metadata's shape, as for the custom endpoint)

    otlp_events(request) -> (events, rejected, first_reason)   raises DrainBatchError (-> 400)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from cs_console.domain.drain_events import MAX_EVENTS_PER_BATCH, DrainBatchError, normal_table

MAX_DEPTH = 32
_SAFE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# severityNumber ranges (OTLP logs data model): 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
_SEVERITY = ((21, "fatal"), (17, "error"), (13, "warning"), (9, "info"), (5, "debug"), (1, "trace"))
_SEVERITY_NAMES = {  # the enum's names, which a sender may give in JSON in place of the number
    f"SEVERITY_NUMBER_{name}{n or ''}": base + (n - 1 if n else 0)
    for name, base in (("TRACE", 1), ("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21))
    for n in (0, 1, 2, 3, 4)
}


class RecordError(ValueError):
    """One logRecord that cannot be taken (it is counted in partialSuccess, not stored)."""


def any_value(value: Any, depth: int = 0) -> Any:
    """An OTLP AnyValue as plain JSON: strings, numbers, bools, lists, objects (bytes stay base64)."""
    if depth > MAX_DEPTH:
        raise RecordError("value nests too deeply")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordError(f"an AnyValue is a JSON {type(value).__name__}, not an object")
    if not value:
        return None
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            raise RecordError("intValue is not an integer") from None
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            raise RecordError("doubleValue is not a number") from None
    if "bytesValue" in value:
        return str(value["bytesValue"])
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values") or []
        if not isinstance(items, list):
            raise RecordError("arrayValue.values is not a list")
        return [any_value(v, depth + 1) for v in items]
    if "kvlistValue" in value:
        return key_values((value["kvlistValue"] or {}).get("values"), depth + 1)
    raise RecordError("an AnyValue of no known kind")


def key_values(items: Any, depth: int = 0) -> dict[str, Any]:
    """A repeated KeyValue ([{"key": k, "value": AnyValue}]) as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise RecordError("attributes are not a list")
    out: dict[str, Any] = {}
    for kv in items:
        if not isinstance(kv, Mapping) or not isinstance(kv.get("key"), str):
            raise RecordError("an attribute without a string key")
        out[kv["key"]] = any_value(kv.get("value"), depth + 1)
    return out


def _nanos(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise RecordError("timeUnixNano is not an integer") from None
    if n < 0:
        raise RecordError("timeUnixNano is negative")
    return n


def _level(record: Mapping[str, Any]) -> str | None:
    text = record.get("severityText")
    if isinstance(text, str) and text.strip():
        return text.strip().lower()[:20]
    number = record.get("severityNumber")
    if isinstance(number, str):
        number = _SEVERITY_NAMES.get(number)
    if isinstance(number, int) and not isinstance(number, bool):
        for floor, name in _SEVERITY:
            if number >= floor:
                return name
    return None


def _service_name(resource: Mapping[str, Any]) -> Any:
    name = resource.get("service.name")
    service = resource.get("service")
    if name is None and isinstance(service, Mapping):
        name = service.get("name")  # Logflare's older resource: service = {name, version}
    return name


def _event(record: Any, resource: dict[str, Any], scope: str | None) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise RecordError(f"a logRecord is a JSON {type(record).__name__}, not an object")
    body = any_value(record.get("body"))
    attributes = key_values(record.get("attributes"))
    time_ns = _nanos(record.get("timeUnixNano")) or _nanos(record.get("observedTimeUnixNano"))
    event: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    if body is None and not attributes and not record.get("eventName"):
        raise RecordError("a logRecord with no body, no eventName and no attributes")
    message = event.get("event_message")
    if not isinstance(message, str):
        if isinstance(record.get("eventName"), str) and record["eventName"]:
            message = record["eventName"]
        elif isinstance(body, str):
            message = body
        elif body is not None and not isinstance(body, dict):
            message = json.dumps(body, ensure_ascii=False, default=str)
        else:
            message = ""
    event["event_message"] = message
    if time_ns:
        event["timestamp"] = time_ns // 1000
    meta = event.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else ({} if meta is None else {"value": meta})
    level = _level(record)
    if level and "level" not in meta:
        meta["level"] = level
    event["metadata"] = meta
    if attributes:
        event["attributes"] = attributes
    if resource:
        event["resource"] = resource
    if scope:
        event["scope"] = scope
    for key in ("traceId", "spanId"):
        if isinstance(record.get(key), str) and record[key]:
            event[key] = record[key]
    ident = event.get("id")
    if not (isinstance(ident, str) and _SAFE_ID.match(ident)):
        uid = attributes.get("log.record.uid")
        if isinstance(uid, str) and _SAFE_ID.match(uid):
            event["id"] = uid
        else:
            canonical = json.dumps([record, resource, scope], sort_keys=True, ensure_ascii=False, default=str)
            event["id"] = "otlp-" + hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    if not normal_table(event.get("source")):
        event.pop("source", None)
        for given in (attributes.get("source"), attributes.get("source_name"), resource.get("source"), _service_name(resource), scope):
            table = normal_table(given)
            if table:
                event["source"] = table
                break
    return event


def otlp_events(request: Any) -> tuple[list[dict[str, Any]], int, str]:
    """The events of an ExportLogsServiceRequest, how many records were rejected, and why (the first)."""
    if not isinstance(request, Mapping):
        raise DrainBatchError(f"body is a JSON {type(request).__name__}, not an ExportLogsServiceRequest object")
    resource_logs = request.get("resourceLogs", request.get("resource_logs")) or []
    if not isinstance(resource_logs, list):
        raise DrainBatchError("resourceLogs is not a list")
    events: list[dict[str, Any]] = []
    rejected = 0
    reason = ""
    total = 0
    for rl in resource_logs:
        if not isinstance(rl, Mapping):
            raise DrainBatchError("a resourceLogs entry is not an object")
        try:
            resource = key_values((rl.get("resource") or {}).get("attributes"))
        except (RecordError, AttributeError) as exc:
            raise DrainBatchError(f"resource attributes: {exc}") from None
        scope_logs = rl.get("scopeLogs", rl.get("scope_logs")) or []
        if not isinstance(scope_logs, list):
            raise DrainBatchError("scopeLogs is not a list")
        for sl in scope_logs:
            if not isinstance(sl, Mapping):
                raise DrainBatchError("a scopeLogs entry is not an object")
            scope = sl.get("scope") or {}
            scope_name = scope.get("name") if isinstance(scope, Mapping) and isinstance(scope.get("name"), str) else None
            records = sl.get("logRecords", sl.get("log_records")) or []
            if not isinstance(records, list):
                raise DrainBatchError("logRecords is not a list")
            total += len(records)
            if total > MAX_EVENTS_PER_BATCH:
                raise DrainBatchError(f"over {MAX_EVENTS_PER_BATCH} log records in one request")
            for record in records:
                try:
                    events.append(_event(record, resource, scope_name or None))
                except RecordError as exc:
                    rejected += 1
                    reason = reason or str(exc)
    return events, rejected, reason


__all__ = ["RecordError", "any_value", "key_values", "otlp_events"]
