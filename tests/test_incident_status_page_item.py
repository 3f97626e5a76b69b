"""The incident checklist's status-page item ticks itself with what the console saw on the page."""

from __future__ import annotations

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
