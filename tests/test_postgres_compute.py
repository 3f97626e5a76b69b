"""Pure parts of the PostgreSQL backend: delta arithmetic, size growth, DSN redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.backends.postgres.connector import NOTE_NEEDS_STATS, Capabilities
from cs_console.backends.postgres.metrics_compute import (
    FIRST_SAMPLE,
    STATS_RESET,
    Counters,
    DeltaTracker,
    StatementAverages,
    StatementsSchedule,
    StatementTotals,
    build_samples,
)
from cs_console.backends.postgres.size_history import SizeHistory
from cs_console.backends.postgres.target import InvalidDsn, parse_target
from cs_console.domain.redaction import Redactor, redact
from cs_console.domain.db_inspect import INSPECT_VIEWS, ColumnKind, format_cell, view_by_id, UnknownInspectView
from cs_console.domain.durations import measured
from cs_console.domain.metrics import METRICS

CAPS = Capabilities(150004, "app", 5, True, True, "public", "")
CAPS_LOW = Capabilities(150004, "app", 5, False, False, None, "n/a: pg_stat_statements not installed (create extension pg_stat_statements)")


def counters(at: float, commits: int, rollbacks: int = 0, *, own_commits: int = 0, own_rollbacks: int = 0,
             hit: int = 0, fetched: int = 0, deadlocks: int = 0) -> Counters:
    return Counters(at, commits, rollbacks, fetched, hit, deadlocks, own_commits, own_rollbacks)


def row(**over: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        used=8, active=3, idle=4, idle_in_tx=1, idle_in_tx_age_s=12.5, longest_query_s=3.0, longest_tx_s=14.0,
        backends_all_dbs=11, max_conn=97, blocked=2, blocking=1, locks_waiting=2, in_recovery=False,
        replication_lag_s=None, replicas=0,
    )
    base.update(over)
    return base


def test_first_sample_has_no_rates() -> None:
    tracker = DeltaTracker()
    assert tracker.update(counters(0.0, 100)) is None
    samples = build_samples(row(), CAPS, None, response_ms=0.8, size_bytes=1000, size_note="", growth=(None, "n/a"))
    assert samples["db.commits_per_s"].value is None and samples["db.commits_per_s"].note == FIRST_SAMPLE
    assert samples["db.connections.used"].value == 8
    assert samples["db.connections.pct"].value == pytest.approx(8 / 97 * 100)
    assert samples["db.blocked"].value == 2 and "blocked by 1 session" in samples["db.blocked"].note
    assert samples["db.replication_lag_s"].value is None and "no replication" in samples["db.replication_lag_s"].note
    # Every Database metric of the catalogue is present.
    assert {m.key for m in METRICS if m.key.startswith("db.")} <= set(samples)


def test_deltas_leave_out_own_transactions_and_pings() -> None:
    tracker = DeltaTracker()
    tracker.update(counters(0.0, 1000, 10, own_commits=4))
    # 2 s later: 50 commits by others + our 2 (ping + metrics), 5 rollbacks.
    d = tracker.update(counters(2.0, 1052, 15, own_commits=6, hit=90, fetched=100))
    assert d is not None and not d.reset
    assert d.commits == 50 and d.rollbacks == 5
    averages = StatementAverages()
    averages.update(StatementTotals(0.0, 500, 2000, own_pings=1, own_qids=2))
    # 40 statements by others + our 1 ping, which shares the `select $1` entry.
    avg = averages.update(StatementTotals(2.0, 541, 2400, own_pings=2, own_qids=2))
    samples = build_samples(row(), CAPS, d, response_ms=0.5, size_bytes=None, size_note="", growth=(None, ""), query_avg=avg)
    assert samples["db.commits_per_s"].value == pytest.approx(25.0)
    assert samples["db.rollbacks_per_s"].value == pytest.approx(2.5)
    assert samples["db.error_rate_pct"].value == pytest.approx(5 / 55 * 100)
    assert samples["db.query_avg_ms"].value == pytest.approx(10.0)
    assert samples["db.query_avg_ms"].note == "40 statements over 2 s"
    assert samples["db.cache_hit_pct"].value == pytest.approx(90.0)


def test_own_commits_that_arrive_late_are_subtracted_later_never_below_zero() -> None:
    tracker = DeltaTracker()
    tracker.update(counters(0.0, 100, own_commits=0))
    # We ran 3 transactions but the server has not counted them yet; nobody else ran any.
    d1 = tracker.update(counters(1.0, 100, own_commits=3))
    assert d1 is not None and d1.commits == 0
    # Now they show up, with 10 from others.
    d2 = tracker.update(counters(2.0, 113, own_commits=3))
    assert d2 is not None and d2.commits == 10


def test_counter_going_backwards_is_a_reset_not_a_negative_rate() -> None:
    tracker = DeltaTracker()
    tracker.update(counters(0.0, 5000, 40))
    d = tracker.update(counters(2.0, 12, 0))
    assert d is not None and d.reset
    samples = build_samples(row(), CAPS, d, response_ms=1.0, size_bytes=None, size_note="", growth=(None, ""))
    assert samples["db.commits_per_s"].value is None and samples["db.commits_per_s"].note == STATS_RESET


def test_statement_averages_reset_recalibration_and_carry() -> None:
    averages = StatementAverages()
    assert averages.update(StatementTotals(0.0, 100, 1000, 0, 1)).note == FIRST_SAMPLE
    # A new console statement joined the excluded set: the sums are not comparable once.
    paused = averages.update(StatementTotals(2.0, 90, 900, 0, 2))
    assert paused.value is None and "left out" in paused.note
    ok = averages.update(StatementTotals(4.0, 100, 1050, 0, 2))
    assert ok.value == pytest.approx(15.0)
    assert averages.current(4.5) == ok  # carried until the next read
    assert averages.current(9.0).value == ok.value and averages.current(9.0).note.endswith("read 5 s ago")
    reset = averages.update(StatementTotals(6.0, 3, 10, 0, 2))
    assert reset.value is None and reset.note == STATS_RESET
    idle = averages.update(StatementTotals(8.0, 3, 10, 0, 2))
    assert idle.value is None and "no statements" in idle.note


def test_statement_reads_back_off_when_they_are_costly() -> None:
    sched = StatementsSchedule(budget_ms_per_s=1.0, max_every_s=30.0)
    t = 0.0
    assert sched.due(t, have_average=False)
    sched.observe(True, 12.0, t)
    t += 2
    assert sched.due(t, have_average=False)  # second read: needed for a first average
    sched.observe(True, 12.0, t)
    t += 2
    assert not sched.due(t, have_average=True)  # a baseline refresh without the read
    sched.observe(False, 2.0, t)
    assert sched.cost_ms == pytest.approx(10.0) and sched.every_s == pytest.approx(10.0)
    sched.observe(True, 40.0, t)  # a read slowed down by load does not raise the estimate
    assert sched.cost_ms == pytest.approx(10.0)
    t += 2
    assert sched.due(t, have_average=True) is False  # 4 s since the last read < 10 s
    reads = 0
    for _ in range(30):  # one minute of 2 s refreshes
        t += 2
        read = sched.due(t, have_average=True)
        reads += read
        sched.observe(read, 12.0 if read else 2.0, t)
    assert 5 <= reads <= 7  # about every 10 s: 1 ms of server time per second at most
    cheap = StatementsSchedule()
    cheap.observe(True, 1.3, 0.0)
    cheap.observe(False, 1.0, 2.0)
    assert cheap.every_s == pytest.approx(0.3) and cheap.due(4.0, have_average=True)
    fixed = StatementsSchedule(fixed_every_s=0.0)
    fixed.observe(True, 50.0, 0.0)
    assert fixed.due(0.5, have_average=True)


def test_without_privileges_state_metrics_say_why() -> None:
    tracker = DeltaTracker()
    tracker.update(counters(0.0, 10))
    d = tracker.update(counters(1.0, 20))
    samples = build_samples(row(), CAPS_LOW, d, response_ms=1.0, size_bytes=None, size_note="", growth=(None, ""))
    for key in ("db.connections.active", "db.connections.idle_in_tx", "db.idle_in_tx.max_age_s", "db.longest_query_s", "db.longest_tx_s"):
        assert samples[key].value is None and samples[key].note == NOTE_NEEDS_STATS
    # Used connections fall back to the per-database backend counts, said to be approximate.
    assert samples["db.connections.used"].value == 11 and "approximate" in samples["db.connections.used"].note
    assert samples["db.query_avg_ms"].value is None and "not installed" in samples["db.query_avg_ms"].note
    assert samples["db.commits_per_s"].value == pytest.approx(10.0)  # counters need no privilege


def test_standby_reports_replay_delay() -> None:
    samples = build_samples(row(in_recovery=True, replication_lag_s=4.5), CAPS, None, response_ms=1.0, size_bytes=None, size_note="", growth=(None, ""))
    assert samples["db.replication_lag_s"].value == 4.5


def test_size_growth_needs_a_baseline_and_survives_restarts(tmp_path: Path) -> None:
    path = tmp_path / "pg-size-x.json"
    h = SizeHistory(path, persist_every_s=900, min_span_s=3600)
    t0 = 1_700_000_000.0
    h.add(t0, 1_000_000)
    g = h.growth(t0)
    assert g.bytes_per_day is None and "needs 1.0 h" in g.note
    for i in range(1, 9):  # every 15 min for 2 h, +10 kB each time
        h.add(t0 + i * 900, 1_000_000 + i * 10_000)
    g = h.growth(t0 + 8 * 900)
    assert g.bytes_per_day == pytest.approx(10_000 * 4 * 24, rel=1e-6)
    assert "over the last 2.0 h" in g.note
    # A new console process reads the persisted samples.
    h2 = SizeHistory(path, persist_every_s=900, min_span_s=3600)
    h2.add(t0 + 9 * 900, 1_090_000)
    assert h2.growth(t0 + 9 * 900).bytes_per_day == pytest.approx(10_000 * 4 * 24, rel=1e-6)
    assert len(json.loads(path.read_text())["samples"]) >= 8


def test_damaged_size_history_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "pg-size-x.json"
    path.write_text("{not json")
    h = SizeHistory(path)
    h.add(1.0, 5)
    assert h.growth(1.0).bytes_per_day is None


def test_parse_target_and_label_never_show_password() -> None:
    t = parse_target("postgresql://app:p%40ss@db.example.com:6543/prod?sslmode=require")
    assert (t.user, t.host, t.port, t.database, t.password) == ("app", "db.example.com", 6543, "prod", "p@ss")
    assert "p@ss" not in t.label and "p%40ss" not in t.label
    with pytest.raises(InvalidDsn) as exc:
        parse_target("mysql://root:hunter2@host/db")
    assert "hunter2" not in str(exc.value)


@settings(max_examples=200)
@given(password=st.text(alphabet=st.characters(blacklist_characters="@/:?#[]%\n\r", blacklist_categories=("Cs",)), min_size=3, max_size=30))
def test_scrubber_removes_password_wherever_it_appears(password: str) -> None:
    dsn = f"postgresql://user:{password}@host:5432/db"
    scrub = Redactor([password])
    message = f"could not connect to {dsn}: server said {password!s} is wrong"
    cleaned = scrub(message)
    assert password not in cleaned
    assert redact(dsn) == "postgresql://user:***@host:5432/db"


def test_catalogue_and_formatting() -> None:
    ids = [v.id for v in INSPECT_VIEWS]
    assert len(ids) == len(set(ids)) >= 14
    for view in INSPECT_VIEWS:
        assert view.columns and len({c.name for c in view.columns}) == len(view.columns)
    with pytest.raises(UnknownInspectView):
        view_by_id("nope")
    assert format_cell(1536, ColumnKind.BYTES) == "1.5 kB"
    assert format_cell(None, ColumnKind.INT) == ""
    assert format_cell(True, ColumnKind.BOOL) == "yes"
    assert format_cell(12.345, ColumnKind.PCT) == "12.3 %"
    assert measured(0.25) == "250 ms" and measured(125) == "2m 05s" and measured(7300) == "2h 01m"
    assert str(view_by_id("locks").columns[0]) == "PID"
