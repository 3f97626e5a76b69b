"""A real HTTP server on 127.0.0.1 answering like an Atlassian Statuspage site, for tests.

`GET /api/v2/summary.json` answers `fake.summary` (a dict, built with `summary()`),
or raw bytes set with `fake.raw`, or stalls for `fake.stall_s` seconds. Shapes
follow the Statuspage public API (v2 summary: page, status, components with
`group`/`group_id`/`components`, incidents with `shortlink`, `impact`,
`components` and `incident_updates[].affected_components`,
scheduled_maintenances with `scheduled_for`/`scheduled_until`); the regional
groups are named like Supabase's ("AWS eu-central-1").
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE_ID = "xmgq5n4j8kq9"
REGIONS = ("us-east-1", "eu-central-1", "ap-southeast-1")
SERVICES = ("Database", "Auth", "Storage", "Edge Functions", "Realtime")
_T = "2026-12-03T09:00:00.000Z"


def _component(cid: str, name: str, *, group_id: str | None = None, children: list[str] | None = None,
               status: str = "operational", position: int = 1) -> dict[str, Any]:
    comp: dict[str, Any] = {
        "id": cid, "name": name, "status": status, "created_at": _T, "updated_at": _T, "position": position,
        "description": None, "showcase": False, "start_date": None, "group_id": group_id, "page_id": PAGE_ID,
        "group": children is not None, "only_show_if_degraded": False,
    }
    if children is not None:
        comp["components"] = children
    return comp


def components(degraded: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Global components, then one group per region with a component per service.
    `degraded`: component id -> status (ids look like `eu-central-1/database`)."""
    degraded = degraded or {}
    out = [_component("dashboard", "Dashboard", status=degraded.get("dashboard", "operational")),
           _component("management-api", "Management API", status=degraded.get("management-api", "operational"))]
    for n, region in enumerate(REGIONS):
        gid = f"group-{region}"
        kids = [f"{region}/{s.lower().replace(' ', '-')}" for s in SERVICES]
        out.append(_component(gid, f"AWS {region}", children=kids, position=10 + n))
        for kid, service in zip(kids, SERVICES):
            out.append(_component(kid, service, group_id=gid, status=degraded.get(kid, "operational")))
    return out


def incident(name: str, affected: list[str], *, status: str = "investigating", impact: str = "major",
             ident: str = "p1xqv7zk2m0d") -> dict[str, Any]:
    """An unresolved incident on the given component ids (see components())."""
    by_id = {c["id"]: c for c in components()}
    comps = [{**by_id[a], "status": "partial_outage"} for a in affected]
    return {
        "id": ident, "name": name, "status": status, "impact": impact, "created_at": _T, "updated_at": _T,
        "monitoring_at": None, "resolved_at": None, "started_at": _T, "page_id": PAGE_ID,
        "shortlink": f"https://stspg.io/{ident[:7]}",
        "incident_updates": [{
            "id": ident + "u1", "status": status, "body": "We are investigating elevated error rates.",
            "incident_id": ident, "created_at": _T, "updated_at": _T, "display_at": _T,
            "affected_components": [{"code": a, "name": by_id[a]["name"], "old_status": "operational", "new_status": "partial_outage"} for a in affected],
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None,
        }],
        "components": comps,
    }


def maintenance(name: str, affected: list[str], *, status: str = "scheduled", ident: str = "m4intenance01") -> dict[str, Any]:
    base = incident(name, affected, status=status, impact="maintenance", ident=ident)
    return {**base, "scheduled_for": "2026-12-05T02:00:00.000Z", "scheduled_until": "2026-12-05T04:00:00.000Z",
            "scheduled_remind_prior": True, "scheduled_auto_in_progress": True, "scheduled_auto_completed": True}


def summary(*, incidents: list[dict] | None = None, maintenances: list[dict] | None = None,
            degraded: dict[str, str] | None = None) -> dict[str, Any]:
    incidents = incidents or []
    indicator = max((i["impact"] for i in incidents), key=["none", "minor", "major", "critical"].index, default="none")
    return {
        "page": {"id": PAGE_ID, "name": "Supabase", "url": "https://status.supabase.com",
                 "time_zone": "Etc/UTC", "updated_at": _T},
        "status": {"indicator": indicator, "description": "All Systems Operational" if indicator == "none" else "Partial System Outage"},
        "components": components(degraded),
        "incidents": incidents,
        "scheduled_maintenances": maintenances or [],
    }


class FakeStatusPage:
    def __init__(self) -> None:
        self.summary: dict[str, Any] = summary()
        self.raw: bytes | None = None
        self.status_code = 200
        self.stall_s = 0.0
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "FakeStatusPage":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake.requests += 1
                if fake.stall_s:
                    time.sleep(fake.stall_s)
                if self.path.split("?")[0] != "/api/v2/summary.json":
                    self._send(404, b'{"error":"not found"}')
                    return
                body = fake.raw if fake.raw is not None else json.dumps(fake.summary).encode()
                self._send(fake.status_code, body)

            def _send(self, code: int, body: bytes) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=lambda: self._server.serve_forever(poll_interval=0.05), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeStatusPage":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
