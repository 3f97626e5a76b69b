"""Counting log records: group by a field (ip, user, function, status...), and matches per minute.

The on-call questions behind it: which IP is hammering the sign-in endpoint, which
account it is after, which function fails most. The IP and the user are rarely
columns of their own: they sit in a source's fields (edge logs' `x_real_ip`, GoTrue's
`remote_addr`, `auth_event.actor_username`), nested in Supabase's metadata, or inside
a JSON message kept as text. `record_ip` and `record_user` look in that order, and
the filter language's `ip=` and `user=` use the same look-up. Pure.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cs_console.domain.log_record import LogRecord

# First match wins, in this order (names as the platform's sources write them; dots and
# dashes are read as underscores so `request.headers.x-real-ip` matches too).
IP_KEYS = ("x_real_ip", "cf_connecting_ip", "remote_addr", "client_ip", "ip_address", "ip", "x_forwarded_for")
USER_KEYS = ("actor_username", "user_email", "email", "actor_name", "username", "user_name")
METHOD_KEYS = ("method", "request_method")
PATH_KEYS = ("path", "pathname")
_MAX_DEPTH = 8
_MAX_JSON_CHARS = 64 * 1024
_IPV4 = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _norm(key: str) -> str:
    return key.rsplit(".", 1)[-1].replace("-", "_").lower()


def _find(value: Any, keys: tuple[str, ...], depth: int = 0) -> str | None:
    """The value of the first of `keys` (by priority) anywhere in nested dicts and lists."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        found: dict[str, str] = {}
        nested: list[Any] = []
        for k, v in value.items():
            name = _norm(str(k))
            if name in keys and isinstance(v, (str, int)) and str(v).strip() and name not in found:
                found[name] = str(v).strip()
            elif isinstance(v, (Mapping, list)):
                nested.append(v)
        for key in keys:
            if key in found:
                return found[key]
        for v in nested:
            hit = _find(v, keys, depth + 1)
            if hit is not None:
                return hit
    elif isinstance(value, list):
        for item in value[:50]:
            hit = _find(item, keys, depth + 1)
            if hit is not None:
                return hit
    return None


def _json_text(text: Any) -> Any:
    if not isinstance(text, str) or not text.startswith("{") or len(text) > _MAX_JSON_CHARS:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _look_up(record: LogRecord, keys: tuple[str, ...], pattern: re.Pattern[str] | None) -> str | None:
    hit = _find(record.raw, keys)
    if hit is None:
        for text in (record.raw.get("event_message") if isinstance(record.raw, Mapping) else None, record.message):
            hit = _find(_json_text(text), keys)
            if hit is not None:
                break
    if hit is None and pattern is not None:
        m = pattern.search(record.message)
        hit = m.group(0) if m else None
    if hit is not None and keys is IP_KEYS:
        hit = hit.split(",")[0].strip()  # X-Forwarded-For: the client comes first
    return hit


def record_ip(record: LogRecord) -> str | None:
    """The client IP of a request's record (its fields first, then an IPv4 in the message)."""
    return _look_up(record, IP_KEYS, _IPV4)


def record_user(record: LogRecord) -> str | None:
    """The account a record is about (GoTrue's actor, an e-mail field, then an e-mail in the text)."""
    value = _look_up(record, USER_KEYS, _EMAIL)
    return value.lower() if value else None


def record_method(record: LogRecord) -> str | None:
    """The HTTP method of a request's record (edge, auth and function logs carry one)."""
    return _look_up(record, METHOD_KEYS, None)


def record_path(record: LogRecord) -> str | None:
    return _look_up(record, PATH_KEYS, None)


def _status(record: LogRecord) -> str | None:
    return None if record.status is None else str(record.status)


GROUP_FIELDS: dict[str, Callable[[LogRecord], str | None]] = {
    "ip": record_ip,
    "user": record_user,
    "function": lambda r: r.function,
    "status": _status,
    "level": lambda r: r.level.name.lower(),
    "source": lambda r: r.source,
    "request_id": lambda r: r.request_id,
}


REGEX_FIELD = "regex"
_MAX_PATTERN_CHARS = 500


class RegexFieldError(ValueError):
    """A regex that cannot group: its message is short and shown as it is."""


def regex_field(pattern: str) -> Callable[[LogRecord], str | None]:
    """A field read from the message text: the regex's first named group, else its first group."""
    if not pattern.strip():
        raise RegexFieldError("type a regex with a group, e.g. user (\\S+@\\S+)")
    if len(pattern) > _MAX_PATTERN_CHARS:
        raise RegexFieldError(f"regex too long ({len(pattern):,} chars; at most {_MAX_PATTERN_CHARS})")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        where = f" at position {exc.pos + 1}" if exc.pos is not None else ""
        raise RegexFieldError(f"bad regex{where}: {exc.msg}") from None
    except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
        raise RegexFieldError(f"bad regex: {exc}") from None
    if compiled.groups == 0:
        raise RegexFieldError("the regex needs a group: ( … ) or (?P<name> … ); its match is the value")
    # groupindex keeps the order of definition: the first named group wins.
    group: int | str = next(iter(compiled.groupindex), 1)
    search = compiled.search

    def get(record: LogRecord) -> str | None:
        m = search(record.message)
        if m is None:
            return None
        value = m.group(group)
        return value if value else None

    return get


@dataclass(frozen=True, slots=True)
class Group:
    value: str
    count: int
    share_pct: float
    per_min: float
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class Grouping:
    field: str
    groups: tuple[Group, ...]  # by count, then value
    counted: int  # records looked at
    without: int  # of those, records without the field
    limited: bool  # there were more records than were looked at (the newest were)


def group_by(records: Iterable[LogRecord], field: str, *, limit: int | None = None,
             get: Callable[[LogRecord], str | None] | None = None) -> Grouping:
    """Counts per value of `field` over `records` (newest first or any order), at most `limit` records.

    get: the value of a field not in GROUP_FIELDS (a regex_field)."""
    get = get or GROUP_FIELDS[field]
    counts: Counter[str] = Counter()
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    counted = without = 0
    limited = False
    for record in records:
        if limit is not None and counted >= limit:
            limited = True
            break
        counted += 1
        value = get(record)
        if value is None:
            without += 1
            continue
        counts[value] += 1
        ts = record.ts
        if value not in first or ts < first[value]:
            first[value] = ts
        if value not in last or ts > last[value]:
            last[value] = ts
    total = max(1, counted)
    groups = []
    for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        span_min = max((last[value] - first[value]).total_seconds() / 60, 1.0)
        groups.append(Group(value, count, 100.0 * count / total, count / span_min, first[value], last[value]))
    return Grouping(field, tuple(groups), counted, without, limited)


def per_minute(records: Iterable[LogRecord], *, minutes: int = 60, now: datetime) -> list[int]:
    """Matches per minute over the last `minutes` minutes before `now`, oldest first."""
    start = (now - timedelta(minutes=minutes)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    bins = [0] * minutes
    for record in records:
        i = int((record.ts - start).total_seconds() // 60)
        if 0 <= i < minutes:
            bins[i] += 1
    return bins
