"""The status page facet of the demo: what status.supabase.com would publish at the simulated time.

It builds the same JSON shape as a Statuspage `/api/v2/summary.json` (global
components, one group per region, unresolved incidents with their affected
components and short link), so the demo's probe goes through the very parser
and judgement the live one uses (domain/platform_status.py). Only the
platform-incident scenario posts an incident; every other scenario sees an
operational page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cs_console.backends.demo.model import scenarios as sc
from cs_console.backends.demo.model.catalog import REGION
from cs_console.backends.demo.model.core import ProjectCore

STATUS_PAGE_URL = "https://status.supabase.com"
PAGE_ID = "demo0statuspg"
REGIONS: tuple[str, ...] = ("us-east-1", REGION, "ap-southeast-1")
SERVICES: tuple[str, ...] = ("API Gateway", "Database", "Auth", "Storage", "Edge Functions", "Realtime")
INCIDENT_ID = "demo0incident"
INCIDENT_NAME = f"Elevated API latency and errors in {REGION}"
INCIDENT_LINK = "https://stspg.io/demo0in"
_AFFECTED = (f"{REGION}/api-gateway",)
_UPDATES = {
    "investigating": "We are investigating elevated latency and 5xx responses on the API gateway in this region.",
    "identified": "A faulty load balancer configuration was identified; a fix is being rolled out.",
    "monitoring": "The fix is deployed; latency and error rates are back to normal. We are monitoring.",
}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _components(degraded: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"id": "dashboard", "name": "Dashboard", "status": "operational", "group": False, "group_id": None},
        {"id": "management-api", "name": "Management API", "status": "operational", "group": False, "group_id": None},
    ]
    for region in REGIONS:
        gid = f"group-{region}"
        kids = [f"{region}/{s.lower().replace(' ', '-')}" for s in SERVICES]
        out.append({"id": gid, "name": f"AWS {region}", "status": "partial_outage" if degraded & set(kids) else "operational",
                    "group": True, "group_id": None, "components": kids})
        for kid, service in zip(kids, SERVICES):
            out.append({"id": kid, "name": service, "status": "partial_outage" if kid in degraded else "operational",
                        "group": False, "group_id": gid})
    return out


class StatusPageFacet(ProjectCore):
    """The public status page of the simulated platform."""

    def status_page_summary(self) -> dict[str, Any]:
        with self._lock:
            t = self._now()
            tau = self.ctx.tau(t) if self.ctx.scenario == "platform-incident" else None
            status = sc.platform_incident_status(tau) if tau is not None else None
            incidents: list[dict[str, Any]] = []
            degraded: set[str] = set()
            if status is not None and self.ctx.onset is not None:
                degraded = set(_AFFECTED) if status != "monitoring" else set()
                posted = _iso(self.ctx.onset + sc.PLATFORM_POSTED_AT_S)
                incidents.append({
                    "id": INCIDENT_ID, "name": INCIDENT_NAME, "status": status, "impact": "major",
                    "shortlink": INCIDENT_LINK, "created_at": posted, "started_at": posted, "updated_at": _iso(t),
                    "resolved_at": None, "page_id": PAGE_ID,
                    "components": [c for c in _components(set(_AFFECTED)) if c["id"] in _AFFECTED],
                    "incident_updates": [{
                        "id": f"{INCIDENT_ID}-{status}", "status": status, "body": _UPDATES[status], "display_at": _iso(t),
                        "affected_components": [{"code": a, "name": "API Gateway", "old_status": "operational",
                                                 "new_status": "partial_outage" if a in degraded else "operational"} for a in _AFFECTED],
                    }],
                })
            return {
                "page": {"id": PAGE_ID, "name": "Supabase", "url": STATUS_PAGE_URL, "time_zone": "Etc/UTC", "updated_at": _iso(t)},
                "status": {"indicator": "major" if incidents else "none",
                           "description": "Partial System Outage" if incidents else "All Systems Operational"},
                "components": _components(degraded),
                "incidents": incidents,
                "scheduled_maintenances": [],
            }
