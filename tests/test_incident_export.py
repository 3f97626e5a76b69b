"""Post-mortem exports: golden Markdown (pinned events, UTC) and the JSON shape.

Regenerate the golden file after an intended change with
`CS_UPDATE_GOLDEN=1 python -m pytest tests/test_incident_export.py`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from cs_console.domain.clock import FixedClock
from cs_console.domain.incidents import Role, Severity, Status
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_local import LocalIncidentStore

GOLDEN = Path(__file__).parent / "fixtures" / "incidents" / "postmortem_p1_connections.md"
# Local time of a responder in UTC+2: the export must still say UTC.
CEST = timezone(timedelta(hours=2))


async def _story(tmp_path: Path) -> tuple[IncidentService, str, FixedClock]:
    clock = FixedClock(datetime(2025, 3, 4, 12, 0, 0, tzinfo=CEST))
    svc = IncidentService(LocalIncidentStore(tmp_path / "i"), clock=clock, actor="alice", environment="PRODUCTION")
    alert = SimpleNamespace(
        id="connections", title="Connection pool near exhaustion", detail="Connections used 93.0% (critical; manual: < 80 %)",
        alert_class="critical", metric="db.connections.pct", at=datetime(2025, 3, 4, 9, 57, 30, tzinfo=timezone.utc),
    )
    inc = await svc.open_from_alert(alert, {"db.connections.pct": {"value": 93.0, "state": "critical"}})
    ref = inc.ref

    async def later(minutes: float, action) -> None:
        clock.advance(minutes * 60)
        await action

    svc.actor = "bob"
    await later(4, svc.acknowledge(ref))
    await later(1, svc.assign_role(ref, Role.SCRIBE, "carol"))
    await later(0, svc.set_status(ref, Status.INVESTIGATING))
    await later(2, svc.add_note(ref, "idle-in-transaction sessions from the | worker pool", pinned=True))
    await later(5, svc.set_severity(ref, Severity.P0, "sign-ups failing for every tenant"))
    await later(8, svc.record_update(ref, "We are investigating failed sign-ups.", channel="clipboard"))
    await later(10, svc.set_status(ref, Status.IDENTIFIED))
    await later(5, svc.record_runbook_step(ref, "db-connection-exhaustion", "kill_idle", "succeeded", "terminated 37 sessions"))
    await later(1, svc.set_status(ref, Status.MITIGATED))
    await later(20, svc.set_status(ref, Status.RESOLVED))
    await later(30, svc.update_postmortem(ref, {
        "impact": "Sign-ups and logins failed for all tenants for 40 minutes.",
        "detection": "Connection alert (critical) 2.5 minutes before declaration.",
        "root_cause": "A worker deploy leaked transactions left idle.\nThe pool filled up.",
        "contributing_factors": "No idle_in_transaction_session_timeout.",
        "what_went_well": "Runbook worked first time.",
        "what_went_poorly": "Update cadence missed once.",
        "action_items": [
            {"text": "Set idle_in_transaction_session_timeout = 60s", "owner": "dba-team", "due": "2025-03-11"},
            {"text": "Alert on idle-in-transaction age", "owner": "bob", "due": ""},
        ],
    }))
    clock.advance(15 * 60)
    return svc, ref, clock


async def test_markdown_export_matches_golden(tmp_path: Path) -> None:
    svc, ref, _ = await _story(tmp_path)
    text = (await svc.export(ref, "md")).replace(ref, "INC-XXXX-NNNN")
    if os.environ.get("CS_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


async def test_markdown_timeline_is_pinned_events_in_utc(tmp_path: Path) -> None:
    svc, ref, _ = await _story(tmp_path)
    text = await svc.export(ref, "md")
    timeline = text.split("## Timeline (UTC)")[1].split("## Root cause")[0]
    assert "| 2025-03-04 10:00:00 | alice | Declared P1: Connection pool near exhaustion |" in timeline
    assert "idle-in-transaction sessions from the \\| worker pool" in timeline  # pinned note, pipe escaped
    assert "Runbook" not in timeline and "Metric snapshot" not in timeline  # generated, not pinned
    assert "12:00:00" not in timeline  # no local time leaked
    assert "| Severity | P0 Critical |" in text and "| Detected | 2025-03-04 09:57:30 UTC |" in text
    # Detection before the declaration is on the timeline, first.
    assert timeline.index("| 2025-03-04 09:57:30 | — | Detected by alert connections |") < timeline.index("Declared P1")


async def test_backdated_declaration_is_placed_when_it_was_declared(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2025, 3, 4, 12, 0, 0, tzinfo=timezone.utc))
    svc = IncidentService(LocalIncidentStore(tmp_path / "i"), clock=clock, actor="alice")
    inc = await svc.open(title="Declared on the phone", severity=Severity.P1, declared_at=clock.now() - timedelta(hours=2),
                         detected_at=clock.now() - timedelta(hours=2, minutes=10))
    clock.advance(60)
    await svc.acknowledge(inc.ref)
    timeline = (await svc.export(inc.ref, "md")).split("## Timeline (UTC)")[1].split("## Root cause")[0]
    rows = [line for line in timeline.splitlines() if line.startswith("| 2025")]
    assert rows == [
        "| 2025-03-04 09:50:00 | — | Detected |",
        "| 2025-03-04 10:00:00 | alice | Declared P1: Declared on the phone (recorded 2025-03-04 12:00:00) |",
        "| 2025-03-04 12:01:00 | alice | Acknowledged |",
    ]


async def test_unpinning_removes_from_the_timeline_and_pinning_adds(tmp_path: Path) -> None:
    svc, ref, _ = await _story(tmp_path)
    inc = await svc.get(ref)
    runbook = next(e for e in inc.events if e.type.value == "runbook_step")
    note = next(e for e in inc.events if e.type.value == "note")
    await svc.pin(ref, runbook.seq, True)
    await svc.pin(ref, note.seq, False)
    timeline = (await svc.export(ref, "md")).split("## Timeline (UTC)")[1].split("## Root cause")[0]
    assert "Runbook db-connection-exhaustion step kill_idle: succeeded — terminated 37 sessions" in timeline
    # A note stays on the timeline when unpinned; only its mark goes.
    assert "| bob | Note: idle-in-transaction sessions from the \\| worker pool |" in timeline
    assert "**Pinned**" not in timeline


async def test_every_note_is_in_the_exported_timeline_pinned_ones_marked(tmp_path: Path) -> None:
    svc, ref, clock = await _story(tmp_path)
    clock.advance(60)
    await svc.add_note(ref, "replica lag back under 1 s")  # not pinned
    text = await svc.export(ref, "md")
    timeline = text.split("## Timeline (UTC)")[1].split("## Root cause")[0]
    assert "| bob | Note: replica lag back under 1 s |" in timeline
    assert "| bob | **Pinned** Note: idle-in-transaction sessions from the \\| worker pool |" in timeline
    assert "Runbook" not in timeline  # other unpinned events still stay out


async def test_json_export_shape(tmp_path: Path) -> None:
    svc, ref, _ = await _story(tmp_path)
    data = json.loads(await svc.export(ref, "json"))
    assert data["ref"] == ref and data["severity"] == "P0" and data["max_severity"] == "P0"
    assert data["proposed_severity"] == "P1" and data["triage_answers"] == {"partial_outage": True}
    assert data["declared_at"] == "2025-03-04T10:00:00.000000Z" and data["exported_at"].endswith("Z")
    assert data["roles"] == {"commander": "bob", "scribe": "carol", "communications": ""}
    assert [e["seq"] for e in data["events"]] == list(range(1, len(data["events"]) + 1))
    assert {b["kind"] for b in data["sla"]["breaches"]} == {"update"}  # P0 cadence after the change
    assert data["postmortem"]["action_items"][0]["owner"] == "dba-team"
    assert all(e["ts"].endswith("Z") for e in data["events"])
