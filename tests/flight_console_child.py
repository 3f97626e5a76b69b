"""A demo console run headless in its own process, recording an incident, until it is killed
(tests/test_flight_demo.py kills it with SIGKILL mid-recording)."""

from __future__ import annotations

import asyncio
import sys

from cs_console.domain.incidents.severity import Severity
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.wiring.environment import build_environment
from cs_console.wiring.incidents import open_incident_service
from tests.sessions import session_args


async def main(speed: float) -> None:
    session = session_from_args(session_args(demo=True, scenario="connection-exhaustion", seed=7, speed=speed))
    app = ConsoleApp(session, build_environment(session))
    async with app.run_test(size=(100, 30)) as pilot:
        service = await open_incident_service(session, clock=app.env.clock)
        inc = await service.open(title="DB connections exhausted", severity=Severity.P1)
        print(f"open {inc.ref}", flush=True)
        recorder = app.env.recorder
        while recorder.frames < 20:
            await pilot.pause(0.2)
        print(f"recording {recorder.frames}", flush=True)
        while True:
            await pilot.pause(0.5)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
