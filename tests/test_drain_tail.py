"""Tailing the drain: `logs --source drain`, the Logs pane, `config show`, and history from the logs endpoint."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cs_console import cli
from cs_console.backends.drain.combined import DrainFirstSource
from cs_console.backends.drain.ring import RingStore
from cs_console.backends.drain.ring_source import RingLogSource
from cs_console.backends.supabase import log_endpoint
from cs_console.backends.supabase.log_source import SupabaseLogHub
from cs_console.domain.clock import FixedClock
from cs_console.services.session import session_from_args
from cs_console.tui.app import ConsoleApp
from cs_console.tui.screens.log_detail import LogDetailScreen
from cs_console.wiring.live import build_live_environment
from tests.drain_sender import mixed_events
from tests.fake_supabase import LOGS_CLICKHOUSE, FakeSupabase
from tests.screen_text import screen_text
from tests.sessions import session_args


def _rows(events):
    from cs_console.domain.drain_events import table_of

    return [(e["id"], table_of(e), e["timestamp"], json.dumps(e)) for e in events]


async def _fill(directory: Path, events) -> None:
    ring = RingStore(directory)
    ring.open()
    await ring.put(_rows(events))
    ring.close()


def _config(tmp_path: Path, drain: str = "local") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.ops]\ndrain = "{drain}"\n')
    path.chmod(0o600)
    return path


def _ring_dir(tmp_path: Path) -> Path:
    return tmp_path / "xdg-state" / "cs-console" / "drain" / "ops"


async def test_cli_prints_the_drain_with_filter_and_limit(tmp_path: Path, capsys) -> None:
    events = mixed_events(100)
    await _fill(_ring_dir(tmp_path), events)
    code = await asyncio.to_thread(cli.main, ["logs", "--config", str(_config(tmp_path)), "--source", "drain", "--json", "--filter", "source=postgres", "--limit", "5"])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [json.loads(x) for x in out.out.splitlines()]
    pg = [e for e in events if "parsed" in e["metadata"]]
    assert [x["message"] for x in lines] == [e["event_message"] for e in pg[-5:]]
    assert {x["source"] for x in lines} == {"postgres"}


async def test_cli_edge_source_reads_the_drain_when_the_profile_has_one(tmp_path: Path, capsys) -> None:
    events = mixed_events(50)
    await _fill(_ring_dir(tmp_path), events)
    code = await asyncio.to_thread(cli.main, ["logs", "--config", str(_config(tmp_path)), "--source", "edge", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len(out.out.splitlines()) == sum(1 for e in events if "cf" in e["metadata"].get("request", {}))


def test_cli_drain_with_nothing_stored_says_where_it_looked(tmp_path: Path, capsys) -> None:
    code = cli.main(["logs", "--config", str(_config(tmp_path, "off")), "--source", "drain"])
    out = capsys.readouterr()
    assert code == 0 and out.out == ""
    assert "no drain data in" in out.err and "drain serve" in out.err
    # The demo has its own (what `drain serve --demo` stored), apart from the profile's.
    assert cli.main(["logs", "--demo", "--source", "drain"]) == 0
    assert "demo/drain/default" in capsys.readouterr().err


def test_config_show_says_which_tail_is_in_use(tmp_path: Path, capsys) -> None:
    assert cli.main(["config", "show", "--config", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "live log tail: drain (local ring" in out and "drain_secret_env" in out
    assert cli.main(["config", "show", "--config", str(_config(tmp_path, "off"))]) == 0
    assert "live log tail: logs endpoint polling" in capsys.readouterr().out


def test_config_rejects_bad_drain_values(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.toml"
    for line, key in (('drain = "yes"', "drain"), ('drain_listen = "9513"', "drain_listen"), ("drain_max_mb = 1", "drain_max_mb"),
                      ('drain_secret_header = "X Drain"', "drain_secret_header")):
        path.write_text(f"[profiles.ops]\n{line}\n")
        with pytest.raises(SystemExit) as exit_:
            cli.main(["config", "show", "--config", str(path)])
        assert exit_.value.code == 2
        assert f"profiles.ops.{key}:" in capsys.readouterr().err


# ----------------------------------------------------------------- history the drain lacks

NOW = datetime(2026, 6, 10, 9, 30, tzinfo=timezone.utc)  # the fake's records lie between 09:01 and 09:02


async def test_history_before_the_drain_comes_once_from_the_endpoint_then_no_polling(tmp_path: Path) -> None:
    log_endpoint.forget_all()
    drain_start_us = int(datetime(2026, 6, 10, 9, 1, 30, tzinfo=timezone.utc).timestamp() * 1e6)
    drained = mixed_events(20, now_us=drain_start_us + 20_000_000, spread_us=20_000_000)
    await _fill(tmp_path, drained)
    with FakeSupabase(mode="2026") as fake:
        hub = SupabaseLogHub(fake.client(), FixedClock(NOW), interval_s=0.05)
        source = DrainFirstSource(RingLogSource(tmp_path, "all", poll_interval=0.02), hub.source("all"))
        seen = []

        async def tail() -> None:
            async for batch in source.records(NOW - timedelta(hours=1), True):
                seen.extend(batch)

        task = asyncio.create_task(tail())
        try:
            for _ in range(200):
                if len([r for r in seen if r.id in {e["id"] for e in drained}]) == 20:
                    break
                await asyncio.sleep(0.02)
            asked = len(fake.requests_to(LOGS_CLICKHOUSE))
            await asyncio.sleep(0.6)  # a polling tail would ask ~12 more times at 0.05 s
            assert len(fake.requests_to(LOGS_CLICKHOUSE)) == asked
        finally:
            task.cancel()
    older = [r for r in seen if r.id not in {e["id"] for e in drained}]
    assert older, "the endpoint's records before the drain's oldest event"
    assert all(r.ts < datetime.fromtimestamp(drain_start_us / 1e6, timezone.utc) for r in older)
    assert [r.id for r in seen[len(older):]] == [e["id"] for e in drained]
    assert source.history_requests == 1 and asked >= 1


# ----------------------------------------------------------------- the Logs pane


@pytest.fixture
def only_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.tui import app as app_module
    from cs_console.tui.panes.registry import PANES

    monkeypatch.setattr(app_module, "PANES", tuple(spec for spec in PANES if spec.pane_id in ("overview", "logs")))


async def test_the_logs_pane_tails_the_drain_live(tmp_path: Path, only_logs) -> None:
    from cs_console.tui.panes.logs import LogsPane

    ring_dir = _ring_dir(tmp_path)
    first = mixed_events(40, seed=1)
    await _fill(ring_dir, first)
    session = session_from_args(session_args(config=_config(tmp_path)))
    env = build_live_environment(session)
    app = ConsoleApp(session, env, initial_pane="logs", pane_options={"source": "drain", "filter": "source=function"}, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LogsPane)
        for _ in range(100):
            if pane.buffer.match_count >= 8:
                break
            await pilot.pause(0.05)
        assert pane.buffer.match_count == 8
        more = mixed_events(10, seed=2)
        ring = RingStore(ring_dir)
        ring.open()
        await ring.put(_rows(more))
        ring.close()
        for _ in range(100):
            if pane.buffer.match_count >= 10:
                break
            await pilot.pause(0.05)
        assert pane.buffer.match_count == 10
        await pilot.pause(0.6)
        status = pane.status_content().plain
        assert "drain · lag " in status and "· not polling" in status, status
        await pilot.press("space")  # pause: new events are counted, the view stays
        await pilot.pause(0.1)
        ring = RingStore(ring_dir)
        ring.open()
        await ring.put(_rows(mixed_events(5, seed=3)))
        ring.close()
        for _ in range(100):
            if "PAUSED +1 new" in pane.status_content().plain:
                break
            await pilot.pause(0.05)
        assert "PAUSED +1 new" in pane.status_content().plain
        await pilot.press("s")  # save: the filtered records, whole events included
        await pilot.pause(0.2)
        target = Path(app.screen.query_one("#log-save-path").value)  # type: ignore[attr-defined]
        await pilot.press("enter")
        for _ in range(100):
            if target.exists():
                break
            await pilot.pause(0.05)
        saved = [json.loads(x) for x in target.read_text().splitlines()]
        assert len(saved) == 11 and all(x["source"] == "function" for x in saved)
        assert all("execution_time_ms" in x["raw"]["metadata"] for x in saved)
        await pilot.press("space", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, LogDetailScreen)
        assert "execution_time_ms" in screen_text(app)  # the whole event, read back from the ring


async def test_the_logs_pane_says_when_the_drain_has_gone_quiet(tmp_path: Path, only_logs) -> None:
    from cs_console.tui.panes.logs import LogsPane

    five_minutes_ago = int((datetime.now(timezone.utc) - timedelta(minutes=5)).timestamp() * 1e6)
    await _fill(_ring_dir(tmp_path), mixed_events(20, seed=4, now_us=five_minutes_ago))
    session = session_from_args(session_args(config=_config(tmp_path)))
    app = ConsoleApp(session, build_live_environment(session), initial_pane="logs", pane_options={"source": "drain"}, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LogsPane)
        for _ in range(100):
            if len(pane.buffer) >= 20:
                break
            await pilot.pause(0.05)
        assert len(pane.buffer) == 20
        status = pane.status_content().plain
        assert "drain · no events for 5m · not polling" in status, status
        assert "lag" not in status  # the last lag is stale: not shown as if events were flowing
    async with ConsoleApp(session, build_live_environment(session), initial_pane="logs", pane_options={"source": "drain"},
                          poll=False).run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        # At 80 columns the drain's note outlives the rate, the buffer fill and the clock.
        assert "not polling" in pilot.app.query_one(LogsPane).status_content().plain


async def test_stored_events_at_startup_are_not_shown_as_lag(tmp_path: Path, only_logs) -> None:
    """Events already stored when the pane starts are a backfill: the line says how far the store
    reaches, not their age as a lag; the lag appears with the first live event, POSTed to a
    running receiver over loopback."""
    import httpx

    from cs_console.backends.drain.receiver import DrainReceiver, ReceiverSettings, start_site
    from cs_console.tui.panes.logs import LogsPane
    from tests.drain_sender import body_of

    ring_dir = _ring_dir(tmp_path)
    old_us = int((datetime.now(timezone.utc) - timedelta(seconds=14)).timestamp() * 1e6)
    stored = mixed_events(20, seed=5, now_us=old_us)
    await _fill(ring_dir, stored)
    newest = datetime.fromtimestamp(max(e["timestamp"] for e in stored) / 1e6, timezone.utc)
    session = session_from_args(session_args(config=_config(tmp_path)))
    app = ConsoleApp(session, build_live_environment(session), initial_pane="logs", pane_options={"source": "drain"}, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LogsPane)
        for _ in range(100):
            if len(pane.buffer) >= 20 and pane._source.caught_up():
                break
            await pilot.pause(0.05)
        assert len(pane.buffer) == 20
        await pilot.pause(0.6)
        status = pane.status_content().plain
        assert f"drain · stored up to {newest:%H:%M:%S} · not polling" in status, status
        assert "lag" not in status and pane._source.lag_seconds() is None
        ring = RingStore(ring_dir)
        ring.open()
        receiver = DrainReceiver(ring, ReceiverSettings(secret="tail-secret-0123456789"))
        runner, port = await start_site(receiver.app(), "127.0.0.1", 0)
        try:
            data, h = body_of(mixed_events(10, seed=6))
            async with httpx.AsyncClient() as client:
                r = await client.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, "X-Drain-Secret": "tail-secret-0123456789"})
            assert r.json() == {"accepted": 10, "duplicates": 0}
            for _ in range(100):
                if len(pane.buffer) >= 30:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.6)
        finally:
            await runner.cleanup()
            ring.close()
        status = pane.status_content().plain
        lag = pane._source.lag_seconds()
        assert lag is not None and lag < 5.0, lag  # the live batch's, not the stored events' 14 s
        assert "drain · lag " in status and "stored up to" not in status, status


def test_drain_status_words() -> None:
    from cs_console.domain.drain_events import drain_status_text, quiet_since

    assert drain_status_text(0.4, 1.0) == "drain · lag 0.4s · not polling"
    assert drain_status_text(0.4, 125.0) == "drain · no events for 2m · not polling"
    assert drain_status_text(None, 5.0) == "drain · waiting for events · not polling"
    assert drain_status_text(None, 14.0, "15:02:11") == "drain · stored up to 15:02:11 · not polling"
    assert drain_status_text(None, 75.0, "15:02:11") == "drain · no events for 75s · not polling"
    assert drain_status_text(None, 61.0) == "drain · no events for 61s · not polling"
    assert quiet_since(0, None, 100.0) is None
    assert quiet_since(0, 40.0, 100.0) == 60.0  # nothing read yet: quiet since the tail began
    assert quiet_since(90_000_000, 40.0, 100.0) == 10.0  # the newest event's time


async def test_the_drain_first_source_reports_the_drains_quiet(tmp_path: Path) -> None:
    old = int((datetime.now(timezone.utc) - timedelta(minutes=3)).timestamp() * 1e6)
    await _fill(tmp_path, mixed_events(5, now_us=old))
    source = DrainFirstSource(RingLogSource(tmp_path, "drain"), None)
    assert source.quiet_seconds() is None
    assert len([r async for batch in source.records(None, False) for r in batch]) == 5
    assert 170 < source.quiet_seconds() < 200


async def test_drained_function_events_get_their_slug_from_the_functions_list(tmp_path: Path) -> None:
    log_endpoint.forget_all()
    with FakeSupabase(mode="2026") as fake:
        hub = SupabaseLogHub(fake.client(), FixedClock(NOW))
        names = await hub.function_names()
        assert names, "the fake lists functions"
        fid, slug = next(iter(names.items()))
        event = {"id": "f-1", "timestamp": int(NOW.timestamp() * 1e6), "event_message": "hello\n",
                 "metadata": {"function_id": fid, "execution_id": "x", "level": "info", "event_type": "Log"}}
        await _fill(tmp_path, [event])
        source = DrainFirstSource(RingLogSource(tmp_path, "function"), hub.source("function"))
        out = [r async for batch in source.records(None, False) for r in batch]
    assert [(r.source, r.function, r.message) for r in out] == [("function", slug, "hello")]
