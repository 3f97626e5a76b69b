"""The Logs pane beside toolong and lnav, in the same run, driven through a pty by ptyprobe.

    python -m tests.benchmarks.logs_tui [--reps 3] [--only tail,open,filter,filter5m,rss]
                                        [--tools cs,toolong,lnav] [--workdir DIR]
                                        [--tail-variants text,level] [--keep-raw]

Exactly the harness of ../shared/research/anchor_tui_measurements.md
(../shared/tools/ptyprobe.py and loggen.py, 120x40, fresh HOME per run):

  tail    a file appended at 2,000 lines/s for 10 s (marker line every second)
          with a filter on: bytes/s to the terminal, CPU s in the 10 s window,
          marker lag (write -> first frame whose newest visible timestamp is at
          or after the marker's; median and max) and staleness.
          Two variants (--tail-variants): `text`, cs-console `--filter=-booted` and
          lnav `:filter-out booted`; `level`, cs-console `--filter=level>=warn` and
          lnav `:filter-in "level": "(warning|error|fatal|critical)"` (lnav reads
          loggen's lines as text, so its `:set-min-log-level` does nothing here).
          lnav's filter is typed when the prefill is shown, then G; toolong has no
          filter (it runs unfiltered, as in the reference). Markers are info lines,
          hidden by the level filter: their lag is then the time until a frame
          shows a line at least as new as the marker. Also frames/s and bytes per
          frame (pty reads less than 3 ms apart count as one frame), and a table of
          cs-console's figures beside lnav's with the ratio.
  open    a 1,000,000-line JSON-lines file: time until its last line is visible.
  filter  the same file, from start to "every line indexed and a filter over all of
          them on screen": cs-console waits for its status line to say `1M lines`
          (the whole file indexed; it shows the end first), then `/NEEDLE` Enter
          until the 10 matching lines are on screen. lnav: as soon as the last
          line shows (lnav indexes before it paints), `:filter-in NEEDLE` Enter,
          then `g` until the 10 lines are visible. toolong: find `NEEDLE-01`
          backwards from the end (it has no filter). Also: last line visible,
          peak RSS, CPU, all in the same run.
  filter5m  the same with 5,000,000 lines (1.2 GB): the same ratios, and the
          5M/1M time (linear growth: <= 5.5x).
  rss     peak RSS with a 100,000-line file loaded (cs-console: all 100,000 indexed).

cs-console is opened as `cs-console logs --source file:PATH --tui [--filter F]`,
with CS_CONSOLE_CONFIG pointing at a one-profile config that only sets
`log_buffer_size` (a file is read through its line index, not buffered).
Run it from the checkout under test with PYTHONPATH set to it. toolong comes from a
separate venv (pip install toolong into /tmp/venv-toolong; or --toolong PATH),
lnav from apt. Figures are medians (min-max) of --reps runs; the machine is
shared, so only figures from the same run are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from tests.benchmarks.probe import SHARED_TOOLS, cs_console_cmd, probe

LOGGEN = SHARED_TOOLS / "loggen.py"
SIZE = "120x40"
LAST = "LASTLINE-XQ7Z9"
PREFILL = "PREFILL-END-4411"
MARK_RX = r"MARK-(?P<id>\d{6})-(?P<ts>\d{10}\.\d{6})"
# What each viewer shows of a line's time: raw JSON for toolong and lnav, the
# pane's own column for cs-console (UTC, milliseconds).
FRESH_JSON = r'"timestamp": "(?P<ts>[0-9T:.-]+Z)"'
FRESH_CS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})"


class TailVariant(NamedTuple):
    test: str  # key of the results
    title: str
    cs_filter: str  # cs-console --filter
    lnav_command: str  # typed in lnav once the prefill is on screen
    lnav_settled: str  # ptyprobe step: lnav shows the filtered view


# lnav reads loggen's lines as plain text (no log format matches them), so
# `:set-min-log-level warning` changes nothing there: its level filter is a
# filter-in on the level field's text, the same lines as cs-console's `level>=warn`.
TAIL_VARIANTS = {
    "text": TailVariant("tail", "filter out `booted`", "-booted", ":filter-out booted", "sleep:0"),
    "level": TailVariant(
        "tail_level", "level filter (`level>=warn`)", "level>=warn",
        ':filter-in "level": "(warning|error|fatal|critical)"', 'gone(10):"level": "(info|log)"',
    ),
}

TAIL_TESTS = tuple(variant.test for variant in TAIL_VARIANTS.values())
TAIL_COLUMNS = [
    ("bytes_per_s", "bytes/s", "{:,.0f}"), ("cpu_s", "CPU s / 10 s", "{:.2f}"),
    ("lag_median", "marker lag median s", "{:.3f}"), ("lag_max", "marker lag max s", "{:.3f}"),
    ("whole_lag_median", "lag median, whole frames s", "{:.3f}"), ("whole_lag_max", "lag max, whole frames s", "{:.3f}"),
    ("markers_caught", "markers (of 9)", "{:.0f}"),
    ("frames_per_s", "frames/s", "{:.1f}"), ("bytes_per_frame", "bytes/frame", "{:,.0f}"),
    ("whole_caught", "markers, whole frames", "{:.0f}"), ("staleness", "staleness median s", "{:.3f}"),
    ("rss_mb", "peak RSS MB", "{:.0f}"), ("probe_cpu_s", "ptyprobe CPU s", "{:.2f}"),
]

GOALS = {
    "tail_bytes": "bytes/s <= lnav's (reference ~19 kB/s)",
    "tail_lag": "marker lag median <= 0.15 s",
    "tail_cpu": "CPU <= 2x lnav's",
    "open": "last line visible <= lnav's",
    "filter": "1M lines: start to every line indexed and a filter over all on screen <= lnav's",
    "filter_last": "1M lines: last line visible <= lnav's",
    "filter_rss": "1M lines: peak RSS <= 1.5x lnav's",
    "filter5m": "5M lines: start to indexed + filter on screen <= lnav's",
    "filter5m_last": "5M lines: last line visible <= lnav's",
    "filter5m_rss": "5M lines: peak RSS <= 1.5x lnav's",
    "growth": "5M/1M start-to-filter time <= 5.5x",
    "rss": "RSS with 100,000 lines <= 150 MB",
}


FILTER_COLUMNS = [
    ("total_s", "start to filter on screen s", "{:.2f}"), ("last_line_s", "last line visible s", "{:.2f}"),
    ("indexed_s", "indexed at s", "{:.2f}"), ("key_to_result_s", "key to result s", "{:.2f}"),
    ("cpu_s", "CPU s total", "{:.2f}"), ("rss_mb", "peak RSS MB", "{:.0f}"), ("anon_mb", "anon MB", "{:.0f}"),
]

# ---------------------------------------------------------------- tools and data


def toolong_cmd(explicit: str | None) -> list[str] | None:
    for candidate in (explicit, "/tmp/venv-toolong/bin/tl", shutil.which("tl")):
        if candidate and Path(candidate).exists():
            return [candidate]
    return None


def loggen(*args: str) -> None:
    subprocess.run([sys.executable, str(LOGGEN), *args], check=True, stdout=subprocess.DEVNULL)


def ensure_file(path: Path, lines: int, marker: str, needles: int = 0) -> Path:
    """Generate once; reused while its size says it is the same file."""
    stamp = path.with_suffix(".done")
    if path.exists() and stamp.exists() and stamp.read_text() == str(path.stat().st_size):
        return path
    loggen(str(path), "--lines", str(lines), "--last-marker", marker, *(["--needles", str(needles)] if needles else []))
    stamp.write_text(str(path.stat().st_size))
    return path


def tail_prefill(path: Path) -> None:
    """1,000 lines ending now; the last, PREFILL, at warning level so every variant's filter shows it."""
    loggen(str(path), "--lines", "1000", "--end-now", "--last-marker", PREFILL)
    head, _, last = path.read_text().rstrip("\n").rpartition("\n")
    last = last.replace('"level": "info"', '"level": "warning"')
    path.write_text(head + "\n" + last + "\n")


