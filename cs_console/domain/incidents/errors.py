"""Errors of the incident domain. Each str() is one line, ready for the operator."""

from __future__ import annotations


class IncidentError(Exception):
    """Base: a refused request, phrased for the operator (CLI exit 2)."""


class BadReference(IncidentError):
    """Text that is not an INC-YYYY-NNNN reference."""


class UnknownIncident(IncidentError):
    """A well-formed reference that no incident has."""


class TransitionError(IncidentError):
    """A status change the workflow does not allow."""


class ValidationError(IncidentError):
    """A missing or malformed field (empty title, reason required, ...)."""


class EventFormatError(IncidentError):
    """A stored event that cannot be read back (corrupt store)."""


class ConcurrentAppend(Exception):
    """Someone appended to the incident since we read it: reload and decide again.

    Not an IncidentError: the service retries it and the operator never sees it.
    """


class ReadOnlyIncidents(IncidentError):
    """The console shows a recording (`cs-console replay`): incidents are read, never edited."""


class StoreUnavailable(IncidentError):
    """The store cannot be reached or written (team database down, disk full)."""


class QueuedForSync(IncidentError):
    """Not a failure: the store was unreachable, so the change was kept locally and will sync."""
