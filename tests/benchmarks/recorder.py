"""Cost of the flight recorder: bytes per hour and CPU per second of recording, per demo scenario.

    python -m tests.benchmarks.recorder [--minutes 20] [--scenario NAME ...]

Each scenario plays `--minutes` of simulated time at the console's own cadence (metrics
every 2 s, health every 10 s, logs every second, as the demo at --speed 1 does) with the
recorder on (the ring setting, so everything is recorded), the way the console wires it:
redaction, the writer thread, zlib. It prints:

- bytes per hour: the recording's file size (database + WAL) over the hours recorded
  (goal <= 50 MB/h), and the frames written;
- CPU per recorded second, as a share of one core (goal <= 2 %), split into the
  recorder's calls on the UI loop, the writer thread (encode, redact, compress, commit),
  and the demo's generation of the records the recorder follows (the `all` log source
  it opens: on a live console that is polling the API, on the demo it is simulation).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.backends.demo.model.scenarios import SCENARIO_NAMES
from cs_console.services.monitor import Monitor
from cs_console.services.recorder import Recorder
from cs_console.services.session import session_from_args
from cs_console.stores.recording_store import RecordingWriter
from cs_console.wiring.demo import build_demo_environment
from cs_console.wiring.recording import session_redactor
from tests.sessions import session_args

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)
GOAL_CORE_PCT = 2.0
GOAL_MB_PER_H = 50.0


class _Timed:
    """Thread CPU spent in the wrapped calls."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            began = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - began

        return timed


async def run(scenario: str, minutes: float, folder: Path) -> dict[str, float]:
    session = session_from_args(session_args(demo=True, scenario=scenario, seed=7))
    env = build_demo_environment(session, one_shot=False, anchor=ANCHOR, real_time=False)
    path = folder / f"{scenario}.recording.sqlite3"
    writers: list[RecordingWriter] = []

    def sink() -> RecordingWriter:
        writers.append(RecordingWriter(path, redact=session_redactor(session).text, ring_hours=2.0))
        return writers[-1]

    recorder = Recorder(env.clock, sink, ring_hours=2.0)
    timed = _Timed()
    for name in ("observe_metrics", "observe_health", "observe_alert", "observe_logs"):
        setattr(recorder, name, timed.wrap(getattr(recorder, name)))
    env.recorder = recorder
    monitor = Monitor(env, persist_alerts=False)
    gen_cpu = 0.0
    records = 0
    seconds = int(minutes * 60)
    for second in range(1, seconds + 1):
        env.clock.advance(1.0)
        if second % 2 == 0:
            await monitor.refresh_metrics()
        if second % 10 == 0:
            await monitor.refresh_health()
        began = time.thread_time()
        # What the simulated second produced, as the recorder's follow of `all` gets it.
        batch = [r async for b in env.log_source("all").records(env.clock.now() - timedelta(seconds=1), False) for r in b]
        gen_cpu += time.thread_time() - began
        records += len(batch)
        recorder.observe_logs(batch)
    await recorder.aclose()
    writer = writers[0]
    size = sum(p.stat().st_size for p in folder.glob(f"{scenario}.recording.sqlite3*"))
    hours = seconds / 3600
    return {
        "mb_per_h": size / hours / 1e6, "frames": writer.written, "dropped": writer.dropped, "records": records,
        "ui_pct": timed.cpu_s / seconds * 100, "writer_pct": writer.cpu_s / seconds * 100, "gen_pct": gen_cpu / seconds * 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--scenario", action="append", choices=SCENARIO_NAMES)
    args = parser.parse_args()
    print(f"{args.minutes:g} simulated minutes per scenario; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'scenario':24} {'MB/h':>7} {'frames':>7} {'dropped':>7} {'log rec/s':>9} {'UI loop':>8} {'writer':>7} {'recorder':>9} {'+ log gen':>9}")
    worst = {"mb": 0.0, "pct": 0.0}
    with tempfile.TemporaryDirectory(prefix="cs-recorder-bench-") as tmp:
        for scenario in args.scenario or SCENARIO_NAMES:
            r = asyncio.run(run(scenario, args.minutes, Path(tmp)))
            own = r["ui_pct"] + r["writer_pct"]
            worst["mb"] = max(worst["mb"], r["mb_per_h"])
            worst["pct"] = max(worst["pct"], own)
            print(f"{scenario:24} {r['mb_per_h']:7.2f} {r['frames']:7.0f} {r['dropped']:7.0f} {r['records'] / (args.minutes * 60):9.1f}"
                  f" {r['ui_pct']:7.2f}% {r['writer_pct']:6.2f}% {own:8.2f}% {r['gen_pct']:8.2f}%")
    verdict = "within" if worst["mb"] <= GOAL_MB_PER_H and worst["pct"] <= GOAL_CORE_PCT else "OVER"
    print(f"worst: {worst['mb']:.2f} MB/h (goal <= {GOAL_MB_PER_H:g}), recorder {worst['pct']:.2f} % of a core (goal <= {GOAL_CORE_PCT:g} %): {verdict} the goals")


if __name__ == "__main__":
    main()
