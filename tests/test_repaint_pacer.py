"""The repaint pacer on a fake clock: frames bounded by the arrival rate, every line shown within the lag bound."""

from __future__ import annotations

import statistics

import pytest

from cs_console.tui.panes.logs_source import ARRIVAL_GRACE, FILE_POLL_SECONDS
from cs_console.tui.repaint_pacer import RepaintPacer


def simulate(pacer: RepaintPacer, arrivals: list[tuple[float, int]], end: float, grace: float = ARRIVAL_GRACE) -> tuple[list[float], list[float]]:
    """Drive the pacer as the Logs pane does (logs_source._schedule_paint): a batch paints at
    once when the interval is over, else one timer is set for the end of it plus `grace`,
    which paints what is left (or waits again). Returns (paint times, per-row lag)."""
    paints: list[float] = []
    lags: list[float] = []
    pending_rows: list[float] = []  # arrival time of each row not yet painted
    timer: float | None = None

    def paint(now: float) -> None:
        paints.append(now)
        lags.extend(now - t for t in pending_rows)
        pending_rows.clear()
        pacer.painted(now)

    def schedule(now: float) -> None:
        nonlocal timer
        wait = pacer.wait(now)
        if wait <= 0:
            paint(now)
        elif timer is None:
            timer = now + wait + grace

    def fire_timers(until: float) -> None:
        nonlocal timer
        while timer is not None and timer <= until:
            at, timer = timer, None
            if pending_rows:
                schedule(at)

    for at, rows in arrivals:
        fire_timers(at)
        pacer.arrived(at, rows)
        pending_rows.extend([at] * rows)
        schedule(at)
    fire_timers(end)
    return paints, lags


def stream(rows_per_s: float, seconds: float, poll: float = FILE_POLL_SECONDS) -> list[tuple[float, int]]:
    """Rows arriving as a followed file delivers them: a batch per poll."""
    out, carried, t = [], 0.0, 0.0
    while t < seconds:
        t += poll
        carried += rows_per_s * poll
        if carried >= 1:
            out.append((round(t, 6), int(carried)))
            carried -= int(carried)
    return out


def test_a_flood_gets_the_longest_interval_and_the_lag_stays_bounded() -> None:
    """The issue's tail: 2,000 lines/s, ~380 of them past `level>=warn`, for 10 s."""
    pacer = RepaintPacer()
    paints, lags = simulate(pacer, stream(380, 10.0), end=10.5)
    gaps = [b - a for a, b in zip(paints, paints[1:])]
    assert len(paints) <= 10.0 / pacer.longest + 2  # 5 frames/s instead of 8
    assert all(gap >= pacer.base - 1e-9 for gap in gaps)
    assert statistics.median(gaps[10:]) == pytest.approx(pacer.longest, abs=0.03)
    assert max(lags) <= pacer.longest + 0.025 + 1e-9  # at most one interval and one poll late
    assert statistics.median(lags) <= pacer.longest / 2 + 0.02


def test_a_readable_stream_keeps_the_base_interval() -> None:
    pacer = RepaintPacer()
    paints, lags = simulate(pacer, stream(15, 10.0), end=10.5)
    gaps = [b - a for a, b in zip(paints, paints[1:])]
    assert all(gap >= pacer.base - 1e-9 for gap in gaps)
    assert max(lags) <= pacer.base + 0.025 + 1e-9
    assert pacer.interval(10.0) == pacer.base


def test_frames_never_outnumber_arrivals() -> None:
    """A trickle: every line is painted when it arrives, one frame per line, no lag."""
    pacer = RepaintPacer()
    arrivals = [(0.5 * k, 1) for k in range(1, 21)]
    paints, lags = simulate(pacer, arrivals, end=11.0)
    assert paints == [at for at, _ in arrivals]
    assert max(lags) == 0


def test_the_interval_follows_the_rate_up_and_back_down() -> None:
    pacer = RepaintPacer()
    assert pacer.interval(0.0) == pacer.base
    for k in range(40):  # 60 rows/s for a second: half way between readable and flood
        pacer.arrived(k * 0.025, 1.5)  # type: ignore[arg-type]
    mid = pacer.interval(1.0)
    assert pacer.base < mid < pacer.longest
    for k in range(40, 80):  # then a flood
        pacer.arrived(k * 0.025, 100)
    assert pacer.interval(2.0) == pacer.longest
    # a file's first screenful at once does not hold the slow pace for long after
    assert pacer.interval(2.0 + 0.5) == pacer.longest
    assert pacer.base < pacer.interval(2.0 + 1.0) < pacer.longest
    assert pacer.interval(2.0 + 2.5) == pacer.base


def test_the_first_paint_is_not_held() -> None:
    pacer = RepaintPacer()
    pacer.arrived(100.0, 100_000)  # a big file's end, all at once
    assert pacer.wait(100.0) == 0.0
    pacer.painted(100.0)
    assert pacer.wait(100.05) == pytest.approx(pacer.longest - 0.05)
