"""Time to first paint of `cs-console demo`, and idle terminal traffic on the Overview and
Metrics panes, measured in a real pseudo-terminal with ptyprobe (beside htop when present).

    python -m tests.benchmarks.first_paint [--runs 3]

Goals: first paint <= 1.0 s; idle bytes/s at 120x40 refreshing every 2 s: Overview <= htop's
(377 B/s in the reference run), Metrics <= 2 kB/s.
"""

from __future__ import annotations

import argparse
import shutil

from tests.benchmarks.probe import cs_console_cmd, median_of, probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=float, default=10.0, help="idle window in seconds")
    args = parser.parse_args()
    demo = cs_console_cmd("demo", "--seed", "7")
    rows: list[tuple[str, str]] = []

    for size in ("120x40", "80x24"):
        runs = [probe(demo, "--size", size, "--until", "Daily review", "--timeout", "60") for _ in range(args.runs)]
        rows.append((f"first paint, cs-console demo, {size} (s)", f"{median_of(runs, 'first_paint_s'):.3f}"))

    idle = [probe(demo, "--size", "120x40", "--until", "Daily review", "--settle", "3", "--duration", str(args.window)) for _ in range(args.runs)]
    rows.append(("idle Overview 120x40, bytes/s", f"{median_of(idle, 'steady.bytes_per_s'):.0f}"))
    rows.append(("idle Overview 120x40, CPU %", f"{median_of(idle, 'steady.cpu_pct'):.1f}"))
    rows.append(("peak RSS, MB", f"{median_of(idle, 'peak_rss_kb') / 1024:.0f}"))

    metrics = [probe(demo, "--size", "120x40", "--until", "Daily review", "--keys", "send:2;;wait:Database", "--settle", "3", "--duration", str(args.window)) for _ in range(args.runs)]
    rows.append(("idle Metrics 120x40, bytes/s", f"{median_of(metrics, 'steady.bytes_per_s'):.0f}"))

    if shutil.which("htop"):
        htop = [probe(["htop", "-d", "10"], "--size", "120x40", "--until", "Load average", "--settle", "2", "--duration", str(args.window)) for _ in range(args.runs)]
        rows.append(("htop idle 120x40, bytes/s (same harness)", f"{median_of(htop, 'steady.bytes_per_s'):.0f}"))

    width = max(len(k) for k, _ in rows)
    print(f"median of {args.runs} runs")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
