"""`cs-console replay`: a recording opened as the console's environment.

The session is the profile's (or the demo's, so its incidents are the ones shown),
made read-only and labelled REPLAY; its runbooks get no executor but the console's
own (wiring.runbooks), and read-only refuses every mutating step in the engine.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cs_console.backends.replay.clock import ReplayClock
from cs_console.backends.replay.sources import ReplayHealthProbe, ReplayLogSource, ReplayMetricsSource
from cs_console.config import state_dir
from cs_console.services.environment import LOG_SOURCE_NAMES
from cs_console.services.recorder import POST_ROLL_S, PRE_ROLL_S
from cs_console.services.replay import PinnedClock, ReplayController, ReplayEnvironment, ReplayEvent
from cs_console.services.session import Session
from cs_console.stores.alert_history import AlertHistory
from cs_console.stores.alert_history_team import ProfileAlertHistory
from cs_console.stores.recording_store import RECORDING_SUFFIX, RecordingError, RecordingReader
from cs_console.wiring.local_logs import open_local_log
from cs_console.wiring.flight import session_recording_path


@dataclass(frozen=True)
class ReplayTarget:
    path: Path
    ref: str  # "" for a whole recording
    start: float
    end: float
    at: float  # where the replay opens
    title: str = ""


def find_replay(session: Session, ref: str | None, file: Path | None) -> ReplayTarget:
    """The recording and the window to replay; raises RecordingError (one line) if there is none."""
    if file is not None:
        candidates = [file.expanduser()]
    else:
        own = session_recording_path(session)
        others = sorted(p for p in (state_dir() / "recordings").glob(f"*{RECORDING_SUFFIX}") if p != own)
        candidates = [own, *others]
        if not ref:
            raise RecordingError("name the incident to replay (cs-console replay INC-2026-0001) or give --file PATH")
    seen_refs: list[str] = []
    for path in candidates:
        if not path.is_file():
            if file is not None:
                raise RecordingError(f"no recording at {path}")
            continue
        reader = RecordingReader(path)
        try:
            span = reader.span()
            if span is None:
                if file is not None:
                    raise RecordingError(f"{path} holds no frames yet")
                continue
            if not ref:
                return ReplayTarget(path, "", span[0], span[1], span[0])
            inc = reader.incident(ref)
            if inc is None:
                seen_refs += [i.ref for i in reader.incidents()]
                continue
            start = max(span[0], inc.opened - PRE_ROLL_S)
            end = min(span[1], (inc.closed if inc.closed is not None else span[1]) + POST_ROLL_S)
            return ReplayTarget(path, inc.ref, start, max(end, start), min(max(inc.opened, start), max(end, start)), inc.title)
        finally:
            reader.close()
    known = f" (recorded: {', '.join(sorted(set(seen_refs))[:8])})" if seen_refs else ""
    where = f"in {candidates[0]}" if file is not None else "in any recording"
    raise RecordingError(f"{ref} is not {where}{known}")


def replay_session(session: Session) -> Session:
    """The same profile, read-only, labelled REPLAY: the executor refuses every mutating step,
    the incident service every edit (wiring.incidents)."""
    profile = dataclasses.replace(session.profile, read_only=True)
    return Session(session.config, profile, session.demo, session.state_dir, list(session.notices), label="REPLAY", replay=True)


def _events(reader: RecordingReader, start: float, end: float) -> list[ReplayEvent]:
    events: list[ReplayEvent] = []
    frames = [f for kind in ("alert", "source", "incident", "audit") for f in reader.frames(kind, start, end)]
    for t, kind, p in sorted(frames, key=lambda f: f[0]):
        if kind == "alert":
            verb = "raised" if p.get("event") == "raised" else "cleared"
            events.append(ReplayEvent(t, "alert", f"{p.get('class', '')} alert {verb}: {p.get('title', '')}"))
        elif kind == "source":
            events.append(ReplayEvent(t, "source", f"source {p.get('name', '?')} {p.get('state', '?')} {p.get('detail', '')}".strip()))
        elif kind == "incident":
            events.append(ReplayEvent(t, "incident", f"{p.get('ref', '')} {p.get('event', '')}: {p.get('title', '')}"))
        elif kind == "audit" and p.get("phase") in ("after", "refused"):
            events.append(ReplayEvent(t, "audit", f"step {p.get('step_id', '?')} ({p.get('runbook_id', '')}): {p.get('outcome', p.get('phase'))}"))
    return events


def build_replay_environment(session: Session, target: ReplayTarget, *, speed: float = 1.0, at: float | None = None) -> ReplayEnvironment:
    reader = RecordingReader(target.path)
    clock = ReplayClock(target.start, target.end, at=target.at if at is None else at, speed=speed)
    pinned = PinnedClock(clock)
    metrics = ReplayMetricsSource(reader, pinned)
    env = ReplayEnvironment(session=session, clock=pinned, local_log_opener=open_local_log, statuses_at=metrics.recorded_statuses)
    env.metrics_sources.append(metrics)
    env.health_probes.append(ReplayHealthProbe(reader, pinned))
    env.log_factories = {name: (lambda _n=name, **_o: ReplayLogSource(reader, pinned, _n)) for name in LOG_SOURCE_NAMES}
    # Alerts recomputed in replay go to a throwaway history, never the profile's.
    env.alert_history = ProfileAlertHistory(AlertHistory(Path(tempfile.mkdtemp(prefix="cs-replay-")), session.profile.name))
    dropped = sum(h[3] for h in reader.hours())
    env.replay = ReplayController(
        clock=clock, pinned=pinned,
        metric_times=[t for t in reader.times("metrics") if target.start <= t <= target.end],
        health_times=[t for t in reader.times("health") if target.start <= t <= target.end],
        events=_events(reader, target.start, target.end),
        title=target.title, incident_ref=target.ref,
        notes=[f"the recording dropped {dropped} frame(s) over its hourly budget"] if dropped else [],
    )
    return env
