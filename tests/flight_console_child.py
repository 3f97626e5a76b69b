"""A demo console run headless in its own process, recording an incident, until it is killed
(tests/test_flight_demo.py kills it with SIGKILL mid-recording)."""

from __future__ import annotations

import asyncio
import sys

from cs_console.domain.incidents.severity import Severity
from cs_console.services.session import session_from_args
from cs_console.stores.recording_store import RecordingReader
from cs_console.tui.app import ConsoleApp
from cs_console.wiring.environment import build_environment
from cs_console.wiring.incidents import open_incident_service
from cs_console.wiring.flight import session_recording_path
from tests.sessions import session_args


async def main(speed: float) -> None:
    session = session_from_args(session_args(demo=True, scenario="connection-exhaustion", seed=7, speed=speed))
    app = ConsoleApp(session, build_environment(session))
    async with app.run_test(size=(100, 30)) as pilot:
        service = await open_incident_service(session, clock=app.env.clock)
        inc = await service.open(title="DB connections exhausted", severity=Severity.P1)
        print(f"open {inc.ref}", flush=True)
        recorder = app.env.recorder
        # Killed only once every kind the test looks for is on disk (an alert fires some
        # simulated minutes in: on a loaded machine that is later than 20 frames).
        wanted = {"metrics", "health", "alert", "incident", "logs", "source"}
        kinds: set[str] = set()
        for _ in range(240):
            await pilot.pause(0.25)
            if recorder.frames < 20:
                continue
            path = session_recording_path(session)
            if not path.is_file():
                continue
            reader = RecordingReader(path)
            try:
                kinds = {k for _, k, _ in reader.frames()}
            finally:
                reader.close()
            if wanted <= kinds:
                break
        print(f"recording {recorder.frames} {' '.join(sorted(kinds))}", flush=True)
        while True:
            await pilot.pause(0.5)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