def cs_config(workdir: Path, buffer: int) -> Path:
    path = workdir / f"cs-config-{buffer}.toml"
    path.write_text(f'[profiles.bench]\nenvironment = "bench"\nlog_buffer_size = {buffer}\n')
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------- figures


def marker_lags(run: dict, markers_file: Path) -> list[float]:
    """Per marker: first frame whose newest visible timestamp >= the marker's write time."""
    frames = ((run.get("steady") or {}).get("fresh_frames")) or []
    lags = []
    if not markers_file.exists():
        return lags
    for line in markers_file.read_text().splitlines():
        epoch = json.loads(line)["epoch"]
        for shown_at, newest in frames:
            if newest > shown_at:
                # A time from the future is a row caught half-repainted (ptyprobe renders
                # each 4 kB read; cell-diffing viewers, lnav and cs-console, rewrite only
                # the changed digits): not a line that was on screen.
                continue
            # the viewers show milliseconds (cs-console) or microseconds: allow the truncation
            if newest >= epoch - 0.001:
                lags.append(shown_at - epoch)
                break
    return lags


def _parse_ts(text: str) -> float | None:
    """unix epoch from '1732683418.123' or ISO 8601 (no zone = UTC), as ptyprobe reads it."""
    from datetime import datetime, timezone

    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def whole_frame_lags(raw_file: Path, timeline_file: Path, run: dict, markers_file: Path, fresh: str, size: str) -> list[float]:
    """Marker lags from a replay of the raw stream, one whole frame at a time.

    ptyprobe renders every 4 kB read, so a frame split across reads can show a
    row half old, half new: a timestamp from the future (new "30.0" + old "98"),
    after which ptyprobe records no frame until real time passes it. Here reads
    less than 3 ms apart (one write by the program) make one frame, and a newest
    timestamp later than the frame itself is ignored. Same definition of lag.
    """
    import csv
    import re

    import pyte

    events = ((run.get("watch") or {}).get("events")) or []
    anchor = next((e for e in events if PREFILL in e.get("match", "")), None)
    if anchor is None or not (raw_file.exists() and timeline_file.exists() and markers_file.exists()):
        return []
    t0_epoch = anchor["epoch"] - anchor["t"]
    window_start = t0_epoch + float((run.get("steady") or {}).get("start") or 0)
    cols, rows = (int(x) for x in size.split("x"))
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    rx = re.compile(fresh)
    raw = raw_file.read_bytes()
    with open(timeline_file) as f:
        reads = [(float(r["t"]), int(r["bytes"])) for r in csv.DictReader(f)]
    frames: list[tuple[float, float]] = []  # (epoch shown, newest visible)
    pos = 0
    i = 0
    while i < len(reads):
        t, n = reads[i]
        j = i + 1
        while j < len(reads) and reads[j][0] - reads[j - 1][0] < 0.003:
            n += reads[j][1]
            t = reads[j][0]
            j += 1
        stream.feed(raw[pos : pos + n])
        pos += n
        i = j
        shown = t0_epoch + t
        if shown < window_start:
            continue
        newest = None
        for m in rx.finditer("\n".join(screen.display)):
            ts = _parse_ts(m.group("ts"))
            if ts is not None and ts <= shown and (newest is None or ts > newest):
                newest = ts
        if newest is not None:
            frames.append((shown, newest))
    lags = []
    for line in markers_file.read_text().splitlines():
        epoch = json.loads(line)["epoch"]
        for shown, newest in frames:
            if newest >= epoch - 0.001:
                lags.append(shown - epoch)
                break
    return lags


