"""A sender shaped like Supabase's custom-endpoint Log Drain (see tests/fixtures/drain/README.md).

What it does like the platform: POST, a JSON array body of at most 250
events, gzip (Content-Encoding: gzip) unless turned off, the drain's custom
headers on every request. Events are Logflare log event bodies: `id` (UUID),
`timestamp` (µs since the epoch), `event_message`, `metadata` in the shape
each Supabase source has, `project`. Used by the tests, the benchmark and
the demo-style manual check.
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


def batches(events: list[dict[str, Any]], size: int = BATCH_MAX) -> list[list[dict[str, Any]]]:
    return [events[i:i + size] for i in range(0, len(events), size)]


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
    args = parser.parse_args()
    secret = os.environ.get("CS_CONSOLE_DRAIN_SECRET", "")
    if not secret:
        sys.exit("set CS_CONSOLE_DRAIN_SECRET to the receiver's secret")
    # One request a second (or 250 events, whichever first), as the platform batches.
    per_batch = max(1, min(BATCH_MAX, int(args.rate)))
    pause = per_batch / args.rate
    end = time.time() + args.seconds if args.seconds else float("inf")
    n = 0
    with httpx.Client(timeout=10) as client:
        while time.time() < end:
            events = mixed_events(per_batch, seed=int(time.time() * 1000) ^ n)
            data, headers = body_of(events, gzipped=not args.no_gzip)
            try:
                r = client.post(args.url, content=data, headers={**headers, args.header: secret})
                print(f"{len(events)} events -> {r.status_code} {r.text.strip()}", flush=True)
            except httpx.HTTPError as exc:
                print(f"{len(events)} events -> {type(exc).__name__}", flush=True)
            n += 1
            try:
                time.sleep(pause)
            except KeyboardInterrupt:
                return


if __name__ == "__main__":
    main()
