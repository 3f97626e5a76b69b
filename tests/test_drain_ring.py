"""The local drain ring: rotation, retention, crash recovery, and reading it back (since, tail, follow)."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from cs_console.backends.drain.dedupe import RecentIds
from cs_console.backends.drain.ring import RingLimits, RingStore, encode_line, segment_paths
from cs_console.backends.drain.ring_source import RingLogSource
from tests.drain_sender import batches, body_of, mixed_events, post_until_killed
from tests.pg_server import free_port, listening

REPO = Path(__file__).resolve().parents[1]


def _rows(events):
    return [(e["id"], "edge_logs", e["timestamp"], json.dumps(e)) for e in events]


async def _all(source: RingLogSource, since=None, tail=100_000) -> list:
    out = []
    async for batch in source.records(since, False, tail=tail):
        out.extend(batch)
    return out


async def test_segments_rotate_by_size_and_retention_drops_the_oldest(tmp_path: Path) -> None:
    ring = RingStore(tmp_path, RingLimits(segment_bytes=20_000, max_bytes=100_000))
    ring.open()
    events = mixed_events(400)
    for chunk in batches(events, 20):
        await ring.put(_rows(chunk))
    ring.close()
    segments = segment_paths(tmp_path)
    total = sum(p.stat().st_size for _, p in segments)
    assert len(segments) >= 3
    assert total <= 100_000 + 20_000 + 25_000  # the bound, plus the open segment and one batch over it
    records = await _all(RingLogSource(tmp_path))
    # What is left is the newest, in order, with no gap inside it.
    ids = [r.id for r in records]
    assert ids == [e["id"] for e in events[-len(ids):]]
    assert len(ids) < 400


async def test_segments_rotate_by_age_and_old_ones_expire(tmp_path: Path) -> None:
    ring = RingStore(tmp_path, RingLimits(segment_seconds=0.05, retention_seconds=3600))
    ring.open()
    await ring.put(_rows(mixed_events(5, seed=1)))
    await asyncio.sleep(0.1)
    await ring.put(_rows(mixed_events(5, seed=2)))
    assert len(segment_paths(tmp_path)) == 2
    old = segment_paths(tmp_path)[0][1]
    stale = time.time() - 7200
    os.utime(old, (stale, stale))
    assert ring.prune() == [old]
    ring.close()
    assert len(await _all(RingLogSource(tmp_path))) == 5


async def test_a_torn_last_line_is_cut_on_open_and_ids_are_remembered(tmp_path: Path) -> None:
    ring = RingStore(tmp_path)
    ring.open()
    events = mixed_events(10)
    await ring.put(_rows(events))
    ring.close()
    [(_, seg)] = segment_paths(tmp_path)
    with open(seg, "ab") as fh:  # a crash in the middle of a write
        fh.write(encode_line(1, "torn", "edge_logs", '{"id": "torn", "event_mes')[:30])
    recent = RecentIds()
    again = RingStore(tmp_path)
    assert again.open(recent) == 10
    again.close()
    assert seg.read_bytes().endswith(b"\n")
    assert all(e["id"] in recent for e in events) and "torn" not in recent
    assert [r.id for r in await _all(RingLogSource(tmp_path))] == [e["id"] for e in events]


async def test_since_tail_and_source_filter(tmp_path: Path) -> None:
    ring = RingStore(tmp_path, RingLimits(segment_bytes=30_000))
    ring.open()
    now = datetime.now(timezone.utc)
    now_us = int(now.timestamp() * 1e6)
    events = mixed_events(500, now_us=now_us, spread_us=500_000_000)  # one event a second for 500 s
    for chunk in batches(events, 50):
        await ring.put([(e["id"], "postgres_logs" if "parsed" in e["metadata"] else "edge_logs", e["timestamp"], json.dumps(e)) for e in chunk])
    ring.close()
    since = now - timedelta(seconds=100)
    recent = await _all(RingLogSource(tmp_path), since=since)
    assert recent and all(r.ts >= since for r in recent)
    assert len(recent) == sum(1 for e in events if e["timestamp"] >= int(since.timestamp() * 1e6))
    tail = await _all(RingLogSource(tmp_path), tail=30)
    assert [r.id for r in tail] == [e["id"] for e in events[-30:]]
    pg_only = await _all(RingLogSource(tmp_path, "postgres"), tail=7)
    assert len(pg_only) == 7 and {r.source for r in pg_only} == {"postgres"}


async def test_follow_sees_new_batches_across_segments(tmp_path: Path) -> None:
    ring = RingStore(tmp_path, RingLimits(segment_bytes=5_000))
    ring.open()
    source = RingLogSource(tmp_path, poll_interval=0.01)
    seen: list = []

    async def follow() -> None:
        async for batch in source.records(None, True):
            seen.extend(batch)

    task = asyncio.create_task(follow())
    events = mixed_events(120)
    try:
        for chunk in batches(events, 10):
            await ring.put(_rows(chunk))
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 10
        while len(seen) < 120 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        ring.close()
    assert [r.id for r in seen] == [e["id"] for e in events]
    assert len(segment_paths(tmp_path)) > 3
    assert source.caught_up() and source.lag_seconds() is not None


async def test_detail_of_a_pruned_segment_says_it_is_gone(tmp_path: Path) -> None:
    ring = RingStore(tmp_path)
    ring.open()
    await ring.put(_rows(mixed_events(3)))
    ring.close()
    [rec, *_] = await _all(RingLogSource(tmp_path))
    for _, p in segment_paths(tmp_path):
        p.unlink()
    assert "no longer readable" in rec.fields()["raw"]["line"]


# ----------------------------------------------------------------- the real process


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CS_CONSOLE_DRAIN_SECRET": "kill-test-secret-0123456789", "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONPATH": str(REPO)}


def _start(tmp_path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_console", "drain", "serve", "--listen", f"127.0.0.1:{port}"],
        env=_env(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    if not listening(port, 30):
        proc.kill()
        raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no receiver")
    return proc


def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(tmp_path, port)
    events = mixed_events(250 * 40)
    headers = {"X-Drain-Secret": "kill-test-secret-0123456789"}
    acknowledged, failed = post_until_killed(port, events, headers, proc, kill_after=250 * 12)
    assert len(acknowledged) >= 250 * 12 and failed > 0  # posts were cut off by the kill
    # Restarted: every acknowledged event is there, once; a retry of them is a duplicate.
    proc = _start(tmp_path, port)
    try:
        ring_dir = tmp_path / "state" / "cs-console" / "drain" / "default"
        stored = [r.id for r in asyncio.run(_all(RingLogSource(ring_dir), tail=10**6))]
        assert set(acknowledged) <= set(stored)
        assert len(stored) == len(set(stored))
        data, h = body_of(events[:250])
        r = httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, **headers}, timeout=10)
        assert r.json() == {"accepted": 0, "duplicates": 250}
    finally:
        proc.terminate()
        proc.wait(10)
        err = proc.stderr.read().decode() if proc.stderr else ""
    assert "drain: stopped" in err and "kill-test-secret" not in err


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env.pop("CS_CONSOLE_DRAIN_SECRET")
    r = subprocess.run([sys.executable, "-m", "cs_console", "drain", "serve"], env=env, cwd=REPO, capture_output=True, timeout=60)
    assert r.returncode == 2
    assert b"$CS_CONSOLE_DRAIN_SECRET" in r.stderr and b"Traceback" not in r.stderr


def test_serve_warns_when_not_on_loopback_and_checks_listen(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cs_console", "drain", "serve", "--listen", "nonsense"], env=_env(tmp_path), cwd=REPO, capture_output=True, timeout=60)
    assert r.returncode == 2 and b"HOST:PORT" in r.stderr
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "drain", "serve", "--listen", f"0.0.0.0:{port}"],
                            env=_env(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert listening(port, 30)
    finally:
        proc.terminate()
        proc.wait(10)
    err = proc.stderr.read().decode()
    assert "warning: listening on 0.0.0.0" in err and "NO TLS" in err


def test_drain_status_prints_per_source_counters(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config" / "cs-console" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[profiles.default]\ndrain = "local"\ndrain_listen = "127.0.0.1:{port}"\n')
    config.chmod(0o600)
    proc = _start(tmp_path, port)
    try:
        data, h = body_of(mixed_events(10))
        r = httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, "X-Drain-Secret": "kill-test-secret-0123456789"}, timeout=10)
        assert r.status_code == 200
        httpx.post(f"http://127.0.0.1:{port}/", content=data, headers={**h, "X-Drain-Secret": "nope"}, timeout=10)
        otlp = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hi"}}, {}]}]}]}
        r = httpx.post(f"http://127.0.0.1:{port}/v1/logs", json=otlp, headers={"X-Drain-Secret": "kill-test-secret-0123456789"}, timeout=10)
        assert r.status_code == 200 and r.json()["partialSuccess"]["rejectedLogRecords"] == 1
        out = subprocess.run([sys.executable, "-m", "cs_console", "drain", "status"], env=_env(tmp_path), cwd=REPO, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        text = out.stdout.decode()
        assert "edge_logs" in text and "accepted         4" in text and "rejected: 401: 1" in text
        assert "OTLP (/v1/logs): 1 requests, 1 log records rejected" in text
        bad = {**_env(tmp_path), "CS_CONSOLE_DRAIN_SECRET": "wrong-but-long-enough-secret"}
        out = subprocess.run([sys.executable, "-m", "cs_console", "drain", "status"], env=bad, cwd=REPO, capture_output=True, timeout=60)
        assert out.returncode == 1 and b"refused the secret" in out.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_over_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_console", "drain", "serve", "--listen", f"127.0.0.1:{port}", "--tls-cert", str(cert), "--tls-key", str(key)],
        env=_env(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        assert listening(port, 30)
        data, h = body_of(mixed_events(5))
        r = httpx.post(f"https://127.0.0.1:{port}/", content=data, headers={**h, "X-Drain-Secret": "kill-test-secret-0123456789"}, verify=ssl.create_default_context(cafile=str(cert)), timeout=10)
        assert r.json() == {"accepted": 5, "duplicates": 0}
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"http://127.0.0.1:{port}/", content=data, headers=h, timeout=5)
    finally:
        proc.terminate()
        proc.wait(10)
    assert "https://127.0.0.1" in proc.stderr.read().decode()
    r = subprocess.run([sys.executable, "-m", "cs_console", "drain", "serve", "--tls-cert", str(cert)], env=_env(tmp_path), cwd=REPO, capture_output=True, timeout=60)
    assert r.returncode == 2 and b"go together" in r.stderr


async def test_a_failed_write_is_taken_back_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = RingStore(tmp_path)
    ring.open()
    await ring.put(_rows(mixed_events(5, seed=1)))
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError):
        await ring.put(_rows(mixed_events(5, seed=2)))
    monkeypatch.setattr(os, "write", real_write)
    later = mixed_events(5, seed=3)
    await ring.put(_rows(later))
    ring.close()
    ids = [r.id for r in await _all(RingLogSource(tmp_path))]
    assert ids == [e["id"] for e in mixed_events(5, seed=1)] + [e["id"] for e in later]


def test_the_demo_posts_its_logs_to_the_drain_and_they_can_be_tailed(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path)
    env.pop("CS_CONSOLE_DRAIN_SECRET")  # the demo needs none
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_console", "drain", "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        assert listening(port, 30)
        ring = tmp_path / "state" / "cs-console" / "demo" / "drain" / "default"
        records: list = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len({r.source for r in records}) < 4:
            time.sleep(0.5)
            records = asyncio.run(_all(RingLogSource(ring), tail=5000))
        assert {"edge", "function", "auth", "postgres"} <= {r.source for r in records}
        assert any(r.function and not r.function.count("-") == 4 for r in records if r.source == "function"), "slugs from the relay's path"
        out = subprocess.run([sys.executable, "-m", "cs_console", "logs", "--demo", "--source", "drain", "--json", "--limit", "20"],
                             env=_env(tmp_path), cwd=REPO, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) == 20
        # Nothing demo went to the real profile's ring.
        assert not (tmp_path / "state" / "cs-console" / "drain").exists()
    finally:
        proc.terminate()
        proc.wait(10)
    err = proc.stderr.read().decode()
    assert "the demo (calm) posts its logs here" in err
    # The demo's own posts are not logged one line a second (httpx's INFO request log).
    assert "HTTP Request:" not in err, err[-400:]


def test_status_in_demo_and_bad_secrets_never_show_the_secret(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env.pop("CS_CONSOLE_DRAIN_SECRET")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "drain", "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert listening(port, 30)
        secret_file = tmp_path / "state" / "cs-console" / "demo" / "drain" / "default" / "demo-secret"
        for _ in range(100):
            if secret_file.exists():
                break
            time.sleep(0.05)
        secret = secret_file.read_text()
        assert len(secret) >= 32 and secret_file.stat().st_mode & 0o077 == 0
        out = subprocess.run([sys.executable, "-m", "cs_console", "drain", "status", "--demo", "--listen", f"127.0.0.1:{port}"],
                             env=env, cwd=REPO, capture_output=True, timeout=60)
        assert out.returncode == 0 and b"store ring" in out.stdout, out.stderr
        assert secret.encode() not in out.stdout + out.stderr
        for bad in ("tiny-x", "abcdefabcdef\nsecretvalue123", "abcdéfabcdefsecretvalue123"):
            r = subprocess.run([sys.executable, "-m", "cs_console", "drain", "status", "--listen", f"127.0.0.1:{port}"],
                               env={**env, "CS_CONSOLE_DRAIN_SECRET": bad}, cwd=REPO, capture_output=True, timeout=60)
            err = r.stderr.decode()
            assert r.returncode == 2 and "CS_CONSOLE_DRAIN_SECRET" in err and "Traceback" not in err and bad not in err, err
        r = subprocess.run([sys.executable, "-m", "cs_console", "drain", "status", "--listen", f"127.0.0.1:{port}"],
                           env=env, cwd=REPO, capture_output=True, timeout=60)
        assert r.returncode == 2 and b"no shared secret" in r.stderr
    finally:
        proc.terminate()
        proc.wait(10)
    err = proc.stderr.read().decode()
    assert secret not in err and "one-off demo secret" in err


def test_bare_since_is_a_one_line_error(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cs_console", "logs", "--demo", "--source", "drain", "--since"],
                       env=_env(tmp_path), cwd=REPO, capture_output=True, timeout=60)
    assert r.returncode == 2 and r.stderr.decode().startswith("logs: --since: expected a value: a duration like 15m")
    assert r.stderr.count(b"\n") == 1
