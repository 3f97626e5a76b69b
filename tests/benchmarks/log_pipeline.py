"""Log pipeline without the UI: parse + filter throughput, re-filter time, memory per record.

    python -m tests.benchmarks.log_pipeline [--lines 1000000] [--file PATH] [--runs 3]

On a loggen.py JSON-lines file (generated once under $TMPDIR if --file is not
given; ../shared/tools/loggen.py, same format as the ptyprobe runs):

- parse throughput: file -> LogRecords -> LogBuffer(capacity = all lines), lines/s,
  without a filter and with one (`level>=warn`);
- tail-first open: time until the LAST line is in the buffer when the file is
  opened at its end (tail = 100,000, backfill), and until the tail is complete;
- backfill the whole file: opened at its end with tail = every line, so all but
  the first chunk arrive as Backfill batches (what the Logs pane does for a file);
- the buffer alone: prepend 5,000-record batches until 1M / 5M records are held
  (one shared record, so only LogBuffer's own cost is measured);
- the file as an index (LineIndex + IndexedLogLines, no record per line): time
  and CPU to index every line, the last line's record, filters decided on raw
  bytes first (lines parsed are counted), and the RSS growth of a fresh process;
- re-filter over every buffered record (1,000,000 by default) for typical filters,
  seconds (the pane's key-to-result budget is lnav's ~1.2 s, rendering included);
- memory for 100,000 records: the buffer's own estimate and the RSS growth of a
  fresh process that loads them (and that process's total RSS).
Figures are medians of --runs; the machine is shared, so compare runs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOGGEN = Path(__file__).resolve().parents[3] / "shared" / "tools" / "loggen.py"
FILTERS = (
    ("text  NEEDLE", "NEEDLE"),
    ("level>=error", "level>=error"),
    ("status>=500 function=stripe-webhook", "status>=500 function=stripe-webhook"),
    ("regex /timeout after \\d+ms/", "/timeout after \\d+ms/"),
    ("two words -negation", "cache hit -0.9"),
    ("clear (empty filter)", ""),
)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ensure_file(lines: int, path: str | None) -> Path:
    if path:
        return Path(path)
    target = Path(tempfile.gettempdir()) / f"cs-console-bench-{lines}.jsonl"
    if not target.exists() or target.stat().st_size == 0:
        if not LOGGEN.exists():
            sys.exit(f"loggen.py not found at {LOGGEN}; pass --file")
        print(f"generating {lines} lines with loggen.py -> {target} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(LOGGEN), str(target), "--lines", str(lines), "--needles", "10", "--last-marker", "LASTLINE-XQ7Z9"], check=True, stdout=subprocess.DEVNULL)
    return target


async def load(path: Path, capacity: int, filter_text: str = "", **kw: object) -> tuple[object, float, float | None]:
    from cs_console.backends.log_files.file_source import FileLogSource
    from cs_console.domain.log_buffer import LogBuffer

    buf = LogBuffer(capacity, filter=filter_text)
    source = FileLogSource(path)
    load.cpu_started = time.process_time()  # type: ignore[attr-defined]
    started = time.perf_counter()
    first_last_line: float | None = None
    async for batch in source.records(None, False, **kw):  # type: ignore[arg-type]
        buf.ingest(batch)
        if first_last_line is None and buf.match_count and "LASTLINE" in buf.row(buf.match_count - 1).message:
            first_last_line = time.perf_counter() - started
    load.cpu_s = time.process_time() - load.cpu_started  # type: ignore[attr-defined]
    return buf, time.perf_counter() - started, first_last_line


def backfill_buffer_only(total: int, batch: int = 5_000, filter_text: str = "") -> float:
    """Seconds for LogBuffer.prepend to grow to `total` records in `batch`-record batches."""
    from datetime import datetime, timezone

    from cs_console.domain.log_buffer import Backfill, LogBuffer
    from cs_console.domain.log_record import Level, LogRecord

    record = LogRecord(ts=datetime(2026, 12, 1, tzinfo=timezone.utc), level=Level.WARN, source="file", message="backfill")
    chunk = Backfill([record] * batch)
    buf = LogBuffer(total, filter=filter_text)
    buf.extend([record])
    started = time.perf_counter()
    while len(buf) < total:
        buf.prepend(chunk)
    seconds = time.perf_counter() - started
    assert len(buf) == total
    return seconds


def index_figures(path: Path) -> dict[str, float]:
    """Index the whole file, then filter it; seconds, CPU seconds and lines parsed."""
    from cs_console.backends.log_files.indexed_lines import IndexedLogLines
    from cs_console.backends.log_files.line_index import LineIndex

    out: dict[str, float] = {}
    fd = os.open(path, os.O_RDONLY)
    started, cpu = time.perf_counter(), time.process_time()
    view = IndexedLogLines(LineIndex(fd))
    os.close(fd)
    view.update(final=True)
    out["index_s"], out["index_cpu"] = time.perf_counter() - started, time.process_time() - cpu
    out["lines"] = view.line_count
    started = time.perf_counter()
    assert "LASTLINE" in view.record(len(view) - 1).message
    out["last_record_s"] = time.perf_counter() - started
    for label, text in (("needle", "NEEDLE"), ("phrase", "timeout after"), ("needle_level", "NEEDLE level>=warn"), ("level", "level>=error")):
        view.parsed = 0
        started = time.perf_counter()
        view.set_filter(text)
        out[f"{label}_s"], out[f"{label}_matches"], out[f"{label}_parsed"] = time.perf_counter() - started, view.match_count, view.parsed
    return out


def index_child(path: str) -> None:
    """Runs in a fresh process: RSS growth for an index of the whole file."""
    import gc

    from cs_console.backends.log_files import indexed_lines, line_index  # noqa: F401
    from cs_console.domain import log_filter, log_parsing  # noqa: F401

    gc.collect()
    before = rss_mb()
    fd = os.open(path, os.O_RDONLY)
    view = indexed_lines.IndexedLogLines(line_index.LineIndex(fd))
    os.close(fd)
    view.update(final=True)
    for i in range(max(0, len(view) - 200), len(view)):
        view.record(i)  # a screen's worth parsed and cached
    gc.collect()
    print(json.dumps({"lines": view.line_count, "rss_growth_mb": rss_mb() - before, "rss_total_mb": rss_mb()}))


def memory_child(path: str, count: int) -> None:
    """Runs in a fresh process: RSS growth for `count` records held in a LogBuffer."""
    import gc

    from cs_console.backends import log_files  # noqa: F401  (import cost outside the figure)
    from cs_console.domain import log_buffer, log_filter, log_parsing  # noqa: F401

    gc.collect()
    before = rss_mb()
    buf, _, _ = asyncio.run(load(Path(path), count, tail=count))
    gc.collect()
    after = rss_mb()
    print(json.dumps({"records": len(buf), "estimate_mb": buf.bytes / 2**20, "rss_growth_mb": after - before, "rss_total_mb": after}))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--file", help="an existing JSON-lines file instead of generating one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--index-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.index_child:
        index_child(args.index_child)
        return
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return

    path = ensure_file(args.lines, args.file)
    size_mb = path.stat().st_size / 2**20
    rows: list[tuple[str, str]] = []

    # 1. parse (+ filter) throughput over the whole file
    parse_s: list[float] = []
    parse_cpu: list[float] = []
    filtered_s: list[float] = []
    filtered_cpu: list[float] = []
    buf = None
    for _ in range(args.runs):
        buf, seconds, _ = asyncio.run(load(path, 10**9))
        parse_s.append(seconds)
        parse_cpu.append(load.cpu_s)  # type: ignore[attr-defined]
    n = len(buf)  # type: ignore[arg-type]
    for _ in range(args.runs):
        fbuf, seconds, _ = asyncio.run(load(path, 10**9, "level>=warn"))
        filtered_s.append(seconds)
        filtered_cpu.append(load.cpu_s)  # type: ignore[attr-defined]
        del fbuf
    rows.append((f"file: {path.name}", f"{n} lines, {size_mb:.0f} MB"))
    # Per CPU second as well: on a shared machine the wall-clock figure mostly measures the others.
    rows.append(("parse throughput, no filter (lines/s wall | per CPU-s)", f"{n / statistics.median(parse_s):,.0f} | {n / statistics.median(parse_cpu):,.0f}  ({statistics.median(parse_s):.2f} s)"))
    rows.append(("parse + filter level>=warn (lines/s wall | per CPU-s)", f"{n / statistics.median(filtered_s):,.0f} | {n / statistics.median(filtered_cpu):,.0f}  ({statistics.median(filtered_s):.2f} s)"))

    # 2. re-filter over everything buffered
    assert buf is not None
    for label, text in FILTERS:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            buf.set_filter(text)  # type: ignore[attr-defined]
            times.append(time.perf_counter() - started)
        rows.append((f"re-filter {n} records: {label} (s)", f"{statistics.median(times):.3f}  ({buf.match_count} matches)"))  # type: ignore[attr-defined]
    started = time.perf_counter()
    buf.set_filter("")  # type: ignore[attr-defined]
    row, jumps = 0, 0
    while row is not None and jumps < 1000:
        row = buf.next_level(row)  # type: ignore[attr-defined]
        jumps += 1
    rows.append(("1,000 next-error jumps (s)", f"{time.perf_counter() - started:.4f}"))
    rows.append(("buffer estimate for all records (MB)", f"{buf.bytes / 2**20:.0f}"))  # type: ignore[attr-defined]
    del buf

    # 3. open at the end: last line first, then backfill the tail
    first, total = [], []
    for _ in range(args.runs):
        tbuf, seconds, last_line = asyncio.run(load(path, 100_000, tail=100_000, backfill=True))
        total.append(seconds)
        first.append(last_line or float("nan"))
    rows.append(("open at end: last line in buffer (s)", f"{statistics.median(first):.3f}"))
    rows.append(("open at end: 100,000-line tail loaded (s)", f"{statistics.median(total):.3f}"))

    # 3b. open at the end with every line in the tail: the whole file arrives as backfill
    whole_s, whole_cpu = [], []
    for _ in range(args.runs):
        wbuf, seconds, _ = asyncio.run(load(path, 10**9, tail=10**9, backfill=True))
        whole_s.append(seconds)
        whole_cpu.append(load.cpu_s)  # type: ignore[attr-defined]
        lines_held = len(wbuf)  # type: ignore[arg-type]
        del wbuf
    rows.append((f"open at end, backfill all {lines_held} lines (s wall | CPU)", f"{statistics.median(whole_s):.2f} | {statistics.median(whole_cpu):.2f}"))
    for total in (1_000_000, 5_000_000):
        for label, text in (("", ""), (", level>=warn", "level>=warn")):
            times = [backfill_buffer_only(total, filter_text=text) for _ in range(args.runs)]
            rows.append((f"LogBuffer.prepend 5,000-record batches to {total:,}{label} (s)", f"{statistics.median(times):.3f}"))

    # 3c. the file as an index: no record per line
    figs = [index_figures(path) for _ in range(args.runs)]

    def med(key: str) -> float:
        return statistics.median(f[key] for f in figs)

    rows.append((f"index: all {med('lines'):.0f} lines indexed (s wall | CPU)", f"{med('index_s'):.2f} | {med('index_cpu'):.2f}"))
    rows.append(("index: last line's record (s)", f"{med('last_record_s'):.4f}"))
    for label, text in (("needle", "NEEDLE"), ("phrase", "timeout after"), ("needle_level", "NEEDLE level>=warn"), ("level", "level>=error")):
        rows.append((f"index: filter {text} over every line (s)", f"{med(label + '_s'):.3f}  ({med(label + '_matches'):.0f} matches, {med(label + '_parsed'):.0f} lines parsed)"))
    imem = [json.loads(subprocess.run([sys.executable, "-m", "tests.benchmarks.log_pipeline", "--index-child", str(path)], capture_output=True, text=True, check=True).stdout) for _ in range(args.runs)]
    rows.append(("index: RSS growth | process RSS, no UI (MB)", f"{statistics.median(m['rss_growth_mb'] for m in imem):.1f} | {statistics.median(m['rss_total_mb'] for m in imem):.1f}"))

    # 4. memory for 100,000 records, in a fresh process
    mems = []
    for _ in range(args.runs):
        proc = subprocess.run([sys.executable, "-m", "tests.benchmarks.log_pipeline", "--memory-child", str(path), "100000"], capture_output=True, text=True, check=True)
        mems.append(json.loads(proc.stdout))
    rows.append(("100,000 records: buffer estimate (MB)", f"{statistics.median(m['estimate_mb'] for m in mems):.1f}"))
    rows.append(("100,000 records: RSS growth (MB)", f"{statistics.median(m['rss_growth_mb'] for m in mems):.1f}"))
    rows.append(("100,000 records: process RSS, no UI (MB)", f"{statistics.median(m['rss_total_mb'] for m in mems):.1f}"))

    width = max(len(k) for k, _ in rows)
    print(f"median of {args.runs} runs, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
