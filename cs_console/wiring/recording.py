"""The flight recorder of a console session: its file, its redaction, what it watches.

One recording per profile (`<state>/recordings/<profile>.recording.sqlite3`; the demo's
is `demo`, apart like its incidents), written by stores.recording_store.RecordingWriter.
"""

from __future__ import annotations

from cs_console.config import SECRET_ENV_FIELDS
from cs_console.domain.redaction import Redactor
from cs_console.services.environment import Environment
from cs_console.services.recorder import OpenIncident, Recorder
from cs_console.services.session import Session
from cs_console.stores.audit_log import LocalAuditLog
from cs_console.stores.recording_store import IncidentSpan, RecordingWriter
from cs_console.wiring.flight import recording_namespace, session_recording_path


def session_redactor(session: Session) -> Redactor:
    """The profile's secrets by value (every spelling), plus every credential shape."""
    profile = session.profile
    return Redactor(profile.secret(name) for name in SECRET_ENV_FIELDS)


def build_recorder(env: Environment) -> Recorder:
    session = env.session
    path = session_recording_path(session)
    redactor = session_redactor(session)
    ring = float(session.profile.record_ring_hours)
    meta = {"namespace": recording_namespace(session), "profile": session.profile.name, "environment": session.environment_label}

    def sink() -> RecordingWriter:
        return RecordingWriter(path, redact=redactor.text, ring_hours=ring, meta=meta)

    service = None

    async def open_incidents() -> list[OpenIncident]:
        nonlocal service
        if service is None:
            from cs_console.wiring.incidents import open_incident_service

            service = await open_incident_service(session, clock=env.clock)
        found = await service.list()
        return [
            OpenIncident(i.ref, i.title, i.severity.value, (i.declared_at or env.clock.now()).timestamp())
            for i in found if i.resolved_at is None  # resolved: the post-roll records the recovery
        ]

    def logs() -> object:
        return env.log_source("all")

    return Recorder(
        env.clock, sink, ring_hours=ring, incidents=open_incidents,
        audit_path=LocalAuditLog.in_state_dir(session.state_dir).path,
        log_source=logs if "all" in env.log_factories else None, span_type=IncidentSpan,
    )
