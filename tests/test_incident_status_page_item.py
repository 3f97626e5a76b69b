"""The incident checklist's status-page item ticks itself with what the console saw on the page."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from cs_console.domain.clock import FixedClock
from cs_console.domain.health import PLATFORM_STATUS, ComponentHealth, HealthReport, HealthStatus
from cs_console.domain.incidents import workflow as wf
from cs_console.domain.incidents.phases import phase_views, status_page_seen
from cs_console.services.incidents import IncidentService, live_snapshot
from cs_console.stores.incident_store_local import LocalIncidentStore
from tests.test_incident_domain import T0, Log, at

SEEN = "incident in eu-central-1: Elevated API latency (identified, major impact) https://stspg.io/demo0in"


def item(log: Log, minutes: float = 30):
    views = phase_views(log.inc, at(minutes))
    return next(i for i in views[0].items if i.item.id == "status_page")


def test_a_snapshot_that_read_the_page_ticks_the_item_with_what_it_saw() -> None:
    log = Log()
    assert not item(log).done
    log.do(wf.attach_snapshot(log.inc, {"_health": {"Database": "HEALTHY", PLATFORM_STATUS: f"DEGRADED: {SEEN}"}}, at(2), "bob"))
    view = item(log)
    assert view.done and view.auto and view.note == f"DEGRADED: {SEEN}"


def test_an_unread_page_ticks_nothing() -> None:
    log = Log()
    log.do(wf.attach_snapshot(log.inc, {"_health": {PLATFORM_STATUS: "UNKNOWN: status page not read: no answer within 4 s"}}, at(2), "bob"))
    assert not item(log).done and item(log).note == ""


def test_the_runbook_step_and_a_hand_tick_with_a_note() -> None:
    log = Log()
    log.do(wf.record_runbook_step(log.inc, "incident-response", "status_page", "failed", "value.status.indicator == 'major'", at(3), "bob"))
    assert item(log).auto and item(log).note == "runbook incident-response: failed: value.status.indicator == 'major'"
    other = Log()
    other.do(wf.check_item(other.inc, "status_page", True, at(4), "bob", note="HEALTHY: no incident for eu-central-1"))
    view = item(other)
    assert view.done and not view.auto and view.note == "HEALTHY: no incident for eu-central-1"  # a hand tick stays untickable
    other.do(wf.check_item(other.inc, "status_page", False, at(5), "bob"))
    assert not item(other).done and status_page_seen(other.inc) == "HEALTHY: no incident for eu-central-1"


async def test_declaring_from_live_health_records_the_page(tmp_path: Path) -> None:
    svc = IncidentService(LocalIncidentStore(tmp_path / "i"), clock=FixedClock(T0), actor="alice")
    rest = ComponentHealth("REST", HealthStatus.DEGRADED, "p95 862 ms", 50.0, T0)
    platform = ComponentHealth(PLATFORM_STATUS, HealthStatus.DEGRADED, SEEN, None, T0)
    live = SimpleNamespace(snapshot=None, states={}, health=HealthReport((rest, platform), T0))
    inc = await svc.open_from_health(rest, live_snapshot(live))
    view = next(i for v in phase_views(inc, at(1)) for i in v.items if i.item.id == "status_page")
    assert view.done and view.note == f"DEGRADED: {SEEN}"
    await svc.close()


async def test_a_hand_tick_in_the_detail_view_records_the_consoles_reading(tmp_path: Path) -> None:
    from cs_console.domain.incidents import Severity
    from tests.screen_text import screen_text, until
    from tests.test_incident_pane import make_app, show_pane, store_service

    app = make_app(tmp_path)
    svc, _ = store_service(app)
    inc = await svc.open(title="API slow", severity=Severity.P2, summary="p95 over 800 ms")
    async with app.run_test(size=(160, 40)) as pilot:
        await show_pane(pilot)
        now = datetime.now(timezone.utc)
        seen = ComponentHealth(PLATFORM_STATUS, HealthStatus.DEGRADED, SEEN, None, now)
        app.live.health = HealthReport((seen,), now)
        await pilot.press("enter")
        await until(pilot, lambda: "Timeline (UTC)" in screen_text(app))
        assert "[ ] Check the Supabase status page" in screen_text(app)
        await pilot.press("tab")
        phases = app.screen.query_one("#incd-phases")
        while phases.highlighted_option is None or phases.highlighted_option.id != "item:status_page":
            await pilot.press("up")
        await pilot.press("enter")
        await until(pilot, lambda: "[x] Check the Supabase status page" in screen_text(app))
        await until(pilot, lambda: "seen: DEGRADED: incident in eu-central-1: Elevated" in screen_text(app))
        assert "Checklist status_page: done (seen: DEGRADED: incident" in screen_text(app)  # the timeline
        tick = [e for e in (await svc.get(inc.ref)).events if e.data.get("item") == "status_page"][-1]
        assert tick.data == {"item": "status_page", "done": True, "note": f"DEGRADED: {SEEN}"}
