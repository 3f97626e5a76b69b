"""The flight recorder's own problems are said and never stop the console: a recording that
cannot be opened is held in memory (bounded), said in `problem`, and written once it opens."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from cs_console.domain.alerts import Alert, AlertClass
from cs_console.domain.clock import FixedClock
from cs_console.services.recorder import OpenIncident, Recorder
from cs_console.stores.recording_store import IncidentSpan, RecordingReader, RecordingWriter

T0 = datetime(2026, 11, 27, 3, 0, 0, tzinfo=timezone.utc)


class _Incidents:
    def __init__(self) -> None:
        self.open: list[OpenIncident] = []
        self.down = False

    async def __call__(self) -> list[OpenIncident]:
        if self.down:
            raise ConnectionRefusedError("team store at 127.0.0.1:1 refused the connection")
        return list(self.open)


def _alert(i: int) -> Alert:
    return Alert(f"pool:{i}", "pool", AlertClass.CRITICAL, f"Connection pool {i}", "", T0)


async def test_an_unwritable_recording_is_said_held_and_written_once_it_opens(tmp_path: Path) -> None:
    path = tmp_path / "rec.sqlite3"
    path.mkdir()  # something that is not a file where the recording goes: it cannot be opened
    incidents = _Incidents()
    recorder = Recorder(FixedClock(T0), lambda: RecordingWriter(path, flush_s=0.02), incidents=incidents,
                        span_type=IncidentSpan, sink_retry_s=0.0)
    incidents.open.append(OpenIncident("INC-2026-0001", "DB connections exhausted", "P1", T0.timestamp()))
    await recorder.refresh_incidents()
    for i in range(3):
        recorder.observe_alert(_alert(i), "raised", T0)
    assert recorder.sink is None
    assert "cannot open the recording" in recorder.problem and "frames held" in recorder.problem
    incidents.down = True  # the incident store down too: what was open stays open
    await recorder.refresh_incidents()
    assert recorder.active and "incidents not readable" in recorder.problem and "INC-2026-0001" in recorder.problem
    path.rmdir()
    incidents.down = False
    await recorder.refresh_incidents()
    recorder.observe_alert(_alert(3), "raised", T0)
    assert recorder.sink is not None and recorder.problem == ""
    await recorder.aclose()
    titles = [p["title"] for _, _, p in RecordingReader(path).frames("alert")]
    assert titles == [f"Connection pool {i}" for i in range(4)]  # nothing lost: held, then written


async def test_the_header_says_rec_and_rec_failing_with_a_notice_and_the_console_goes_on() -> None:
    from cs_console.tui.widgets.recorder_status import RecorderBadge
    from cs_console.wiring.flight import session_recording_path
    from cs_console.wiring.incidents import open_incident_service
    from cs_console.domain.incidents.severity import Severity
    from tests.demo_app import demo_app, play
    from tests.screen_text import screen_text

    from cs_console.wiring.recording import build_recorder

    app = demo_app("connection-exhaustion")
    app.env.recorder = build_recorder(app.env)  # as build_environment does for the console
    app.monitor.recorder = app.env.recorder
    path = session_recording_path(app.session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()  # a directory where the recording goes: it cannot be opened
    async with app.run_test(size=(100, 30)) as pilot:
        recorder = app.env.recorder
        app.clock_tick()
        await pilot.pause()
        assert not app.query_one(RecorderBadge).display  # nothing open, nothing recorded: no badge
        service = await open_incident_service(app.session, clock=app.env.clock)
        await service.open(title="DB connections exhausted", severity=Severity.P1)
        await recorder.refresh_incidents()
        await play(app, 60)
        app.clock_tick()
        await pilot.pause(0.2)
        header = screen_text(app).splitlines()[0]
        assert "REC ✗" in header, header
        assert "cannot open the recording" in str(app.query_one(RecorderBadge).tooltip)
        assert any("cannot open the recording" in n.message for n in app._notifications), "a notice says it"
        # The console goes on: panes still answer keys.
        await pilot.press("2")
        await pilot.pause(0.2)
        assert app.current_pane.PANE_ID == "metrics"
        # Once the recording opens, the badge is plain REC and a notice says it writes again.
        path.rmdir()
        recorder._sink_retry_at = 0.0  # the 30 s retry, not waited for here
        await play(app, 15)
        app.clock_tick()
        await pilot.pause(0.2)
        header = screen_text(app).splitlines()[0]
        assert "REC" in header and "REC ✗" not in header, (header, recorder.problem, recorder.frames)
        assert any("writes again" in n.message for n in app._notifications)
        assert path.is_file()
