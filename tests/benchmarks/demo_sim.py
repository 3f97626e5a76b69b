"""Cost of the demo simulation: metrics refresh, health check, log history and follow.

    python -m tests.benchmarks.demo_sim [--refreshes 200] [--history-min 60]

Prints, per scenario: the time of one metrics collect() and one health check()
(goal < 5 ms each), the time to generate the last hour of every log source
(goal: well under 2 s on an idle machine), records per second of simulated
time, and the start-up cost of a one-shot environment (the connection engine
steps the ~18 simulated minutes since onset). The machine's load is measured
too, with a reference loop, and the CPU time of the history generation is printed
beside its wall time, because these cores are usually shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import timeit
from datetime import datetime, timedelta, timezone

from cs_console.backends.demo.log_source import DemoLogSource
from cs_console.backends.demo.model.project import DemoProject
from cs_console.backends.demo.model.scenarios import SCENARIO_NAMES

ANCHOR = datetime(2026, 6, 10, 14, 30, tzinfo=timezone.utc)
REFERENCE_IDLE_MS = 15.0  # sum(range(10**6)) on this machine when idle
GOAL_CALL_S = 0.005  # one metrics collect() or one health check()
GOAL_HISTORY_CPU_S = 2.0  # the last hour of every log source


def reference_ms() -> float:
    return min(timeit.repeat("sum(range(1000000))", number=5, repeat=3)) / 5 * 1000


async def history_seconds(project: DemoProject, minutes: float) -> tuple[int, float, float]:
    """(records, wall seconds, CPU seconds of this process)."""
    source = DemoLogSource(project, "all")
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    async for batch in source.records(project.now() - timedelta(minutes=minutes), False):
        n += len(batch)
    return n, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--history-min", type=float, default=60.0)
    args = parser.parse_args()
    ref = reference_ms()
    load = os.getloadavg()[0]
    print(f"reference loop {ref:.1f} ms (idle ≈ {REFERENCE_IDLE_MS:.0f} ms), load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'scenario':24} {'build':>8} {'collect':>9} {'check':>8} {'history':>9} {'cpu':>7} {'records':>9} {'rec/sim-s':>10}")
    missed: list[str] = []
    for scenario in SCENARIO_NAMES:
        started = time.perf_counter()
        project = DemoProject(scenario, 7, one_shot=True, anchor=ANCHOR, real_time=False)
        build = time.perf_counter() - started
        collects, checks = [], []
        for _ in range(args.refreshes):
            project.clock.advance(2.0)
            t = time.perf_counter()
            project.metrics_snapshot()
            collects.append(time.perf_counter() - t)
            t = time.perf_counter()
            project.health()
            checks.append(time.perf_counter() - t)
        fresh = DemoProject(scenario, 7, one_shot=True, anchor=ANCHOR, real_time=False)
        n, elapsed, cpu = asyncio.run(history_seconds(fresh, args.history_min))
        print(f"{scenario:24} {build * 1000:6.0f}ms {statistics.median(collects) * 1000:7.2f}ms "
              f"{statistics.median(checks) * 1000:6.2f}ms {elapsed:8.2f}s {cpu:6.2f}s {n:9d} {n / (args.history_min * 60):10.1f}")
        # The goals (once asserted, with margins for a loaded machine, in the unit tests).
        if statistics.median(collects) >= GOAL_CALL_S or statistics.median(checks) >= GOAL_CALL_S:
            missed.append(f"{scenario}: collect/check over {GOAL_CALL_S * 1000:g} ms")
        if cpu >= GOAL_HISTORY_CPU_S * args.history_min / 60:
            missed.append(f"{scenario}: history over {GOAL_HISTORY_CPU_S:g} CPU s per hour")
    print("collect/check: median wall time per call; history: the last", f"{args.history_min:g} min of all sources,",
          "wall and CPU time of this process (CPU ≈ the wall time on an idle machine)")
    print("RESULT:", "goal met" if not missed else "goal NOT met: " + "; ".join(missed))


if __name__ == "__main__":
    main()