def frame_count(timeline_file: Path, run: dict) -> int | None:
    """Frames written in the steady window: pty reads less than 3 ms apart are one write."""
    import csv

    start = get(run, "steady.start")
    end = get(run, "steady.end")
    if start is None or end is None or not timeline_file.exists():
        return None
    with open(timeline_file) as f:
        times = [float(r["t"]) for r in csv.DictReader(f)]
    frames = 0
    last = None
    for t in times:
        if start <= t < end and (last is None or t - last >= 0.003):
            frames += 1
        last = t
    return frames


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def get(run: dict, path: str) -> float | None:
    node: object = run
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return float(node) if isinstance(node, (int, float)) else None


def step_since_send(run: dict, index: int = -1) -> float | None:
    steps = run.get("steps") or []
    if not steps or not all(s.get("ok") for s in steps):
        return None
    return steps[index].get("since_last_send")


# ---------------------------------------------------------------- the runs


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.workdir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.tools: dict[str, Callable[..., list[str]] | None] = {}
        wanted = args.tools.split(",")
        tl = toolong_cmd(args.toolong)
        lnav = shutil.which("lnav")
        if "cs" in wanted:
            self.tools["cs-console"] = lambda path, flt=None: cs_console_cmd("logs", "--source", f"file:{path}", "--tui", *([f"--filter={flt}"] if flt else []))
        if "toolong" in wanted:
            self.tools["toolong"] = (lambda path, flt=None: [*tl, str(path)]) if tl else None
        if "lnav" in wanted:
            self.tools["lnav"] = (lambda path, flt=None: [lnav, *(["-c", flt] if flt else []), str(path)]) if lnav else None
        self.results: dict[str, dict[str, dict[str, list[float]]]] = {}

    def record(self, test: str, tool: str, **figures: float | None) -> None:
        bucket = self.results.setdefault(test, {}).setdefault(tool, {})
        for key, value in figures.items():
            bucket.setdefault(key, []).append(value)  # type: ignore[arg-type]

    def env_for(self, tool: str, buffer: int = 100_000) -> dict[str, str]:
        return {"CS_CONSOLE_CONFIG": str(cs_config(self.work, buffer))} if tool == "cs-console" else {}

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # a. tail (two variants: a text filter, a level filter)
    def tail(self) -> None:
        for variant in self.args.tail_variants.split(","):
            self._tail(TAIL_VARIANTS[variant.strip()])

    def _tail(self, variant: TailVariant) -> None:
        for rep in range(self.args.reps):
            for tool, make in self.tools.items():
                if make is None:
                    continue
                path = self.work / f"{variant.test}_{tool}_{rep}.jsonl"
                markers = self.work / f"{variant.test}_markers_{tool}_{rep}.jsonl"
                for p in (path, markers):
                    p.unlink(missing_ok=True)
                tail_prefill(path)
                flt = variant.cs_filter if tool == "cs-console" else None
                keys: list[str] = []
                if tool == "lnav":
                    # `lnav -c ':filter-out …'` leaves the view blank until it moves:
                    # filter interactively, then G (end: lnav follows from there).
                    keys = ["--keys", f"wait:{PREFILL};;send:{variant.lnav_command}<Enter>;;wait(10):Lines not shown;;send:G;;{variant.lnav_settled};;wait(10):{PREFILL};;stable:0.3"]
                writer = f"{sys.executable} {LOGGEN} {path} --rate 2000 --duration 10 --marker-every 1 --markers-out {markers}"
                raw, timeline = self.work / f"{variant.test}_{tool}_{rep}.raw", self.work / f"{variant.test}_{tool}_{rep}.csv"
                fresh = FRESH_CS if tool == "cs-console" else FRESH_JSON
                run = probe(
                    make(path, flt), *keys, "--size", SIZE, "--until", PREFILL, "--settle", "0.5", "--duration", "10", "--linger", "2",
                    "--background", writer, "--watch", MARK_RX, "--watch", PREFILL, "--fresh", fresh,
                    "--raw", str(raw), "--timeline", str(timeline), "--timeout", "60", env=self.env_for(tool),
                )
                lags = marker_lags(run, markers)
                whole = whole_frame_lags(raw, timeline, run, markers, fresh, SIZE)
                frames = frame_count(timeline, run)
                self.record(
                    variant.test, tool,
                    bytes_per_s=get(run, "steady.bytes_per_s"), cpu_s=get(run, "steady.cpu_s"),
                    lag_median=med(lags), lag_max=max(lags) if lags else None,
                    markers_caught=float(len(lags)), whole_lag_median=med(whole), whole_lag_max=max(whole) if whole else None,
                    whole_caught=float(len(whole)), staleness=get(run, "steady.staleness.median"),
                    frames_per_s=frames / (get(run, 'steady.length') or 10.0) if frames is not None else None,
                    bytes_per_frame=(get(run, "steady.bytes") or 0) / frames if frames else None,
                    rss_mb=(get(run, "peak_rss_kb") or 0) / 1024, probe_cpu_s=get(run, "probe_cpu_s"),
                )
                self.say(f"{variant.test} {tool} #{rep}: {get(run, 'steady.bytes_per_s')} B/s, cpu {get(run, 'steady.cpu_s')} s, lag median {med(lags)} (whole frames {med(whole)}), {frames} frames")
                if self.args.keep_raw:
                    continue
                for scratch in (raw, timeline, path):
                    scratch.unlink(missing_ok=True)

    # b. open the 1M-line file
    def open(self) -> None:
        big = ensure_file(self.work / "big.jsonl", 1_000_000, LAST, needles=10)
        for rep in range(self.args.reps):
            for tool, make in self.tools.items():
                if make is None:
                    continue
                run = probe(make(big), "--size", SIZE, "--until", LAST, "--settle", "1", "--duration", "5", "--timeout", "100", env=self.env_for(tool))
                self.record(
                    "open", tool, last_line_s=get(run, "first_paint_s"), first_byte_s=get(run, "first_output_s"),
                    cpu_s=get(run, "cpu_s_total"), rss_mb=(get(run, "peak_rss_kb") or 0) / 1024,
                    anon_mb=(get(run, "peak_rss_anon_kb") or 0) / 1024,
                )
                self.say(f"open {tool} #{rep}: last line at {get(run, 'first_paint_s')} s")

    # c. start to "every line indexed and a filter over all of them on screen" (1M, 5M)
    def filter(self) -> None:
        self._filter("filter", ensure_file(self.work / "big.jsonl", 1_000_000, LAST, needles=10), "1M")

    def filter5m(self) -> None:
        self._filter("filter5m", ensure_file(self.work / "big5m.jsonl", 5_000_000, LAST, needles=10), "5M")

    def _filter(self, test: str, path: Path, count: str) -> None:
        found = "NEEDLE-01[\\s\\S]*NEEDLE-10"
        scripts = {
            # the status line says `1M lines` once the whole file is indexed (it shows the end first)
            "cs-console": f"wait(90):{LAST};;wait(180):{count} lines;;send:/NEEDLE<Enter>;;wait(60):10 match;;wait(10):{found}",
            "lnav": f"wait(180):{LAST};;send::filter-in NEEDLE<Enter>;;wait(120):Lines not shown;;send:g;;wait(10):{found}",
            "toolong": f"wait(180):{LAST};;send:<C-f>;;wait(10):Case sensitive;;send:NEEDLE-01;;stable:0.5;;send:<Up>;;wait(180):NEEDLE-01 payment",
        }
        for rep in range(self.args.reps):
            for tool, make in self.tools.items():
                if make is None or (tool == "toolong" and test == "filter5m"):
                    continue  # toolong's find over 5M lines takes minutes per run: 1M only
                run = probe(make(path), "--size", SIZE, "--until", LAST, "--keys", scripts[tool], "--timeout", "400", env=self.env_for(tool))
                steps = run.get("steps") or []
                ok = bool(steps) and all(s.get("ok") for s in steps)
                figures: dict[str, float | None] = {
                    "total_s": steps[-1]["t_end"] if ok else None,
                    "last_line_s": get(run, "first_paint_s"),
                    "cpu_s": get(run, "cpu_s_total"), "rss_mb": (get(run, "peak_rss_kb") or 0) / 1024,
                    "anon_mb": (get(run, "peak_rss_anon_kb") or 0) / 1024,
                }
                if tool == "cs-console":
                    figures["indexed_s"] = steps[1]["t_end"] if len(steps) > 1 and steps[1].get("ok") else None
                    figures["key_to_result_s"] = (steps[-1]["t_end"] - steps[1]["t_end"]) if ok else None
                elif tool == "lnav":
                    figures["indexed_s"] = steps[0]["t_end"] if steps and steps[0].get("ok") else None
                    figures["key_to_result_s"] = (steps[-1]["t_end"] - steps[0]["t_end"]) if ok else None
                self.record(test, tool, **figures)
                self.say(f"{test} {tool} #{rep}: total {figures['total_s']} s, last line {figures['last_line_s']} s, rss {figures['rss_mb']:.0f} MB")

    # d. RSS with 100,000 lines
    def rss(self) -> None:
        mid = ensure_file(self.work / "k100.jsonl", 100_000, "LASTLINE-100K")
        for rep in range(self.args.reps):
            for tool, make in self.tools.items():
                if make is None:
                    continue
                keys = "wait(60):LASTLINE-100K;;wait(60):100k lines;;stable:1" if tool == "cs-console" else "wait(60):LASTLINE-100K;;stable:1"
                run = probe(make(mid), "--size", SIZE, "--until", "LASTLINE-100K", "--keys", keys, "--settle", "1", "--duration", "3", "--timeout", "100", env=self.env_for(tool))
                self.record("rss", tool, rss_mb=(get(run, "peak_rss_kb") or 0) / 1024, anon_mb=(get(run, "peak_rss_anon_kb") or 0) / 1024, ok=float(bool(run.get("ok"))))
                self.say(f"rss {tool} #{rep}: {(get(run, 'peak_rss_kb') or 0) / 1024:.0f} MB")

    # ------------------------------------------------------------ report

    def table(self, test: str, columns: list[tuple[str, str, str]]) -> list[str]:
        rows = self.results.get(test, {})
        if not rows:
            return []
        head = "| tool | " + " | ".join(title for _, title, _ in columns) + " |"
        out = [head, "|" + " --- |" * (len(columns) + 1)]
        for tool in ("cs-console", "toolong", "lnav"):
            if tool not in rows:
                continue
            cells = [spread(rows[tool].get(key, []), fmt) for key, _, fmt in columns]
            out.append(f"| {tool} | " + " | ".join(cells) + " |")
        if test != "tail" and "cs-console" in rows and "lnav" in rows:
            out.append("| cs-console / lnav | " + " | ".join(self._ratio(rows, key) for key, _, _ in columns) + " |")
        return out

    @staticmethod
    def _ratio(rows: dict[str, dict[str, list[float]]], key: str) -> str:
        cs, ln = med(rows["cs-console"].get(key, [])), med(rows["lnav"].get(key, []))
        return f"{cs / ln:.2f}" if cs is not None and ln else "n/a"

    def beside_lnav(self, test: str) -> list[str]:
        """The tail goals' figures, cs-console's beside lnav's and the ratio (medians)."""
        rows = self.results.get(test, {})
        cs, ln = rows.get("cs-console"), rows.get("lnav")
        if not cs or not ln:
            return []
        out = ["| figure | cs-console | lnav | cs / lnav |", "| --- | --- | --- | --- |"]
        shown = ("bytes_per_s", "cpu_s", "lag_median", "lag_max", "whole_lag_median", "whole_lag_max", "frames_per_s", "bytes_per_frame", "staleness", "rss_mb")
        for key, title, fmt in (column for column in TAIL_COLUMNS if column[0] in shown):
            a, b = med(cs.get(key, [])), med(ln.get(key, []))
            ratio = f"{a / b:.2f}" if a is not None and b else "n/a"
            out.append(f"| {title} | {spread(cs.get(key, []), fmt)} | {spread(ln.get(key, []), fmt)} | {ratio} |")
        return out

    def verdicts(self) -> list[str]:
        r = self.results
        out = []

        def m(test: str, tool: str, key: str) -> float | None:
            return med(r.get(test, {}).get(tool, {}).get(key, []))

        def line(goal: str, ok: bool | None, detail: str) -> None:
            mark = "n/a " if ok is None else ("MET " if ok else "MISS")
            out.append(f"- [{mark}] {GOALS[goal]}: {detail}")

        for test in TAIL_TESTS:
            cs_b, ln_b = m(test, "cs-console", "bytes_per_s"), m(test, "lnav", "bytes_per_s")
            if cs_b is not None:
                line("tail_bytes", None if ln_b is None else cs_b <= ln_b, f"{test}: cs-console {cs_b:,.0f} B/s, lnav {ln_b or 0:,.0f} B/s")
            lag = m(test, "cs-console", "lag_median")
            whole = m(test, "cs-console", "whole_lag_median")
            if lag is not None:
                line("tail_lag", lag <= 0.15, f"{test}: cs-console {lag:.3f} s as ptyprobe renders it, {whole if whole is not None else float('nan'):.3f} s in whole frames "
                     f"(lnav {m(test, 'lnav', 'lag_median') or float('nan'):.3f} / {m(test, 'lnav', 'whole_lag_median') or float('nan'):.3f} s)")
            cs_c, ln_c = m(test, "cs-console", "cpu_s"), m(test, "lnav", "cpu_s")
            if cs_c is not None:
                line("tail_cpu", None if ln_c is None else cs_c <= 2 * ln_c, f"{test}: cs-console {cs_c:.2f} s, lnav {ln_c or 0:.2f} s per 10 s")
        def versus(goal: str, test: str, key: str, factor: float = 1.0, unit: str = "s", fmt: str = "{:.2f}") -> None:
            cs, ln = m(test, "cs-console", key), m(test, "lnav", key)
            if cs is None:
                return
            ratio = f", ratio {cs / ln:.2f}" if ln else ""
            line(goal, None if ln is None else cs <= factor * ln, f"cs-console {fmt.format(cs)} {unit}, lnav {fmt.format(ln or 0)} {unit}{ratio}")

        versus("open", "open", "last_line_s")
        versus("filter", "filter", "total_s")
        versus("filter_last", "filter", "last_line_s")
        versus("filter_rss", "filter", "rss_mb", 1.5, "MB", "{:.0f}")
        versus("filter5m", "filter5m", "total_s")
        versus("filter5m_last", "filter5m", "last_line_s")
        versus("filter5m_rss", "filter5m", "rss_mb", 1.5, "MB", "{:.0f}")
        g1, g5 = m("filter", "cs-console", "total_s"), m("filter5m", "cs-console", "total_s")
        if g1 and g5:
            l1, l5 = m("filter", "lnav", "total_s"), m("filter5m", "lnav", "total_s")
            lnav_growth = f" (lnav {l5 / l1:.2f}x)" if l1 and l5 else ""
            line("growth", g5 / g1 <= 5.5, f"cs-console {g1:.2f} s -> {g5:.2f} s = {g5 / g1:.2f}x{lnav_growth}")
        cs_r = m("rss", "cs-console", "rss_mb")
        if cs_r is not None:
            line("rss", cs_r <= 150, f"cs-console {cs_r:.0f} MB")
        return out

    def report(self) -> str:
        lines = [f"# Logs pane vs toolong and lnav ({self.args.reps} runs each, {SIZE}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, loadavg {os.getloadavg()[0]:.2f})", ""]
        sections = [
            *((variant.test, f"a. tail at 2,000 lines/s for 10 s, {variant.title} (toolong: no filter)", TAIL_COLUMNS) for variant in TAIL_VARIANTS.values()),
            ("open", "b. open a 1,000,000-line JSON-lines file (244 MB)", [
                ("last_line_s", "last line visible s", "{:.2f}"), ("first_byte_s", "first byte s", "{:.2f}"),
                ("cpu_s", "CPU s total", "{:.2f}"), ("rss_mb", "peak RSS MB", "{:.0f}"), ("anon_mb", "anon MB", "{:.0f}"),
            ]),
            ("filter", "c. 1,000,000 lines: start to every line indexed and a filter over all on screen (toolong: find)", FILTER_COLUMNS),
            ("filter5m", "c'. 5,000,000 lines (1.2 GB): the same", FILTER_COLUMNS),
            ("rss", "d. 100,000 lines loaded (cs-console: 100,000 lines indexed)", [
                ("rss_mb", "peak RSS MB", "{:.0f}"), ("anon_mb", "anon MB", "{:.0f}"),
            ]),
        ]
        for test, title, columns in sections:
            table = self.table(test, columns)
            if table:
                lines += [f"## {title}", "", *table, ""]
                if test in TAIL_TESTS:
                    lines += [*self.beside_lnav(test), ""]
        missing = [tool for tool, make in self.tools.items() if make is None]
        if missing:
            lines.append(f"not run (not installed): {', '.join(missing)}")
        lines += ["## Goals", "", *self.verdicts()]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="tail,open,filter,filter5m,rss", help="comma-separated: tail,open,filter,filter5m,rss")
    parser.add_argument("--tools", default="cs,toolong,lnav")
    parser.add_argument("--toolong", help="path to toolong's `tl` (default /tmp/venv-toolong/bin/tl, then PATH)")
    parser.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "cs-logs-bench"))
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--tail-variants", default=",".join(TAIL_VARIANTS), help=f"tail filters to run: {','.join(TAIL_VARIANTS)}")
    parser.add_argument("--keep-raw", action="store_true", help="keep the tail runs' raw output and timelines in the workdir")
    args = parser.parse_args()
    if not LOGGEN.exists():
        raise SystemExit(f"loggen.py not found at {LOGGEN} (set CS_SHARED_TOOLS)")
    bench = Bench(args)
    for test in args.only.split(","):
        getattr(bench, test.strip())()
    print(bench.report())
    if args.json:
        Path(args.json).write_text(json.dumps(bench.results, indent=1))


if __name__ == "__main__":
    main()
