"""A sender shaped like Supabase's custom-endpoint Log Drain (see tests/fixtures/drain/README.md).

What it does like the platform: POST, a JSON array body of at most 250
events, gzip (Content-Encoding: gzip) unless turned off, the drain's custom
headers on every request. Events are Logflare log event bodies: `id` (UUID),
`timestamp` (µs since the epoch), `event_message`, `metadata` in the shape
each Supabase source has, `project`. Used by the tests, the benchmark and
the demo-style manual check. `--otlp` (and `otlp_body_of`) sends them as Supabase's
OTLP drain does: a protobuf ExportLogsServiceRequest to `/v1/logs`.
"""

from __future__ import annotations

import gzip
import json
import random
import time
import uuid
from typing import Any

BATCH_MAX = 250  # events per request, as the platform batches them
PROJECT = "abcdefghijklmnopqrst"


def edge_event(rng: random.Random, ts_us: int, status: int = 200) -> dict[str, Any]:
    method = rng.choice(("GET", "POST", "PATCH"))
    path = rng.choice(("/rest/v1/conversations", "/rest/v1/messages", "/auth/v1/token", "/functions/v1/send-email"))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": ts_us,
        "event_message": f"{method} | {status} | 203.0.113.{rng.randint(1, 254)} | {rng.getrandbits(64):016x} | https://{PROJECT}.supabase.co{path} | demo-agent/1.0",
        "project": PROJECT,
        "metadata": {
            "request": {
                "method": method, "path": path, "host": f"{PROJECT}.supabase.co", "protocol": "https:",
                "headers": {"user_agent": "demo-agent/1.0", "x_real_ip": "203.0.113.9", "cf_ray": f"{rng.getrandbits(64):016x}"},
                "cf": {"country": "DE", "colo": "FRA", "asn": 3320},
            },
            "response": {"status_code": status, "origin_time": rng.randint(3, 400), "headers": {"content_type": "application/json"}},
        },
    }


def function_event(rng: random.Random, ts_us: int, status: int = 200, name: str = "send-email") -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": ts_us,
        "event_message": f"POST | {status} | https://{PROJECT}.functions.supabase.co/{name}",
        "metadata": {
            "function_id": "4f8e0c1a-0000-4000-8000-00000000beef",
            "deployment_id": f"{PROJECT}_4f8e0c1a_7",
            "execution_time_ms": rng.randint(20, 1800),
            "project_ref": PROJECT,
            "request": {"method": "POST", "pathname": f"/{name}", "host": f"{PROJECT}.functions.supabase.co"},
            "response": {"status_code": status},
        },
    }


def postgres_event(rng: random.Random, ts_us: int, severity: str = "LOG") -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": ts_us,
        "event_message": "connection authorized: user=authenticator database=postgres" if severity == "LOG" else "canceling statement due to statement timeout",
        "project": PROJECT,
        "metadata": {
            "host": f"db-{PROJECT}",
            "parsed": {"error_severity": severity, "backend_type": "client backend", "database_name": "postgres", "user_name": "authenticator", "sql_state_code": "00000" if severity == "LOG" else "57014"},
        },
    }


def auth_event(rng: random.Random, ts_us: int, status: int = 200) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": ts_us,
        "event_message": json.dumps({"component": "api", "level": "info", "method": "POST", "msg": "request completed", "path": "/token", "status": status}),
        "project": PROJECT,
        "metadata": {"component": "api", "level": "info", "method": "POST", "msg": "request completed", "path": "/token", "status": status, "host": f"db-{PROJECT}"},
    }


def mixed_events(n: int, *, seed: int = 7, now_us: int | None = None, spread_us: int = 1_000_000) -> list[dict[str, Any]]:
    """n events of every kind, timestamps spread over the last `spread_us` before now."""
    rng = random.Random(seed)
    now_us = now_us if now_us is not None else int(time.time() * 1e6)
    makers = (edge_event, edge_event, function_event, postgres_event, auth_event)
    out = []
    for i in range(n):
        ts = now_us - spread_us + (spread_us * i) // max(1, n)
        out.append(makers[i % len(makers)](rng, ts))
    return out


