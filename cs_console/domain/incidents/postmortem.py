"""Blameless post-mortem: the fields, what a complete one needs, and its export.

Markdown and JSON exports are pure functions of the incident and `now`, so the
same timeline always gives the same document (golden-tested). All times are UTC.
The timeline section is built from pinned events and every note (a note is what a
responder chose to write down; pinned ones are marked). Text typed by responders is
made single-line-safe (control characters visible) and table cells escaped.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from cs_console.domain.durations import elapsed
from cs_console.domain.incidents.events import EventType, IncidentEvent, format_ts
from cs_console.domain.safe_text import safe_text

if TYPE_CHECKING:
    from cs_console.domain.incidents.model import Incident

TEXT_FIELDS: tuple[str, ...] = (
    "summary", "impact", "detection", "root_cause", "contributing_factors", "what_went_well", "what_went_poorly",
)
ACTION_FIELDS: tuple[str, ...] = ("text", "owner", "due")

_HEADINGS = {
    "summary": "Summary", "impact": "Impact", "detection": "Detection", "root_cause": "Root cause",
    "contributing_factors": "Contributing factors", "what_went_well": "What went well",
    "what_went_poorly": "What went poorly",
}


def postmortem_gaps(inc: "Incident") -> list[str]:
    """What a P0/P1 post-mortem still lacks before the incident may close."""
    pm = inc.postmortem
    gaps = [name.replace("_", " ") for name in ("impact", "root_cause") if not str(pm.get(name, "")).strip()]
    items = pm.get("action_items") or []
    if not items:
        gaps.append("action items")
    elif any(not str(i.get("owner", "")).strip() for i in items):
        gaps.append("an owner for every action item")
    return gaps


def utc(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def describe(ev: IncidentEvent) -> str:
    """One line saying what an event was, for timelines (screen and export)."""
    d = ev.data
    t = ev.type
    if t is EventType.CREATED:
        text = f"Declared {d.get('severity')}: {d.get('title', '')}"
        if d.get("proposed_severity") and d.get("proposed_severity") != d.get("severity"):
            text += f" (proposed {d['proposed_severity']}; override: {d.get('override_reason', '')})"
        return text
    if t is EventType.STATUS_CHANGED:
        text = f"Status {d.get('from')} → {d.get('to')}"
        if d.get("reopen"):
            text = f"Reopened ({d.get('from')} → {d.get('to')})"
        if d.get("merge_into"):
            text += f" into {d['merge_into']}"
        if d.get("reason"):
            text += f": {d['reason']}"
        return text
    if t is EventType.SEVERITY_CHANGED:
        return f"Severity {d.get('from')} → {d.get('to')}: {d.get('reason', '')}"
    if t is EventType.ACKNOWLEDGED:
        return "Acknowledged" + (" (by changing status)" if d.get("implicit") else "")
    if t is EventType.ROLE_ASSIGNED:
        who = d.get("person") or "nobody"
        return f"{str(d.get('role', '')).capitalize()}: {who}"
    if t is EventType.NOTE:
        return f"Note: {d.get('text', '')}"
    if t is EventType.ALERT_ATTACHED:
        a = d.get("alert", {}) or {}
        return f"Alert attached [{a.get('alert_class', '')}] {a.get('title', '')}: {a.get('detail', '')}".rstrip(": ")
    if t is EventType.METRIC_SNAPSHOT:
        metrics = d.get("metrics", {}) or {}
        return f"Metric snapshot{' ' + repr(d['label']) if d.get('label') else ''} ({len(metrics)} metrics)"
    if t is EventType.RUNBOOK_STEP:
        text = f"Runbook {d.get('runbook_id')} step {d.get('step_id')}: {d.get('outcome')}"
        return text + (f" — {d['detail']}" if d.get("detail") else "")
    if t is EventType.STAKEHOLDER_UPDATE:
        ok = "sent" if d.get("delivered", True) else f"FAILED ({d.get('error', '')})"
        first = str(d.get("body", "")).strip().splitlines()[:1]
        # The templates' colour emoji are for Slack; terminals disagree on their width.
        line = first[0].lstrip("🔴🟠🟡\ufe0f ") if first else ""
        return f"Stakeholder update {ok} via {d.get('channel')}: {line}"
    if t is EventType.CHECKLIST_ITEM:
        seen = f" (seen: {d['note']})" if d.get("note") else ""
        return f"Checklist {d.get('item')}: {'done' if d.get('done', True) else 'not done'}{seen}"
    if t is EventType.DETAILS_EDITED:
        return "Details edited: " + ", ".join(sorted(d))
    if t is EventType.POSTMORTEM_EDITED:
        return "Post-mortem edited: " + ", ".join(sorted(d.get("fields", {})))
    if t is EventType.POSTMORTEM_WAIVED:
        return f"Post-mortem waived: {d.get('reason', '')}"
    if t is EventType.PIN_CHANGED:
        return f"{'Pinned' if d.get('pinned') else 'Unpinned'} event {d.get('target_seq')}"
    if t is EventType.DUPLICATE_MERGED:
        return f"{d.get('from_ref')} merged into this incident"
    return t.value


def _cell(text: Any) -> str:
    return safe_text(str(text), 500).replace("|", "\\|")


def _block(text: Any) -> str:
    """Multi-line prose kept as paragraphs, each line made safe."""
    lines = [safe_text(line, 2000) for line in str(text).strip().splitlines()]
    return "\n".join(lines).strip()


def _durations(inc: "Incident") -> list[tuple[str, str]]:
    def span(a: datetime | None, b: datetime | None) -> str:
        return elapsed(b - a) if a and b else "—"

    return [
        ("Time to detect→declare", span(inc.detected_at, inc.declared_at)),
        ("Time to acknowledge", span(inc.declared_at, inc.acknowledged_at)),
        ("Time to mitigate", span(inc.declared_at, inc.mitigated_at)),
        ("Time to resolve", span(inc.declared_at, inc.resolved_at)),
    ]


def _timeline_rows(inc: "Incident") -> list[tuple[datetime, str, str]]:
    """The post-mortem timeline: pinned events and every note, at the time they happened.

    A declaration entered later (--declared-at) is placed when it was declared,
    saying when it was recorded; detection before the declaration gets its own row.
    """
    rows: list[tuple[datetime, str, str]] = []
    if inc.detected_at is not None and inc.declared_at is not None and inc.detected_at < inc.declared_at:
        how = {"alert": f" by alert {inc.source_ref}", "health_check": f" by the health check ({inc.source_ref})"}
        rows.append((inc.detected_at, "—", "Detected" + how.get(inc.source.value, "")))
    for ev in inc.events:
        pinned = inc.is_pinned(ev)
        if not pinned and ev.type is not EventType.NOTE:
            continue
        at, what = ev.ts, describe(ev)
        if pinned and ev.type is EventType.NOTE:
            what = f"**Pinned** {what}"
        if ev.type is EventType.CREATED and inc.declared_at is not None and inc.declared_at < ev.ts:
            at, what = inc.declared_at, f"{what} (recorded {ev.ts:%Y-%m-%d %H:%M:%S})"
        rows.append((at, ev.actor, what))
    rows.sort(key=lambda row: row[0])  # stable: same-time events keep their order
    return rows


def export_markdown(inc: "Incident", now: datetime) -> str:
    from cs_console.domain.incidents.timers import sla

    pm = inc.postmortem
    out: list[str] = []
    out.append(f"# Post-mortem: {inc.ref} — {safe_text(inc.title, 200)}")
    out.append("")
    out.append("_Blameless: this review looks at systems and decisions, not at people._")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    sev = inc.severity.value
    if inc.max_severity is not inc.severity:
        sev += f" (was {inc.max_severity.value})"
    rows: list[tuple[str, str]] = [
        ("Severity", f"{sev} {inc.severity.policy.name}"),
        ("Status", inc.status.value),
        ("Environment", inc.environment or "—"),
        ("Source", inc.source.value + (f" ({inc.source_ref})" if inc.source_ref else "")),
        ("Components", ", ".join(inc.components) or "—"),
        ("Commander", inc.roles_display("commander")),
        ("Scribe", inc.roles_display("scribe")),
        ("Communications", inc.roles_display("communications")),
        ("Detected", utc(inc.detected_at)),
        ("Declared", utc(inc.declared_at)),
        ("Acknowledged", utc(inc.acknowledged_at) + (f" by {inc.acknowledged_by}" if inc.acknowledged_by else "")),
        ("Mitigated", utc(inc.mitigated_at)),
        ("Resolved", utc(inc.resolved_at)),
        ("Closed", utc(inc.closed_at)),
        *_durations(inc),
    ]
    out.extend(f"| {_cell(k)} | {_cell(v)} |" for k, v in rows)
    out.append("")
    for key in ("summary", "impact", "detection"):
        out.append(f"## {_HEADINGS[key]}")
        out.append("")
        text = pm.get(key) or (inc.summary if key == "summary" else "")
        out.append(_block(text) if str(text).strip() else "_Not written yet._")
        out.append("")
    out.append("## Timeline (UTC)")
    out.append("")
    rows = _timeline_rows(inc)
    if rows:
        out.append("| Time (UTC) | Who | What |")
        out.append("|---|---|---|")
        for at, who, what in rows:
            out.append(f"| {at:%Y-%m-%d %H:%M:%S} | {_cell(who)} | {_cell(what)} |")
    else:
        out.append("_No pinned events or notes._")
    out.append("")
    for key in ("root_cause", "contributing_factors", "what_went_well", "what_went_poorly"):
        out.append(f"## {_HEADINGS[key]}")
        out.append("")
        text = pm.get(key, "")
        out.append(_block(text) if str(text).strip() else "_Not written yet._")
        out.append("")
    out.append("## Action items")
    out.append("")
    items = pm.get("action_items") or []
    if items:
        out.append("| # | Action | Owner | Due |")
        out.append("|---|---|---|---|")
        for n, item in enumerate(items, start=1):
            out.append(f"| {n} | {_cell(item.get('text', ''))} | {_cell(item.get('owner', '') or '—')} | {_cell(item.get('due', '') or '—')} |")
    else:
        out.append("_None recorded._")
    out.append("")
    report = sla(inc, now)
    out.append("## Response targets")
    out.append("")
    if report.breaches:
        for b in report.breaches:
            out.append(f"- {b.describe()} ({b.until_text()})")
    else:
        out.append("- All response and update targets met.")
    if inc.postmortem_waiver:
        out.append("")
        out.append(f"Post-mortem waived: {_block(inc.postmortem_waiver)}")
    out.append("")
    out.append(f"_Exported {utc(now)} by cs-console._")
    out.append("")
    return "\n".join(out)


def export_json(inc: "Incident", now: datetime) -> dict[str, Any]:
    from cs_console.domain.incidents.timers import sla

    report = sla(inc, now)

    def ts(at: datetime | None) -> str | None:
        return format_ts(at) if at else None

    return {
        "ref": inc.ref, "title": inc.title, "summary": inc.summary,
        "severity": inc.severity.value, "max_severity": inc.max_severity.value,
        "proposed_severity": inc.proposed_severity.value if inc.proposed_severity else None,
        "override_reason": inc.override_reason, "triage_answers": dict(inc.triage_answers),
        "status": inc.status.value, "source": inc.source.value, "source_ref": inc.source_ref,
        "environment": inc.environment, "components": list(inc.components),
        "roles": {r.value: p for r, p in inc.roles.items()},
        "detected_at": ts(inc.detected_at), "declared_at": ts(inc.declared_at),
        "acknowledged_at": ts(inc.acknowledged_at), "acknowledged_by": inc.acknowledged_by,
        "mitigated_at": ts(inc.mitigated_at), "resolved_at": ts(inc.resolved_at), "closed_at": ts(inc.closed_at),
        "declined_reason": inc.declined_reason, "merged_into": inc.merged_into, "duplicates": list(inc.duplicates),
        "sla": {
            "response": {"state": report.response.state.value, "deadline": ts(report.response.deadline)},
            "next_update": {"state": report.update.state.value, "due": ts(report.update.deadline)},
            "breaches": [
                {"kind": b.kind.value, "severity": b.severity.value, "deadline": ts(b.deadline), "ended_at": ts(b.ended_at)}
                for b in report.breaches
            ],
        },
        "checklist": dict(inc.checklist),
        "postmortem": dict(inc.postmortem), "postmortem_waiver": inc.postmortem_waiver,
        "events": [dict(e.to_json(), pinned=inc.is_pinned(e), description=describe(e)) for e in inc.events],
        "exported_at": ts(now),
    }
