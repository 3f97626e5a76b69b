"""Stakeholder updates: a per-severity template filled from the incident.

P0 is loud and says when the next update comes; P3 is a short notice. The
text is plain (Slack renders it as is); the operator may edit it before it is
copied or posted. Every update sent is recorded and restarts the update timer.
"""

from __future__ import annotations

from datetime import datetime

from cs_console.domain.incidents.model import Incident
from cs_console.domain.incidents.severity import Severity
from cs_console.domain.incidents.status import Status
from cs_console.domain.durations import elapsed

_STATUS_WORDS = {
    Status.TRIAGE: "We are assessing the problem.",
    Status.INVESTIGATING: "We are investigating the cause.",
    Status.IDENTIFIED: "The cause has been identified and a fix is being worked on.",
    Status.MITIGATED: "A mitigation is in place; we are monitoring and working on the permanent fix.",
    Status.RESOLVED: "The incident is resolved.",
    Status.POSTMORTEM: "The incident is resolved; the post-mortem review is under way.",
    Status.CLOSED: "The incident is closed.",
    Status.DECLINED: "This turned out not to be an incident.",
    Status.MERGED: "This is tracked as part of another incident.",
}

TEMPLATES: dict[Severity, str] = {
    Severity.P0: (
        "🔴 [{sev} {sev_name}] {ref}: {title}\n"
        "Status: {status} — {status_words}\n"
        "Impact: {impact}\n"
        "Components: {components}\n"
        "Declared {declared} ({age} ago). Commander: {commander}.\n"
        "{next_update}"
    ),
    Severity.P1: (
        "🟠 [{sev} {sev_name}] {ref}: {title}\n"
        "Status: {status} — {status_words}\n"
        "Impact: {impact}\n"
        "Components: {components}. Commander: {commander}.\n"
        "{next_update}"
    ),
    Severity.P2: (
        "🟡 [{sev} {sev_name}] {ref}: {title}\n"
        "Status: {status} — {status_words}\n"
        "Impact: {impact}\n"
        "{next_update}"
    ),
    Severity.P3: (
        "[{sev} {sev_name}] {ref}: {title}\n"
        "Status: {status} — {status_words}"
    ),
}


def render_update(inc: Incident, now: datetime) -> str:
    """The update text for the incident as it stands now (UTC times)."""
    sev = inc.severity
    cadence = sev.policy.update_every
    if inc.status.is_working and cadence is not None:
        # Sending this update restarts the timer, so the next one is due a cadence from now.
        nxt = now + cadence
        next_update = f"Next update by {nxt:%H:%M} UTC (every {elapsed(cadence)})."
    elif inc.status.is_working:
        next_update = "Next update when the situation changes."
    else:
        next_update = "No further scheduled updates."
    impact = inc.postmortem.get("impact") or inc.summary or "Being assessed."
    return TEMPLATES[sev].format(
        sev=sev.value, sev_name=sev.policy.name.upper() if sev is Severity.P0 else sev.policy.name,
        ref=inc.ref, title=inc.title, status=inc.status.value, status_words=_STATUS_WORDS[inc.status],
        impact=str(impact).strip().splitlines()[0] if str(impact).strip() else "Being assessed.",
        components=", ".join(inc.components) or "being determined",
        declared=f"{inc.declared_at:%H:%M} UTC" if inc.declared_at else "—",
        age=elapsed(now - inc.declared_at) if inc.declared_at else "—",
        commander=inc.commander or "not assigned yet", next_update=next_update,
    ).rstrip() + "\n"
