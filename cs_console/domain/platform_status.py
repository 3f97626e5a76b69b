"""The platform's own status page (an Atlassian Statuspage summary) judged for one project.

The manual's immediate response says "check the Supabase status page". The page
publishes `/api/v2/summary.json`: the page, an overall indicator, components
(some are groups holding others by id; Supabase names regions like
"AWS eu-central-1"), unresolved incidents with the components they affect, and
upcoming or in-progress scheduled maintenances.

`parse_summary` turns that JSON into plain values (a wrong shape is a
`SummaryFormatError` with a short reason); `assess` says what it means for a
project in a region: an unresolved incident on our region or on the whole
platform is DEGRADED with its title and link; nothing relevant is HEALTHY.
Never DOWN: the page describes the platform, not what our project answers.
Pure: the fetching lives in backends/statuspage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cs_console.domain.health import HealthStatus
from cs_console.domain.safe_text import safe_text

# AWS-style region codes inside component names ("AWS ap-southeast-1", "Database (us-east-1)").
_REGION_RE = re.compile(r"\b([a-z]{2}(?:-gov)?-[a-z]+-\d{1,2})\b")
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d{1,2}$")

COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")
_DONE = {"resolved", "postmortem", "completed"}


class SummaryFormatError(ValueError):
    """The answer is not a Statuspage summary (one line, for the operator)."""


@dataclass(frozen=True, slots=True)
class StatusComponent:
    id: str
    name: str
    status: str
    group_id: str | None = None
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """An unresolved incident or a scheduled maintenance."""

    kind: str  # "incident" | "maintenance"
    id: str
    name: str
    status: str  # investigating/identified/monitoring (incidents); scheduled/in_progress/verifying (maintenances)
    impact: str
    link: str
    components: tuple[tuple[str, str], ...]  # (component id, name) it names as affected
    scheduled_for: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlatformSummary:
    page_url: str
    indicator: str  # none / minor / major / critical / maintenance
    description: str
    components: tuple[StatusComponent, ...]
    incidents: tuple[StatusEvent, ...]
    maintenances: tuple[StatusEvent, ...]


@dataclass(frozen=True, slots=True)
class PlatformAssessment:
    status: HealthStatus
    detail: str
    incident: StatusEvent | None = None  # the one named in the detail, if any


# ---------------------------------------------------------------- parsing


def _text(value: Any, limit: int = 200) -> str:
    return safe_text(str(value), limit) if value is not None else ""


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SummaryFormatError(f"'{key}' is not a list")
    return value


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _event(kind: str, raw: Any, page_url: str) -> StatusEvent:
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise SummaryFormatError(f"an entry of '{kind}s' has no name")
    named: dict[str, str] = {}
    for comp in raw.get("components") or []:
        if isinstance(comp, Mapping):
            named[str(comp.get("id", ""))] = _text(comp.get("name"))
    # The latest updates name the components they changed (code = component id).
    for update in raw.get("incident_updates") or []:
        for comp in (update.get("affected_components") or []) if isinstance(update, Mapping) else []:
            if isinstance(comp, Mapping):
                named.setdefault(str(comp.get("code", "")), _text(comp.get("name")))
    ident = _text(raw.get("id", ""), 64)
    link = raw.get("shortlink") or (f"{page_url.rstrip('/')}/incidents/{ident}" if page_url and ident else "")
    return StatusEvent(
        kind, ident, _text(raw["name"]), _text(raw.get("status", ""), 40), _text(raw.get("impact", ""), 40),
        _text(link, 300), tuple(named.items()), _when(raw.get("scheduled_for")),
    )


def parse_summary(data: Any) -> PlatformSummary:
    if not isinstance(data, Mapping):
        raise SummaryFormatError("not a JSON object")
    if "components" not in data and "incidents" not in data:
        raise SummaryFormatError("no 'components' or 'incidents': not a Statuspage summary")
    page = data.get("page") if isinstance(data.get("page"), Mapping) else {}
    page_url = _text(page.get("url", ""), 300)
    status = data.get("status") if isinstance(data.get("status"), Mapping) else {}
    components = []
    for raw in _list(data, "components"):
        if not isinstance(raw, Mapping) or "id" not in raw or "name" not in raw:
            raise SummaryFormatError("a component without id or name")
        components.append(StatusComponent(
            _text(raw["id"], 64), _text(raw["name"]), _text(raw.get("status", ""), 40),
            _text(raw["group_id"], 64) if raw.get("group_id") else None, bool(raw.get("group")),
        ))
    incidents = tuple(e for e in (_event("incident", r, page_url) for r in _list(data, "incidents")) if e.status not in _DONE)
    maintenances = tuple(e for e in (_event("maintenance", r, page_url) for r in _list(data, "scheduled_maintenances")) if e.status not in _DONE)
    return PlatformSummary(page_url, _text(status.get("indicator", ""), 40), _text(status.get("description", "")),
                           tuple(components), incidents, maintenances)


# ---------------------------------------------------------------- judging


def regions_in(name: str) -> set[str]:
    return set(_REGION_RE.findall(name.lower()))


def _component_regions(summary: PlatformSummary) -> dict[str, set[str]]:
    """Component id -> the regions its own name or its group's name names (empty: not regional)."""
    by_id = {c.id: c for c in summary.components}
    out: dict[str, set[str]] = {}
    for comp in summary.components:
        found = regions_in(comp.name)
        group = by_id.get(comp.group_id or "")
        if group is not None:
            found |= regions_in(group.name)
        out[comp.id] = found
    return out


