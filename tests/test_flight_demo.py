"""The demo records like the real thing: a console killed mid-recording leaves a replayable recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cs_console.services.session import session_from_args
from cs_console.stores.recording_store import RecordingReader
from cs_console.wiring.replay import build_replay_environment, find_replay, replay_session
from tests.sessions import session_args

ROOT = Path(__file__).resolve().parent.parent


def test_a_demo_console_killed_mid_incident_can_be_replayed() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.flight_console_child", "10"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        opened = proc.stdout.readline().split()
        assert opened[:1] == ["open"], proc.stderr.read() if proc.poll() is not None else opened
        ref = opened[1]
        line = proc.stdout.readline()
        assert line.startswith("recording"), line
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    session = session_from_args(session_args(demo=True))
    target = find_replay(session, ref, None)
    reader = RecordingReader(target.path)
    kinds = {k for _, k, _ in reader.frames()}
    assert {"metrics", "health", "alert", "incident", "logs", "source"} <= kinds, kinds
    assert reader.meta()["namespace"] == "demo"
    replay = build_replay_environment(replay_session(session), target)
    assert replay.replay.metric_times and replay.replay.incident_ref == ref
