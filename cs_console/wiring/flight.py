"""Where a session's flight recording is, and the post-mortem's view of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cs_console.config import state_dir
from cs_console.services.flight_report import flight_data, incident_window
from cs_console.services.recorder import POST_ROLL_S, PRE_ROLL_S
from cs_console.services.session import Session
from cs_console.stores.recording_store import RecordingReader, recording_path


def recording_namespace(session: Session) -> str:
    return "demo" if session.demo is not None else session.profile.name


def session_recording_path(session: Session) -> Path:
    return recording_path(state_dir(), recording_namespace(session))


def incident_flight(session: Session) -> Callable[[Any], Any]:
    """incident -> FlightData from this session's recording, or None when it was not recorded."""

    def read(inc: Any) -> Any:
        path = session_recording_path(session)
        if not path.is_file():
            return None
        reader = RecordingReader(path)
        try:
            span = reader.span()
            if span is None:
                return None
            recorded = reader.incident(inc.ref)
            if recorded is not None:
                opened, closed = recorded.opened, recorded.closed
            elif inc.declared_at is not None:
                opened = inc.declared_at.timestamp()
                closed = inc.resolved_at.timestamp() if inc.resolved_at is not None else None
            else:
                return None
            start, end = incident_window(opened, closed, span, PRE_ROLL_S, POST_ROLL_S)
            if end <= start or (recorded is None and (end < opened or start > (closed or end))):
                return None
            return flight_data(reader.frames, start, end, dropped=sum(h[3] for h in reader.hours()))
        finally:
            reader.close()

    return read
