"""Replay: a recording of the demo opened in the console; the panes show what they showed then."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cs_console.backends.replay.clock import ReplayClock
from cs_console.domain.recording import logs_from_frame
from cs_console.domain.runbooks.guard import check_read_only
from cs_console.stores.recording_store import RecordingError, RecordingReader
from cs_console.tui.app import ConsoleApp
from cs_console.wiring.replay import build_replay_environment, find_replay, replay_session
from tests.recording_helpers import record_demo_incident
from tests.screen_text import screen_text


async def _shown(app, pilot, needle: str, timeout: float = 10.0) -> str:
    for _ in range(int(timeout / 0.2)):
        await pilot.pause(0.2)
        text = screen_text(app)
        if needle in text:
            return text
    return screen_text(app)


def test_the_replay_clock_plays_pauses_seeks_and_stops_at_the_end() -> None:
    wall = [100.0]
    clock = ReplayClock(1000.0, 1100.0, speed=2.0, monotonic=lambda: wall[0])
    assert clock.epoch() == 1000.0 and not clock.playing
    clock.play()
    wall[0] += 10
    assert clock.epoch() == 1020.0
    clock.pause()
    wall[0] += 10
    assert clock.epoch() == 1020.0
    clock.seek(5000)
    assert clock.epoch() == 1100.0 and clock.at_end
    clock.play()  # at the end, play starts again from the start
    assert clock.epoch() == 1000.0
    assert clock.faster(1) == 5.0 and clock.faster(-1) == 2.0


async def test_a_replay_shows_then_what_the_overview_showed(tmp_path: Path) -> None:
    rec = await record_demo_incident(lead_s=300, during_s=600)
    target = find_replay(rec["session"], rec["ref"], None)
    assert target.ref == rec["ref"] and target.at == pytest.approx(rec["declared"].timestamp())
    reader = RecordingReader(target.path)
    alerts = [(t, p) for t, _, p in reader.frames("alert") if p["event"] == "raised" and "onnection" in p["title"]]
    assert alerts, "the scenario's connection alert was recorded"
    fired_at = alerts[0][0]
    session = replay_session(rec["session"])
    assert session.read_only and session.environment_label == "REPLAY"
    env = build_replay_environment(session, target)
    app = ConsoleApp(session, env, initial_pane="overview", poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        text = await _shown(app, pilot, rec["ref"])
        assert "REPLAY" in text and rec["ref"] in text
        assert rec["declared"].strftime("%H:%M") in text  # the header's clock is the recorded time
        # Seek to the moment the connection alert fired: the overview shows it raised.
        from cs_console.tui.widgets.replay_bar import jump_to

        assert jump_to(app, fired_at)
        await pilot.pause(0.6)
        active = [a.title for a in app.live.alerts_active]
        assert any("onnection" in t for t in active)
        recorded = reader.latest("metrics", fired_at)
        assert app.live.snapshot is not None
        assert app.live.snapshot.value("db.connections.pct") == recorded[1]["samples"]["db.connections.pct"][0]
        # Back before any alert: the monitor starts afresh; nothing is raised yet.
        jump_to(app, target.start)
        await pilot.pause(0.6)
        assert not any("onnection" in a.title for a in app.live.alerts_active)
        # The keys: step forward moves to the next recorded refresh; F6 plays.
        before = env.replay.position()
        await pilot.press("full_stop")
        await pilot.pause(0.4)
        assert env.replay.position() > before
        await pilot.press("f6")
        await pilot.pause(0.3)
        assert env.replay.clock.playing
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert env.replay.clock.speed == 2.0


async def test_a_replay_runs_no_mutating_step() -> None:
    rec = await record_demo_incident(lead_s=60, during_s=60)
    session = replay_session(rec["session"])
    from cs_console.domain.runbooks.schema import Risk

    assert not check_read_only(Risk("destructive"), session.read_only).allowed
    env = build_replay_environment(session, find_replay(rec["session"], rec["ref"], None))
    from cs_console.wiring.runbooks import build_router

    router = build_router(session, env)
    assert router.sql is None and router.shell is None and router.http is None


async def test_an_unknown_reference_or_file_is_one_clear_line(tmp_path: Path) -> None:
    rec = await record_demo_incident(lead_s=30, during_s=30)
    with pytest.raises(RecordingError, match=r"INC-2026-9999 is not in any recording \(recorded: INC-"):
        find_replay(rec["session"], "INC-2026-9999", None)
    with pytest.raises(RecordingError, match="no recording at"):
        find_replay(rec["session"], None, tmp_path / "nope.sqlite3")
    whole = find_replay(rec["session"], None, rec["path"])
    assert whole.ref == "" and whole.end - whole.start >= 60


async def test_the_incidents_pane_jumps_the_replay_to_a_timeline_event() -> None:
    rec = await record_demo_incident(lead_s=120, during_s=120)
    session = replay_session(rec["session"])
    target = find_replay(rec["session"], rec["ref"], None)
    env = build_replay_environment(session, target, at=target.end)
    app = ConsoleApp(session, env, initial_pane="incidents", poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _shown(app, pilot, "DB connections exhausted")
        await pilot.press("enter")
        from cs_console.tui.screens.incident_detail import IncidentDetailScreen

        for _ in range(25):
            await pilot.pause(0.2)
            if isinstance(app.screen, IncidentDetailScreen):
                break
        screen = app.screen
        assert isinstance(screen, IncidentDetailScreen)
        timeline = screen.query_one("#incd-timeline")
        timeline.highlighted = 0  # the first event: the declaration
        await pilot.press("j")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, IncidentDetailScreen)
        assert env.replay.position() == pytest.approx(rec["declared"].timestamp(), abs=1)
        assert not env.replay.clock.playing


async def test_the_replay_keys_have_ids_for_the_keymap_and_help_lists_them(tmp_path: Path) -> None:
    import os

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cs-console" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[keymap]\n"replay.toggle" = "ctrl+t"\n')
    rec = await record_demo_incident(lead_s=60, during_s=60)
    session = replay_session(rec["session"])
    env = build_replay_environment(session, find_replay(rec["session"], rec["ref"], None))
    app = ConsoleApp(session, env, initial_pane="overview", poll=False)
    assert not [n for n in app._startup_notices if n.startswith("keymap")]
    async with app.run_test(size=(120, 40)) as pilot:
        await _shown(app, pilot, rec["ref"])
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        assert env.replay.clock.playing
        global_keys = dict(app.all_binding_sources())["Global"]
        assert {"replay.toggle", "replay.step", "replay.seek_back", "replay.next_event", "replay.faster"} <= {b.id for b in global_keys}


async def test_the_logs_pane_after_a_seek_back_shows_the_records_up_to_the_new_time() -> None:
    rec = await record_demo_incident(lead_s=120, during_s=240)
    session = replay_session(rec["session"])
    target = find_replay(rec["session"], rec["ref"], None)
    env = build_replay_environment(session, target, at=target.end)
    app = ConsoleApp(session, env, initial_pane="logs", poll=False)
    from cs_console.tui.panes.logs import LogsPane
    from cs_console.tui.widgets.replay_bar import jump_to

    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LogsPane)

        def held() -> list:
            return list(pane.buffer.records())

        for _ in range(50):
            await pilot.pause(0.2)
            if held():
                break
        late = max(r.ts.timestamp() for r in held())
        assert late > rec["declared"].timestamp() + 120  # opened at the end: the end's records
        back = rec["declared"].timestamp() - 30
        # The newest record recorded before the new time (the demo's sample can leave a quiet
        # half-minute, so no fixed distance from `back`).
        reader = RecordingReader(target.path)
        try:
            recorded = [r.ts.timestamp() for _t, _k, p in reader.frames("logs", None, back - 2) for r in logs_from_frame(p)]
        finally:
            reader.close()
        assert recorded
        assert jump_to(app, back)
        for _ in range(100):  # a loaded machine ingests the rewind later
            await pilot.pause(0.2)
            if held() and max(recorded) <= max(r.ts.timestamp() for r in held()) <= back:
                break
        shown = held()
        assert shown, "the records up to the new time are shown"
        assert max(r.ts.timestamp() for r in shown) <= back  # none of the later ones kept
        assert max(r.ts.timestamp() for r in shown) >= max(recorded)  # ...and none missing
        newest = max(shown, key=lambda r: r.ts)
        await pilot.pause(0.3)
        assert newest.message[:30] in screen_text(app)  # the view follows the new tail
        # Playing on from there appends after the new time, as the pane did before.
        env.replay.clock.set_speed(10.0)
        env.replay.clock.play()
        for _ in range(50):
            await pilot.pause(0.2)
            if max(r.ts.timestamp() for r in held()) > back + 5:
                break
        after = held()
        assert max(r.ts.timestamp() for r in after) > back + 5
        stamps = [r.ts for r in after]
        assert stamps == sorted(stamps)


async def test_a_replay_refuses_every_incident_edit_in_the_service() -> None:
    from cs_console.domain.incidents.errors import ReadOnlyIncidents
    from cs_console.domain.incidents.model import Role
    from cs_console.domain.incidents.severity import Severity
    from cs_console.domain.incidents.status import Status
    from cs_console.wiring.incidents import open_incident_service

    rec = await record_demo_incident(lead_s=30, during_s=30)
    service = await open_incident_service(replay_session(rec["session"]))
    try:
        before = await service.get(rec["ref"])
        writes = [
            lambda: service.open(title="a new one", severity=Severity.P2),
            lambda: service.acknowledge(rec["ref"]),
            lambda: service.set_status(rec["ref"], Status.INVESTIGATING),
            lambda: service.set_severity(rec["ref"], Severity.P3, "lower"),
            lambda: service.add_note(rec["ref"], "a note"),
            lambda: service.assign_role(rec["ref"], Role.COMMANDER, "ana"),
            lambda: service.record_update(rec["ref"], "all good"),
            lambda: service.post_update(rec["ref"], "all good"),
            lambda: service.update_postmortem(rec["ref"], {"summary": "x"}),
            lambda: service.waive_postmortem(rec["ref"], "small"),
            lambda: service.pin(rec["ref"], 1),
            lambda: service.record_runbook_step(rec["ref"], "rb", "st", "succeeded"),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyIncidents, match="replay"):
                await write()
        service._known.clear()
        after = await service.get(rec["ref"])
        assert after.last_seq == before.last_seq
        assert [i.ref for i in await service.list(include_final=True)] == [rec["ref"]]
        assert (await service.export(rec["ref"])).startswith("#")  # reading and exporting still work
    finally:
        await service.close()
    live = await open_incident_service(rec["session"])  # the same store, not in a replay: writable
    try:
        assert (await live.add_note(rec["ref"], "after the replay")).last_seq > before.last_seq
    finally:
        await live.close()


async def test_the_incidents_pane_in_a_replay_refuses_edits_and_still_navigates_and_jumps() -> None:
    from cs_console.tui.screens.incident_detail import IncidentDetailScreen
    from cs_console.wiring.incidents import open_incident_service

    rec = await record_demo_incident(lead_s=120, during_s=120)
    session = replay_session(rec["session"])
    target = find_replay(rec["session"], rec["ref"], None)
    env = build_replay_environment(session, target, at=target.end)
    app = ConsoleApp(session, env, initial_pane="incidents", poll=False)
    reader = await open_incident_service(rec["session"])
    seq = (await reader.get(rec["ref"])).last_seq

    def notices() -> str:
        return "\n".join(n.message for n in app._notifications)

    async with app.run_test(size=(120, 40)) as pilot:
        await _shown(app, pilot, "DB connections exhausted")
        pane = app.screen
        keys = ["o", "a", "s", "v", "n", "u", "m", "r"]
        for key in keys:
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause(0.2)
            assert app.screen is pane, f"{key} opened a dialog in a replay"
            assert "incidents are read-only here" in notices(), key
        await pilot.press("enter")  # navigation: the detail opens
        for _ in range(25):
            await pilot.pause(0.2)
            if isinstance(app.screen, IncidentDetailScreen):
                break
        detail = app.screen
        assert isinstance(detail, IncidentDetailScreen)
        timeline = detail.query_one("#incd-timeline")
        timeline.highlighted = 0
        for key in ["a", "s", "v", "n", "u", "m", "r", "p"]:
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause(0.2)
            assert app.screen is detail, f"{key} opened a dialog in a replay"
            assert "incidents are read-only here" in notices(), key
        await pilot.press("j")  # the jump still works
        await pilot.pause(0.5)
        assert not isinstance(app.screen, IncidentDetailScreen)
        assert env.replay.position() == pytest.approx(rec["declared"].timestamp(), abs=1)
    reader._known.clear()
    assert (await reader.get(rec["ref"])).last_seq == seq  # nothing reached the store
    await reader.close()
