"""Stakeholder updates posted to a Slack-compatible webhook on a loopback HTTP server."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cs_console.domain.incidents import EventType, IncidentError, Severity
from cs_console.domain.incidents.timers import sla
from cs_console.services.incidents import IncidentService
from cs_console.stores.incident_store_local import LocalIncidentStore

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0kenXYZ"


class Hook:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.body = b"ok"


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            state.received.append({"path": self.path, "json": payload, "type": self.headers.get("Content-Type")})
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.end_headers()
                self.wfile.write(state.body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}{SECRET_PATH}"
    server.shutdown()
    server.server_close()


def _service(tmp_path: Path, url: str | None, timeout: float = 5.0) -> IncidentService:
    return IncidentService(LocalIncidentStore(tmp_path / "i"), actor="alice", webhook_url=lambda: url, webhook_timeout=timeout)


async def test_posted_update_is_recorded_and_resets_the_timer(tmp_path: Path, hook, caplog: pytest.LogCaptureFixture) -> None:
    state, url = hook
    caplog.set_level(logging.DEBUG)
    svc = _service(tmp_path, url)
    inc = await svc.open(title="API 5xx", severity=Severity.P1, components=["REST"])
    body = await svc.update_text(inc.ref)
    inc = await svc.post_update(inc.ref, body)
    assert state.received == [{"path": SECRET_PATH, "json": {"text": body, "mrkdwn": False}, "type": "application/json"}]
    last = inc.events[-1]
    assert last.type is EventType.STAKEHOLDER_UPDATE and last.data["delivered"] and last.data["channel"] == "webhook"
    assert sla(inc, last.ts).update.deadline == last.ts + Severity.P1.policy.update_every
    assert SECRET_PATH not in caplog.text and "s3cr3t" not in json.dumps(inc.events[-1].to_json())


@pytest.mark.parametrize("status, expected", [(500, "HTTP 500: boom"), (404, "HTTP 404")])
async def test_refused_post_is_recorded_as_failed_without_the_url(tmp_path: Path, hook, status, expected, caplog) -> None:
    state, url = hook
    state.status = status
    state.body = b"boom" if status == 500 else b""
    caplog.set_level(logging.DEBUG)
    svc = _service(tmp_path, url)
    inc = await svc.open(title="t", severity=Severity.P1)
    with pytest.raises(IncidentError, match=f"update not delivered: the webhook answered {expected}") as err:
        await svc.post_update(inc.ref, "text")
    assert "s3cr3t" not in str(err.value) and "s3cr3t" not in caplog.text
    inc = await svc.get(inc.ref)
    assert inc.events[-1].data["delivered"] is False
    # A failed post does not count as an update.
    assert sla(inc, inc.events[-1].ts).update.deadline == inc.declared_at + Severity.P1.policy.update_every


async def test_timeout_and_unreachable_are_one_line_errors(tmp_path: Path, hook) -> None:
    state, url = hook
    state.delay = 1.0
    svc = _service(tmp_path, url, timeout=0.3)
    inc = await svc.open(title="t", severity=Severity.P2)
    with pytest.raises(IncidentError, match=r"did not answer within 0.3 s") as err:
        await svc.post_update(inc.ref, "x")
    assert "s3cr3t" not in str(err.value)
    gone = _service(tmp_path, "http://127.0.0.1:9/services/x/y/s3cr3t")
    with pytest.raises(IncidentError, match=r"could not be reached \(ConnectError\)") as err:
        await gone.post_update(inc.ref, "x")
    assert "s3cr3t" not in str(err.value)


async def test_no_webhook_configured(tmp_path: Path) -> None:
    svc = _service(tmp_path, None)
    inc = await svc.open(title="t", severity=Severity.P2)
    with pytest.raises(IncidentError, match="set webhook_url_env"):
        await svc.post_update(inc.ref, "x")
    assert not svc.webhook_configured