def _scope(event: StatusEvent, regions: Mapping[str, set[str]], region: str | None) -> str:
    """"ours", "platform" (no region named, or a component that is not regional), "elsewhere", or "unknown" (our region is not known)."""
    if not event.components:
        return "platform"
    named: set[str] = set()
    for comp_id, name in event.components:
        found = regions.get(comp_id, set()) | regions_in(name)
        if not found:
            return "platform"
        named |= found
    if region is None:
        return "unknown"
    return "ours" if region in named else "elsewhere"


def _describe(event: StatusEvent) -> str:
    what = ", ".join(x for x in (event.status, f"{event.impact} impact" if event.impact and event.impact != "none" else "") if x)
    return f"{event.name} ({what})" + (f" {event.link}" if event.link else "")


def assess(summary: PlatformSummary, region: str | None) -> PlatformAssessment:
    """What the status page means for a project in `region` (None: not known)."""
    region = region.lower() if region else None
    regions = _component_regions(summary)
    where = region or "our region (unknown)"
    relevant: list[tuple[StatusEvent, str]] = []
    elsewhere: list[StatusEvent] = []
    for event in summary.incidents:
        scope = _scope(event, regions, region)
        (elsewhere.append(event) if scope == "elsewhere" else relevant.append((event, scope)))
    if relevant:
        event, scope = relevant[0]
        label = {"ours": f"incident in {region}", "platform": "platform-wide incident",
                 "unknown": "incident (project region unknown: it may not affect us)"}[scope]
        more = f"; +{len(relevant) - 1} more" if len(relevant) > 1 else ""
        return PlatformAssessment(HealthStatus.DEGRADED, f"{label}: {_describe(event)}{more}", event)
    maintenance_now = [m for m in summary.maintenances if m.status in ("in_progress", "verifying") and _scope(m, regions, region) != "elsewhere"]
    if maintenance_now:
        m = maintenance_now[0]
        return PlatformAssessment(HealthStatus.DEGRADED, f"maintenance in progress: {_describe(m)}", m)
    hurt = [c for c in summary.components if not c.is_group and c.status not in ("", "operational")
            and (not regions[c.id] or region is None or region in regions[c.id])]
    if hurt:
        c = hurt[0]
        more = f"; +{len(hurt) - 1} more" if len(hurt) > 1 else ""
        return PlatformAssessment(HealthStatus.DEGRADED, f"{c.name}: {c.status.replace('_', ' ')} (no incident posted){more}")
    parts = [f"no incident for {where}" if region else "no incident on the platform"]
    if elsewhere:
        parts.append(f"{len(elsewhere)} elsewhere: {elsewhere[0].name}")
    upcoming = [m for m in summary.maintenances if m.status == "scheduled" and _scope(m, regions, region) != "elsewhere"]
    if upcoming:
        m = upcoming[0]
        when = f" {m.scheduled_for.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC" if m.scheduled_for and m.scheduled_for.tzinfo else ""
        parts.append(f"maintenance scheduled{when}: {m.name}")
    return PlatformAssessment(HealthStatus.HEALTHY, "; ".join(parts))
