"""A flight recording of the demo's connection-exhaustion scenario, made the way the console
makes one (the wiring's recorder, the demo's incident store), on a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.domain.incidents.severity import Severity
from cs_console.services.monitor import Monitor
from cs_console.services.session import session_from_args
from cs_console.wiring.demo import build_demo_environment
from cs_console.wiring.incidents import open_incident_service
from cs_console.wiring.flight import session_recording_path
from cs_console.wiring.recording import build_recorder
from tests.sessions import session_args

ANCHOR = datetime(2026, 11, 27, 2, 58, 0, tzinfo=timezone.utc)


async def _logs(env, since: datetime) -> list:
    out = []
    async for batch in env.log_source("all").records(since, False):
        out += batch
    return out


async def record_demo_incident(*, lead_s: float = 300, during_s: float = 600, step_s: float = 10.0, audit: list[dict] | None = None) -> dict:
    """Play the scenario: `lead_s` before the incident is declared, `during_s` while it is open,
    then resolve it. Returns what a test needs (path, ref, times)."""
    session = session_from_args(session_args(demo=True, scenario="connection-exhaustion", seed=7))
    env = build_demo_environment(session, one_shot=False, anchor=ANCHOR, real_time=False)
    recorder = build_recorder(env)
    # The test plays the log follower's part (on a frozen clock the follower's polling would
    # race the steps): the pre-roll's history when the incident opens, then each step's records.
    recorder._log_source = None
    env.recorder = recorder
    monitor = Monitor(env, persist_alerts=False)
    service = await open_incident_service(session, clock=env.clock)
    recorder.tail_audit()

    async def play(seconds: float) -> None:
        elapsed = 0.0
        while elapsed < seconds:
            before = env.clock.now()
            env.clock.advance(step_s)
            elapsed += step_s
            await monitor.refresh_metrics()
            await monitor.refresh_health()
            if recorder.active:
                recorder.observe_logs(await _logs(env, before))

    await play(lead_s)
    inc = await service.open(title="DB connections exhausted", severity=Severity.P1)
    declared = env.clock.now()
    await recorder.refresh_incidents()
    recorder.observe_logs(await _logs(env, recorder.log_since()))
    await play(during_s / 2)
    for rec in audit or ():
        audit_path = recorder._audit_path
        audit_path.parent.mkdir(parents=True, exist_ok=True)
        with audit_path.open("a") as fh:
            import json

            fh.write(json.dumps(rec) + "\n")
    recorder.tail_audit()
    await play(during_s / 2)
    from cs_console.domain.incidents.status import Status

    for status in (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED):
        try:
            await service.set_status(inc.ref, status)
        except Exception:  # noqa: BLE001 - a step the workflow skips
            pass
    await recorder.refresh_incidents()
    resolved = env.clock.now()
    await play(60)
    await recorder.aclose()
    await service.close()
    return {"path": session_recording_path(session), "ref": inc.ref, "declared": declared, "resolved": resolved,
            "session": session, "recorder": recorder}
