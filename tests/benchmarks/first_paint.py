"""Time to first paint of `cs-console demo`, and idle terminal traffic on the Overview and
Metrics panes, measured in a real pseudo-terminal with ptyprobe (beside htop when present).

    python -m tests.benchmarks.first_paint [--runs 3]

Goals: first paint <= 1.0 s; idle bytes/s at 120x40 refreshing every 2 s: Overview <= htop's
(377 B/s in the reference run), Metrics <= 2 kB/s. Prints the load average beside the figures:
on a shared machine they move with it. ptyprobe is looked up in ../shared/tools, or
$CS_SHARED_TOOLS (a fresh clone elsewhere).
"""

from __future__ import annotations

import argparse
import os
import shutil

from tests.benchmarks.probe import cs_console_cmd, median_of, probe


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _mark(report: dict, name: str) -> float:
    return next(s["t_end"] for s in report.get("steps", []) if s.get("verb") == "mark" and s.get("arg") == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=float, default=10.0, help="idle window in seconds")
    args = parser.parse_args()
    demo = cs_console_cmd("demo", "--seed", "7")
    load_before = _load()
    rows: list[tuple[str, str]] = []

    for size in ("120x40", "80x24"):
        runs = [probe(demo, "--size", size, "--until", "Daily review", "--timeout", "60") for _ in range(args.runs)]
        rows.append((f"first paint, cs-console demo, {size} (s)", f"{median_of(runs, 'first_paint_s'):.3f}"))

    idle = [probe(demo, "--size", "120x40", "--until", "Daily review", "--settle", "3", "--duration", str(args.window)) for _ in range(args.runs)]
    rows.append(("idle Overview 120x40, bytes/s", f"{median_of(idle, 'steady.bytes_per_s'):.0f}"))
    rows.append(("idle Overview 120x40, CPU %", f"{median_of(idle, 'steady.cpu_pct'):.1f}"))
    rows.append(("peak RSS, MB", f"{median_of(idle, 'peak_rss_kb') / 1024:.0f}"))

    # "Connection limit" is on the Metrics pane only ("Database" is on the Overview too, which
    # let the idle window start before the switch and counted its repaint as idle traffic).
    metrics = [probe(demo, "--size", "120x40", "--until", "Daily review", "--keys", "send:2;;wait:Connection limit", "--settle", "3", "--duration", str(args.window)) for _ in range(args.runs)]
    rows.append(("idle Metrics 120x40, bytes/s", f"{median_of(metrics, 'steady.bytes_per_s'):.0f}"))

    # A key pressed as soon as the first frame is up: how long until it has acted.
    keys = [probe(demo, "--size", "80x24", "--until", "Daily review", "--keys", "mark:k;;send:2;;wait(20):Connection limit;;mark:shown") for _ in range(args.runs)]
    rows.append(("'2' pressed at first paint -> Metrics shown (s)", f"{median_of([{'d': _mark(r, 'shown') - _mark(r, 'k')} for r in keys], 'd'):.3f}"))

    if shutil.which("htop"):
        htop = [probe(["htop", "-d", "10"], "--size", "120x40", "--until", "Load average", "--settle", "2", "--duration", str(args.window)) for _ in range(args.runs)]
        rows.append(("htop idle 120x40, bytes/s (same harness)", f"{median_of(htop, 'steady.bytes_per_s'):.0f}"))

    width = max(len(k) for k, _ in rows)
    # Figures depend on how busy the machine is: say so next to them.
    print(f"median of {args.runs} runs; load average before/after: {load_before} / {_load()} on {os.cpu_count()} CPUs")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
