"""HTTP steps via httpx (Supabase Auth admin, Management API).

Secrets reach headers and bodies only through templates that reference env
vars (``{{secret.service_role_key}}``, secret inputs ``env:NAME``); this
executor receives the rendered call and never logs it. Errors are one line
and carry no header values.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from cs_console.backends.supabase.errors import AUTH_ADMIN_KEY_NEED, is_auth_admin, key_mismatch
from cs_console.domain.runbooks.calls import Call, ExecResult, HttpCall, OutputCallback

USER_AGENT = "cs-console-runbook"


class HttpExecutor:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    async def aclose(self) -> None:
        return None

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int = 65536, on_output: OutputCallback | None = None) -> ExecResult:
        assert isinstance(call, HttpCall)
        started = time.monotonic()
        headers = {"User-Agent": USER_AGENT, **dict(call.headers)}
        mismatch = key_mismatch(call.url, headers)
        if mismatch:  # a certain 401: say which key is needed instead of sending
            return ExecResult(False, error=mismatch, duration_ms=0)
        kwargs: dict[str, Any] = {"headers": headers}
        if call.json is not None:
            kwargs["json"] = call.json
        elif call.body is not None:
            kwargs["content"] = call.body.encode("utf-8")
        try:
            async with httpx.AsyncClient(timeout=timeout_s, transport=self._transport, follow_redirects=False) as client:
                resp = await client.request(call.method, call.url, **kwargs)
                raw = resp.content[: max_bytes + 1]
        except httpx.TimeoutException:
            return ExecResult(False, error=f"timed out after {timeout_s:g}s", timed_out=True,
                              duration_ms=int((time.monotonic() - started) * 1000))
        except httpx.HTTPError as exc:
            # httpx error text can include the URL, never headers.
            return ExecResult(False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'request failed'}",
                              duration_ms=int((time.monotonic() - started) * 1000))
        truncated = len(raw) > max_bytes
        text = raw[:max_bytes].decode("utf-8", "backslashreplace")
        value: Any = text
        ctype = resp.headers.get("content-type", "")
        if not truncated and ("json" in ctype or text[:1] in ("{", "[")):
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        out = f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip()
        body_lines = (json.dumps(value, indent=2, ensure_ascii=False) if not isinstance(value, str) else text).splitlines()
        if on_output:
            on_output(out)
            for line in body_lines[:200]:
                on_output(line)
        ok = resp.status_code in call.expect_status
        err = "" if ok else f"HTTP {resp.status_code} (expected {', '.join(map(str, call.expect_status))})"
        if resp.status_code == 401 and is_auth_admin(call.url):
            err += ": " + AUTH_ADMIN_KEY_NEED
        return ExecResult(ok, value=value, output="\n".join([out, *body_lines]), http_status=resp.status_code,
                          error=err, duration_ms=int((time.monotonic() - started) * 1000), truncated=truncated)