def body_of(events: list[dict[str, Any]], *, gzipped: bool = True) -> tuple[bytes, dict[str, str]]:
    """The request body and content headers as the drain sends them."""
    data = json.dumps(events, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if gzipped:
        data = gzip.compress(data, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return data, headers


def _any_value(v: Any) -> Any:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    out = AnyValue()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        out.int_value = v
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, str):
        out.string_value = v
    elif isinstance(v, list):
        out.array_value.values.extend(_any_value(x) for x in v)
    elif isinstance(v, dict):
        out.kvlist_value.values.extend(KeyValue(key=k, value=_any_value(x)) for k, x in v.items())
    return out


def supabase_otlp(events: list[dict[str, Any]]) -> Any:
    """The ExportLogsServiceRequest Supabase's OTLP drain (Logflare's OTLP adaptor) sends for these
    events: one resource, scope "logflare", a record per event with timeUnixNano = timestamp,
    eventName = event_message and the rest of the event (id, metadata, project) as a kvlist body."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend([KeyValue(key="logflare.source_uuid", value=_any_value("0f4c-test"))])
    sl = rl.scope_logs.add()
    sl.scope.name = "logflare"
    for event in events:
        rest = {k: v for k, v in event.items() if k not in ("timestamp", "event_message")}
        rec = sl.log_records.add()
        rec.time_unix_nano = event["timestamp"] * 1000
        rec.observed_time_unix_nano = event["timestamp"] * 1000 + 5_000_000
        rec.event_name = event["event_message"]
        rec.body.CopyFrom(_any_value(rest))
    return request


def otlp_body_of(events: list[dict[str, Any]], *, gzipped: bool = True) -> tuple[bytes, dict[str, str]]:
    """The OTLP drain's request body (protobuf) and content headers."""
    data = supabase_otlp(events).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    if gzipped:
        data = gzip.compress(data, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return data, headers


def batches(events: list[dict[str, Any]], size: int = BATCH_MAX) -> list[list[dict[str, Any]]]:
    return [events[i:i + size] for i in range(0, len(events), size)]


def post_until_killed(port: int, events: list[dict[str, Any]], headers: dict[str, str], proc: Any, kill_after: int) -> tuple[list[str], int]:
    """POST `events` in batches on four connections and SIGKILL the receiver `proc` once
    `kill_after` events are acknowledged (other batches are in flight right then).
    Returns the acknowledged event ids and the number of posts that failed."""
    import signal
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    acknowledged: list[str] = []
    failed = 0
    lock = threading.Lock()

    def send(chunk: list[dict[str, Any]]) -> None:
        nonlocal failed
        data, h = body_of(chunk)
        try:
            r = httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **headers}, timeout=10)
        except httpx.HTTPError:
            with lock:
                failed += 1
            return
        with lock:
            if r.status_code == 200:
                acknowledged.extend(e["id"] for e in chunk)
            if len(acknowledged) >= kill_after and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, batches(events)))
    finally:
        proc.kill()
        proc.wait(10)
    return acknowledged, failed


def main() -> None:
    """Post simulated drain traffic to a receiver: `python -m tests.drain_sender [--rate N] [--seconds S]`."""
    import argparse
    import os
    import sys

    import httpx

    parser = argparse.ArgumentParser(description="Post Supabase-shaped Log Drain batches to a drain receiver.")
    parser.add_argument("--url", default="http://127.0.0.1:9513/")
    parser.add_argument("--header", default="X-Drain-Secret")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=0.0, help="how long (0: until Ctrl-C)")
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument("--otlp", action="store_true", help="post as Supabase's OTLP drain does (protobuf to URL/v1/logs)")
    args = parser.parse_args()
    secret = os.environ.get("CS_CONSOLE_DRAIN_SECRET", "")
    if not secret:
        sys.exit("set CS_CONSOLE_DRAIN_SECRET to the receiver's secret")
    # One request a second (or 250 events, whichever first), as the platform batches.
    per_batch = max(1, min(BATCH_MAX, int(args.rate)))
    pause = per_batch / args.rate
    end = time.time() + args.seconds if args.seconds else float("inf")
    url = args.url.rstrip("/") + "/v1/logs" if args.otlp and not args.url.rstrip("/").endswith("/v1/logs") else args.url
    n = 0
    with httpx.Client(timeout=10) as client:
        while time.time() < end:
            events = mixed_events(per_batch, seed=int(time.time() * 1000) ^ n)
            data, headers = (otlp_body_of if args.otlp else body_of)(events, gzipped=not args.no_gzip)
            try:
                r = client.post(url, content=data, headers={**headers, args.header: secret})
                answer = r.text.strip() if not args.otlp else (r.headers.get("Content-Type", "") + f", {len(r.content)} bytes")
                print(f"{len(events)} events -> {r.status_code} {answer}", flush=True)
            except httpx.HTTPError as exc:
                print(f"{len(events)} events -> {type(exc).__name__}", flush=True)
            n += 1
            try:
                time.sleep(pause)
            except KeyboardInterrupt:
                return


if __name__ == "__main__":
    main()
