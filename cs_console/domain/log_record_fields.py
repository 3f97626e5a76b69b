"""A log record as the detail dialog shows it: the known fields labelled, and the record's
nested JSON (a JSON message kept as text included) as an indented key: value tree.

GoTrue and edge logs keep the interesting part (the e-mail under attack, the client IP)
inside an `event_message` that is a JSON string; here it is parsed and laid out like the
rest. The look-ups are the ones the `g` counts and the `ip=` / `user=` terms use
(log_grouping). Pure: plain strings out, made safe by the TUI when it renders them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cs_console.domain.log_grouping import record_ip, record_method, record_path, record_user
from cs_console.domain.log_record import LogRecord, iso_utc

_MAX_JSON_CHARS = 64 * 1024
MAX_TREE_LINES = 2000
_MAX_DEPTH = 12


@dataclass(frozen=True, slots=True)
class ShownField:
    label: str
    value: str
    filter_field: str | None  # the filter language's field for it (None: not a filter field)


def _status(record: LogRecord) -> str | None:
    return None if record.status is None else str(record.status)


# (label, value of a record, filter field), in the order an on-call reader wants them.
_FIELDS: tuple[tuple[str, Callable[[LogRecord], str | None], str | None], ...] = (
    ("time", lambda r: iso_utc(r.ts), None),
    ("level", lambda r: r.level.label, "level"),
    ("source", lambda r: r.source, "source"),
    ("ip", record_ip, "ip"),
    ("user", record_user, "user"),
    ("function", lambda r: r.function, "function"),
    ("status", _status, "status"),
    ("method", record_method, None),
    ("path", record_path, None),
    ("request id", lambda r: r.request_id, "request_id"),
)


def known_fields(record: LogRecord) -> list[ShownField]:
    """The known fields the record has, labelled, in reading order."""
    out = []
    for label, get, filter_field in _FIELDS:
        value = get(record)
        if value is not None and str(value).strip():
            out.append(ShownField(label, str(value), filter_field))
    return out


def parsed_json_text(value: Any) -> Any:
    """A JSON object or array kept as text, parsed; None when `value` is not one."""
    if not isinstance(value, str) or len(value) > _MAX_JSON_CHARS:
        return None
    text = value.strip()
    if not text or text[0] not in "{[":
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tree_lines(value: Any, *, limit: int = MAX_TREE_LINES) -> list[tuple[int, str, str]]:
    """(depth, key, value) lines of nested dicts and lists; a container's line has value "".

    Strings holding JSON are expanded in place. At most `limit` lines (a last line says
    how many were left out)."""
    lines: list[tuple[int, str, str]] = []
    left_out = 0

    def walk(key: str, item: Any, depth: int) -> None:
        nonlocal left_out
        if len(lines) >= limit:
            left_out += 1
            return
        nested = parsed_json_text(item) if isinstance(item, str) else None
        if nested is not None:
            item = nested
            key = f"{key} (JSON text)" if key else key
        if isinstance(item, Mapping) and depth < _MAX_DEPTH:
            lines.append((depth, key, "" if item else "{}"))
            for k, v in item.items():
                walk(str(k), v, depth + 1)
        elif isinstance(item, list) and depth < _MAX_DEPTH:
            lines.append((depth, key, "" if item else "[]"))
            for i, v in enumerate(item):
                walk(f"[{i}]", v, depth + 1)
        else:
            lines.append((depth, key, _scalar(item) if not isinstance(item, (Mapping, list)) else json.dumps(item, default=str)))

    if isinstance(value, Mapping):
        for k, v in value.items():
            walk(str(k), v, 0)
    else:
        walk("", value, 0)
    if left_out:
        lines.append((0, "…", f"{left_out:,} more line(s) not shown (c copies the whole record)"))
    return lines


def record_tree(record: LogRecord) -> list[tuple[int, str, str]]:
    """The message and the source's own fields as a tree (JSON kept as text expanded)."""
    fields = record.fields()
    shown: dict[str, Any] = {"message": fields.get("message", "")}
    raw = fields.get("raw")
    if isinstance(raw, Mapping) and raw:
        # event_message usually repeats the message; kept when it says more (JSON text).
        shown["fields"] = {k: v for k, v in raw.items() if not (k == "event_message" and v == shown["message"])}
    return tree_lines(shown)
