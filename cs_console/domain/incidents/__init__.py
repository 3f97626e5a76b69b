"""Incidents: severities, status workflow, timers, triage, timeline, post-mortem.

Pure domain code: no I/O. An incident is the fold of its timeline events;
`workflow` decides which events a request produces, checking every rule.
"""

from cs_console.domain.incidents.errors import (
    BadReference,
    ConcurrentAppend,
    EventFormatError,
    IncidentError,
    StoreUnavailable,
    TransitionError,
    UnknownIncident,
    ValidationError,
)
from cs_console.domain.incidents.events import EventType, IncidentEvent
from cs_console.domain.incidents.model import Incident, Role, Source, fold, parse_role
from cs_console.domain.incidents.reference import format_ref, normalize_ref, parse_ref
from cs_console.domain.incidents.severity import POLICIES, Severity, parse_severity
from cs_console.domain.incidents.status import Status, parse_status

__all__ = [
    "BadReference", "ConcurrentAppend", "EventFormatError", "EventType", "Incident", "IncidentError",
    "IncidentEvent", "POLICIES", "Role", "Severity", "Source", "Status", "StoreUnavailable", "TransitionError",
    "UnknownIncident", "ValidationError", "fold", "format_ref", "normalize_ref", "parse_ref",
    "parse_role", "parse_severity", "parse_status",
]
