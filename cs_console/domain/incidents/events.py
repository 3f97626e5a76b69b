"""Timeline events: the only thing stored. An incident is the fold of its events.

One event = one JSON object (`to_json` / `from_json`), the same in the local
JSON-lines log and in the team store's events table. `seq` is the position in
the incident's log (1-based), assigned by the store; `ts` never goes backwards
along `seq` (the workflow clamps a skewed clock and says so in the event).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Mapping

from cs_console.domain.incidents.errors import EventFormatError

FORMAT_VERSION = 1


class EventType(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ACKNOWLEDGED = "acknowledged"
    ROLE_ASSIGNED = "role_assigned"
    NOTE = "note"
    ALERT_ATTACHED = "alert_attached"
    METRIC_SNAPSHOT = "metric_snapshot"
    RUNBOOK_STEP = "runbook_step"
    STAKEHOLDER_UPDATE = "stakeholder_update"
    CHECKLIST_ITEM = "checklist_item"
    DETAILS_EDITED = "details_edited"
    POSTMORTEM_EDITED = "postmortem_edited"
    POSTMORTEM_WAIVED = "postmortem_waived"
    PIN_CHANGED = "pin_changed"
    DUPLICATE_MERGED = "duplicate_merged"  # on the target of a merge


# Pinned by default: the post-mortem timeline is built from pinned events.
PINNED_BY_DEFAULT = frozenset({
    EventType.CREATED, EventType.STATUS_CHANGED, EventType.SEVERITY_CHANGED,
    EventType.ACKNOWLEDGED, EventType.STAKEHOLDER_UPDATE, EventType.POSTMORTEM_WAIVED,
})


def to_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: every incident time is timezone-aware UTC")
    return at.astimezone(timezone.utc)


def format_ts(at: datetime) -> str:
    return to_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError, TypeError):
        raise EventFormatError(f"bad timestamp {text!r}") from None
    if at.tzinfo is None:
        raise EventFormatError(f"timestamp without timezone {text!r}")
    return at.astimezone(timezone.utc)


def json_safe(value: Any, depth: int = 0) -> Any:
    """Plain JSON data from evidence of any shape (alerts, snapshots): never raises."""
    if depth > 6:
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_ts(value) if value.tzinfo else value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, depth + 1) for v in value]
    return str(value)


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    type: EventType
    ts: datetime
    actor: str
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0  # 0 = a draft the store has not placed yet
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    generated: bool = False  # produced by the console, not typed by a person
    pinned: bool = False

    def placed(self, seq: int) -> "IncidentEvent":
        return replace(self, seq=seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "id": self.id,
            "ts": format_ts(self.ts),
            "type": self.type.value,
            "actor": self.actor,
            "generated": self.generated,
            "pinned": self.pinned,
            "data": json_safe(dict(self.data)),
        }

    @classmethod
    def from_json(cls, obj: Any) -> "IncidentEvent":
        if not isinstance(obj, dict):
            raise EventFormatError("event is not a JSON object")
        try:
            etype = EventType(obj["type"])
        except (KeyError, ValueError):
            raise EventFormatError(f"unknown event type {obj.get('type')!r}") from None
        seq, data = obj.get("seq"), obj.get("data", {})
        if not isinstance(seq, int) or seq < 1:
            raise EventFormatError(f"bad event seq {seq!r}")
        if not isinstance(data, dict):
            raise EventFormatError("event data is not an object")
        return cls(
            type=etype, ts=parse_ts(obj.get("ts", "")), actor=str(obj.get("actor", "")), data=data,
            seq=seq, id=str(obj.get("id") or uuid.uuid4().hex),
            generated=bool(obj.get("generated", False)), pinned=bool(obj.get("pinned", False)),
        )
