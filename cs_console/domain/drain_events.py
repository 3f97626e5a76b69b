"""Supabase Log Drain events: the batch a drain POSTs, checked, and each event as a LogRecord.

A custom-endpoint drain POSTs a JSON array of log events (at most 250 per
request or one second's worth; see tests/fixtures/drain/README.md for the
sources). Each event is a Logflare log event body: `id` (a UUID),
`timestamp` (microseconds since the epoch), `event_message`, `metadata`
(the source's own fields) and often `project`. The body does not name the
Supabase table the event came from, so `table_of` infers it from the shape
of `metadata` (the same shapes the logs endpoint reads), unless the event or
the drain URL (`?source=`) says it.

    parse_batch(data) -> list[dict]       raises DrainBatchError (-> 400)
    event_id(event) -> str                 the event's id, or a stable hash of it
    table_of(event) -> str                 edge_logs, function_edge_logs, postgres_logs, ...
    event_record(event, table) -> LogRecord
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from cs_console.domain.log_record import LogRecord
from cs_console.domain.supabase_log_rows import parse_supabase_row

# One request of a drain holds 250 events; a sender batching differently still fits
# ten times that. More is refused (400): a runaway sender, not a drain.
MAX_EVENTS_PER_BATCH = 2500
MAX_ID_CHARS = 128
_SAFE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no space/tab: it goes in a line prefix

# Console table names a drain URL's `?source=` (or an event's `source`) may give.
KNOWN_TABLES: tuple[str, ...] = (
    "edge_logs", "function_edge_logs", "function_logs", "auth_logs", "postgres_logs",
    "postgrest_logs", "storage_logs", "realtime_logs", "pgbouncer_logs", "supavisor_logs",
)
_TABLE_ALIASES = {
    "edge": "edge_logs", "api": "edge_logs", "function": "function_logs", "auth": "auth_logs",
    "postgres": "postgres_logs", "postgrest": "postgrest_logs", "storage": "storage_logs",
    "realtime": "realtime_logs", "pgbouncer": "pgbouncer_logs", "supavisor": "supavisor_logs",
}


# Console source names -> drain tables (None: every table).
TABLES_OF_SOURCE: dict[str, frozenset[str] | None] = {
    "drain": None,
    "all": None,
    "function": frozenset({"function_logs", "function_edge_logs"}),
    "edge": frozenset({"edge_logs"}),
    "auth": frozenset({"auth_logs"}),
    "postgres": frozenset({"postgres_logs"}),
}
DEFAULT_TAIL = 1000  # without since=, a tail starts this many events back (like the logs endpoint's page)


# The Logs pane says a drain has gone quiet when its newest event is this old (Supabase sends
# a batch a second while there are logs; a minute of nothing is worth saying).
QUIET_AFTER_S = 60.0


def quiet_since(newest_us: int, started: float | None, now: float) -> float | None:
    """Seconds since the newest event read (µs since the epoch), or since the tail `started`
    when none was read yet; None before the tail started."""
    if newest_us:
        return max(0.0, now - newest_us / 1e6)
    if started is not None:
        return max(0.0, now - started)
    return None


def drain_status_text(lag: float | None, quiet: float | None, stored_up_to: str | None = None) -> str:
    """The Logs pane's word on a drain tail: its lag, or how long it has been quiet, and that
    the logs endpoint is not polled (the live tail is the drain's alone).

    The lag is a live event's (event time to display); events read back from storage at
    startup have none: until a live one comes the line says how far the store reaches
    (`stored_up_to`, a clock time the pane formats), not their age as if it were lag."""
    from cs_console.domain.durations import one_unit

    if quiet is not None and quiet >= QUIET_AFTER_S:
        state = f"no events for {one_unit(quiet)}"
    elif lag is not None:
        state = f"lag {one_unit(lag)}"
    elif stored_up_to:
        state = f"stored up to {stored_up_to}"
    else:
        state = "waiting for events"
    return f"drain · {state} · not polling"


class DrainBatchError(ValueError):
    """A body that is not a drain batch; the message is short and safe to log."""


class SinkDown(Exception):
    """A drain store cannot take a batch now (the receiver answers 503; the sender retries)."""


def parse_batch(data: bytes) -> list[dict[str, Any]]:
    """The events of one POST body (already decompressed): a JSON array of objects."""
    try:
        batch = json.loads(data)
    except UnicodeDecodeError:
        raise DrainBatchError("body is not UTF-8 JSON") from None
    except RecursionError:
        raise DrainBatchError("body nests too deeply") from None
    except ValueError as exc:
        raise DrainBatchError(f"body is not JSON ({str(exc)[:80]})") from None
    if isinstance(batch, dict):
        batch = [batch]  # one event on its own: accepted, as a batch of one
    if not isinstance(batch, list):
        raise DrainBatchError(f"body is a JSON {type(batch).__name__}, not an array of events")
    if len(batch) > MAX_EVENTS_PER_BATCH:
        raise DrainBatchError(f"{len(batch)} events in one request (at most {MAX_EVENTS_PER_BATCH})")
    for i, event in enumerate(batch):
        if not isinstance(event, dict):
            raise DrainBatchError(f"event {i} is a JSON {type(event).__name__}, not an object")
        ident = event.get("id")
        if ident is not None and not (isinstance(ident, (str, int)) and not isinstance(ident, bool) and _SAFE_ID.match(str(ident))):
            raise DrainBatchError(f"event {i}: id must be a short printable string")
    return batch


def event_id(event: Mapping[str, Any]) -> str:
    """The event's own id; without one, a hash of its content (a retried batch hashes alike)."""
    ident = event.get("id")
    if ident is not None and not isinstance(ident, bool):
        return str(ident)
    digest = hashlib.blake2b(json.dumps(event, sort_keys=True, default=str).encode(), digest_size=16)
    return "h-" + digest.hexdigest()


def normal_table(name: Any) -> str | None:
    """A table name from `?source=` or an event's `source`, if it is one we know."""
    if not isinstance(name, str):
        return None
    name = name.strip().lower()
    if name in KNOWN_TABLES:
        return name
    return _TABLE_ALIASES.get(name)


def table_of(event: Mapping[str, Any], hint: str | None = None) -> str:
    """The Supabase table an event belongs to: the hint, the event's own `source`, else its shape."""
    for given in (hint, event.get("source"), event.get("source_name")):
        table = normal_table(given)
        if table:
            return table
    meta = event.get("metadata")
    if isinstance(meta, list) and meta and isinstance(meta[0], dict):
        meta = meta[0]  # BigQuery-era events carried metadata as a one-element array
    if not isinstance(meta, dict):
        return "supabase"
    if isinstance(meta.get("parsed"), (dict, list)) or "error_severity" in meta:
        return "postgres_logs"
    if meta.get("function_id") or meta.get("deployment_id"):
        # The runtime's own lines carry a level / event_type; the relay's request lines a request.
        if "request" in meta or "response" in meta or "execution_time_ms" in meta:
            return "function_edge_logs"
        return "function_logs"
    if "auth_event" in meta or meta.get("component") == "api" or "msg" in meta:
        return "auth_logs"
    if "request" in meta and "response" in meta:
        return "edge_logs"
    return "supabase"


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value


def _row(event: Mapping[str, Any], table: str) -> dict[str, Any]:
    """The flat columns parse_supabase_row reads, picked out of the event's metadata."""
    meta = _first(event.get("metadata"))
    meta = meta if isinstance(meta, dict) else {}
    request = _first(meta.get("request"))
    request = request if isinstance(request, dict) else {}
    response = _first(meta.get("response"))
    response = response if isinstance(response, dict) else {}
    parsed = _first(meta.get("parsed"))
    parsed = parsed if isinstance(parsed, dict) else {}
    row: dict[str, Any] = {
        "id": event.get("id"),
        "timestamp": event.get("timestamp"),
        "event_message": event.get("event_message", event.get("message", "")),
        "source": table,
    }
    status = response.get("status_code", meta.get("status_code"))
    if status is not None:
        row["status_code"] = status
    if isinstance(meta.get("status"), int):
        row["status"] = meta["status"]
    for key in ("level", "event_type", "function_id", "execution_id", "request_id"):
        if meta.get(key) is not None:
            row[key] = meta[key]
    if parsed.get("error_severity") is not None:
        row["error_severity"] = parsed["error_severity"]
    elif meta.get("error_severity") is not None:
        row["error_severity"] = meta["error_severity"]
    if request.get("pathname") is not None:
        row["pathname"] = request["pathname"]
    path = request.get("path", meta.get("path"))
    if path is not None:
        row["path"] = path
    if table == "function_edge_logs" and "pathname" not in row and isinstance(request.get("url"), str):
        row["pathname"] = request["url"].split("?", 1)[0]
    return row


def event_record(event: Mapping[str, Any], table: str, line: Any = None) -> LogRecord:
    """One drain event as the console's LogRecord.

    `line` (the stored JSON text, or where it is in a segment file) stands in
    for `raw`: the detail view reads the whole event back when it is opened,
    so the buffer does not hold every event's metadata.
    """
    record = parse_supabase_row(_row(event, table), table)
    if line is not None:
        from cs_console.domain.log_record import EMPTY_RAW

        record.raw = EMPTY_RAW
        record.line = line
    else:
        record.raw = dict(event)
    return record


__all__ = [
    "DEFAULT_TAIL",
    "DrainBatchError",
    "QUIET_AFTER_S",
    "SinkDown",
    "TABLES_OF_SOURCE",
    "KNOWN_TABLES",
    "MAX_EVENTS_PER_BATCH",
    "event_id",
    "drain_status_text",
    "quiet_since",
    "event_record",
    "normal_table",
    "parse_batch",
    "table_of",
]
