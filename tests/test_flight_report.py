"""The post-mortem draws the flight recording: sparklines, alerts and outages, error logs per minute, steps, an SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.domain.incidents.flight_report import FlightData, render_markdown, render_svg
from cs_console.domain.sparkline import BARS
from cs_console.services.flight_report import with_flight_section
from cs_console.wiring.incidents import open_incident_service
from tests.recording_helpers import record_demo_incident

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
STEP = {"phase": "after", "runbook_id": "db-connection-issues", "step_id": "terminate_idle", "outcome": "succeeded",
        "detail": "terminated 12 idle-in-transaction backends"}


def test_render_markdown_and_svg_from_flight_data() -> None:
    data = FlightData(T0, T0 + timedelta(minutes=30))
    data.series["db.connections.pct"] = [(T0 + timedelta(minutes=m), 40.0 + 2 * m) for m in range(30)]
    data.alerts.append((T0 + timedelta(minutes=5), "raised", "critical", "Connection pool near exhaustion"))
    data.sources.append((T0 + timedelta(minutes=6), "db", "DOWN", "timeout | after 8 s"))
    data.log_minutes = [(T0 + timedelta(minutes=m), m % 3, 0, 10) for m in range(30)]
    data.steps.append((T0 + timedelta(minutes=20), "db-connection-issues", "terminate_idle", "succeeded", "12"))
    md = render_markdown(data, "INC.svg")
    assert "| Connections used | `" in md and BARS[0] in md and BARS[-1] in md
    assert "| 03:05:00 | CRITICAL alert raised: Connection pool near exhaustion |" in md
    assert "| 03:06:00 | source db DOWN: timeout \\| after 8 s |" in md  # a pipe in data stays in its cell
    assert "| 03:01 | 1 | 0 | 10 |" in md and "| 03:00 |" not in md.split("### Error logs per minute")[1].split("###")[0]
    assert "| 03:20:00 | db-connection-issues | terminate_idle | succeeded | 12 |" in md
    assert "![Key metrics over the incident window](INC.svg)" in md
    svg = ET.fromstring(render_svg(data))
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 1


def test_the_section_goes_after_the_timeline() -> None:
    doc = "# PM\n\n## Timeline (UTC)\n\nrows\n\n## Root cause\n\n_Not written yet._\n"
    out = with_flight_section(doc, "## What the console saw (flight recording)\n\nx\n")
    assert out.index("## Timeline") < out.index("## What the console saw") < out.index("## Root cause")
    assert with_flight_section("# no headings\n", "## S\n").endswith("# no headings\n\n## S\n")


async def test_the_exported_post_mortem_draws_the_recorded_incident(tmp_path: Path) -> None:
    rec = await record_demo_incident(lead_s=300, during_s=600, audit=[STEP])
    service = await open_incident_service(rec["session"])
    try:
        path = await service.export_to_file(rec["ref"], "md", tmp_path / "pm.md")
    finally:
        await service.close()
    md = path.read_text()
    section = md.split("## What the console saw (flight recording)")[1]
    assert "| Connections used | `" in section
    assert "CRITICAL alert raised: Connection pool near exhaustion" in section
    assert "### Error logs per minute" in section and "_No warning or error log record was recorded._" not in section
    assert "| db-connection-issues | terminate_idle | succeeded |" in section
    assert "![Key metrics over the incident window](pm.svg)" in section
    svg = ET.parse(tmp_path / "pm.svg").getroot()
    assert len(svg.findall("{http://www.w3.org/2000/svg}polyline")) >= 3


async def test_without_a_recording_the_post_mortem_is_as_before(tmp_path: Path) -> None:
    from cs_console.domain.incidents.severity import Severity
    from cs_console.services.session import session_from_args
    from tests.sessions import session_args

    session = session_from_args(session_args(demo=True))
    service = await open_incident_service(session)
    try:
        inc = await service.open(title="nothing recorded", severity=Severity.P3)
        path = await service.export_to_file(inc.ref, "md", tmp_path / "pm.md")
    finally:
        await service.close()
    assert "flight recording" not in path.read_text()
    assert not (tmp_path / "pm.svg").exists()
