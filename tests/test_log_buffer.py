"""The bounded log buffer: bounds and drops, incremental and full filtering, jumps, backfill."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.domain.log_buffer import Backfill, LogBuffer, Rewind, estimate_bytes
from cs_console.domain.log_filter import FilterError, parse_filter
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.log_record import Level, LogRecord

T0 = datetime(2026, 11, 27, tzinfo=timezone.utc)
LEVELS = list(Level)


def rec(i: int, level: Level = Level.INFO, message: str | None = None) -> LogRecord:
    return LogRecord(ts=T0 + timedelta(seconds=i), level=level, source="file", message=message or f"msg {i}", status=500 if level >= Level.ERROR else 200)


def view(buf: LogBuffer) -> list[str]:
    return [r.message for r in buf.rows(0, buf.match_count)]


def test_bounded_drops_oldest_and_counts() -> None:
    buf = LogBuffer(100)
    for i in range(250):
        buf.append(rec(i))
    assert len(buf) == 100 and buf.dropped == 150 and buf.appended == 250
    assert view(buf) == [f"msg {i}" for i in range(150, 250)]
    buf.extend([rec(i) for i in range(250, 260)])
    assert view(buf)[0] == "msg 160" and buf.dropped == 160


def test_extend_larger_than_capacity_keeps_the_newest() -> None:
    buf = LogBuffer(10, filter="level=error")
    n = buf.extend([rec(i, Level.ERROR if i % 2 else Level.INFO) for i in range(35)])
    assert len(buf) == 10 and buf.dropped == 25
    assert n == 17 and view(buf) == [f"msg {i}" for i in range(25, 35) if i % 2]
    assert buf.dropped_matches == 12


def test_incremental_matches_and_dropped_matches() -> None:
    buf = LogBuffer(5, filter="level>=warn")
    assert buf.append(rec(0, Level.WARN)) is True
    assert buf.append(rec(1, Level.INFO)) is False
    assert buf.extend([rec(i, Level.ERROR) for i in range(2, 9)]) == 7
    assert buf.match_count == 5 and buf.dropped == 4 and buf.dropped_matches == 3
    assert buf.row(0).message == "msg 4"


def test_refilter_on_filter_change_and_bad_filter_keeps_state() -> None:
    buf = LogBuffer(1000)
    buf.extend([rec(i, LEVELS[i % 5], f"m{i} {'timeout' if i % 7 == 0 else 'ok'}") for i in range(500)])
    buf.set_filter("timeout level>=warn")
    expected = [r.message for r in buf.records() if "timeout" in r.message and r.level >= Level.WARN]
    assert view(buf) == expected
    generation = buf.generation
    with pytest.raises(FilterError):
        buf.set_filter('level=error "oops')
    assert view(buf) == expected and buf.generation == generation and str(buf.filter) == "timeout level>=warn"
    buf.set_filter(parse_filter(""))
    assert buf.match_count == 500


def test_jump_to_next_and_previous_error() -> None:
    buf = LogBuffer(100)
    levels = [Level.INFO] * 30
    for i in (3, 10, 11, 25):
        levels[i] = Level.ERROR
    levels[20] = Level.FATAL
    levels[15] = Level.WARN
    buf.extend([rec(i, lv) for i, lv in enumerate(levels)])
    assert buf.next_level(None) == 3
    assert buf.next_level(3) == 10
    assert buf.next_level(11) == 20
    assert buf.next_level(25) is None
    assert buf.next_level(None, backward=True) == 25
    assert buf.next_level(20, backward=True) == 11
    assert buf.next_level(3, backward=True) is None
    assert buf.next_level(3, Level.WARN) == 10
    assert buf.next_level(11, Level.WARN) == 15
    assert buf.next_level(0, Level.FATAL) == 20
    # within a filtered view, rows are view rows
    buf.set_filter('-"msg 10"')
    assert buf.next_level(3) == buf.row_of_seq(buf.first_seq + 11)
    assert buf.row(buf.next_level(3)).message == "msg 11"  # type: ignore[arg-type]


def test_level_counts_track_drops() -> None:
    buf = LogBuffer(4)
    buf.extend([rec(0, Level.ERROR), rec(1, Level.WARN), rec(2), rec(3)])
    assert buf.level_counts()[Level.ERROR] == 1
    buf.extend([rec(4), rec(5)])
    counts = buf.level_counts()
    assert counts[Level.ERROR] == 0 and counts[Level.WARN] == 0 and counts[Level.INFO] == 4


def test_backfill_prepends_what_fits() -> None:
    buf = LogBuffer(10, filter="level=error")
    buf.extend([rec(i, Level.ERROR) for i in range(100, 104)])
    added = buf.ingest(Backfill([rec(i, Level.ERROR if i % 2 else Level.INFO) for i in range(90, 100)]))
    assert len(buf) == 10 and buf.dropped == 4
    assert [r.message for r in buf.records()][:6] == [f"msg {i}" for i in range(94, 100)]
    assert added == 3 and view(buf)[:3] == ["msg 95", "msg 97", "msg 99"]
    assert buf.ingest(Backfill([rec(1, Level.ERROR)])) == 0 and buf.dropped == 5


def test_a_rewind_replaces_what_is_held() -> None:
    buf = LogBuffer(10, filter="level=error")
    buf.extend([rec(i, Level.ERROR) for i in range(100, 104)])
    generation = buf.generation
    assert buf.ingest(Rewind([rec(i, Level.ERROR if i % 2 else Level.INFO) for i in range(50, 54)])) == 2
    assert [r.message for r in buf.records()] == [f"msg {i}" for i in range(50, 54)]
    assert view(buf) == ["msg 51", "msg 53"] and buf.generation != generation
    assert buf.ingest(Rewind([])) == 0 and len(buf) == 0 and buf.match_count == 0


def test_seq_positions_survive_drops() -> None:
    buf = LogBuffer(50)
    buf.extend([rec(i) for i in range(50)])
    seq = buf.seq_of_row(30)
    buf.extend([rec(i) for i in range(50, 70)])
    assert buf.row(buf.row_of_seq(seq)).message == "msg 30"


def test_memory_estimate_is_close_to_real_allocation() -> None:
    blob = "\n".join(
        f'{{"timestamp": "2026-11-27T00:00:{i % 60:02d}.{i:06d}Z", "level": "info", "event_message": "GET | 200 | /functions/v1/fn-{i % 10}", '
        f'"function_name": "fn-{i % 10}", "status": 200, "execution_time_ms": {i % 900}, "request_id": "{i:08d}-1807-4e8c-b5bf-992dc9e9c616"}}'
        for i in range(20_000)
    )
    parser = LineParser()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    buf = LogBuffer(20_000)
    lines = blob.split("\n")  # the line texts are allocated here, as a reader would
    buf.extend(parser.parse_lines(lines, T0))
    del lines
    real = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert 0.7 * real <= buf.bytes <= 1.4 * real, (buf.bytes, real)
    assert estimate_bytes(list(buf.records())) == buf.bytes


def test_storage_stays_bounded_over_many_single_appends() -> None:
    buf = LogBuffer(1000, filter="level=error")
    for i in range(60_000):
        buf.append(rec(i, Level.ERROR if i % 3 == 0 else Level.INFO))
    assert len(buf) == 1000
    # dead prefixes are reclaimed: nothing grows with the number of appends
    assert len(buf._items) <= 2 * 1000 + 4096
    assert len(buf._rows) <= 2 * 1000 + 4096
    assert len(buf._err) <= 2 * 1000 + 4096


# ----------------------------------------------------------------- model-based

ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 4), st.sampled_from(["a", "b", "ab"])),
        st.tuples(st.just("extend"), st.integers(0, 30), st.integers(0, 4)),
        st.tuples(st.just("prepend"), st.integers(0, 12), st.integers(0, 4)),
        st.tuples(st.just("filter"), st.sampled_from(["", "a", "-b", "level>=warn", "level=error a", "status>=500"]), st.just(0)),
    ),
    max_size=40,
)


@given(st.integers(1, 25), ops)
@settings(max_examples=250, deadline=None)
def test_buffer_agrees_with_a_simple_model(capacity: int, operations: list[tuple[object, ...]]) -> None:
    buf = LogBuffer(capacity)
    model: list[LogRecord] = []
    counter = [1000]
    oldest = [999]
    text = ""

    def new(level_i: int, word: str) -> LogRecord:
        counter[0] += 1
        return rec(counter[0], LEVELS[level_i], f"{word} {counter[0]}")

    for op, x, y in operations:
        if op == "append":
            r = new(x, y)  # type: ignore[arg-type]
            buf.append(r)
            model.append(r)
        elif op == "extend":
            batch = [new(y, "ab"[i % 2]) for i in range(x)]  # type: ignore[arg-type, call-overload]
            buf.extend(batch)
            model.extend(batch)
        elif op == "prepend":
            batch = []
            for i in range(x):  # type: ignore[call-overload]
                oldest[0] -= 1
                batch.insert(0, rec(oldest[0], LEVELS[y], f"b{oldest[0]}"))  # type: ignore[index]
            room = capacity - len(model[-capacity:])
            model[:0] = batch[max(0, len(batch) - room) :] if room > 0 else []
            buf.prepend(batch)
        else:
            text = str(x)
            buf.set_filter(text)
        model = model[-capacity:]
        m = parse_filter(text).compile(T0)
        expected = [r for r in model if m.match(r)]
        assert len(buf) == len(model)
        assert buf.rows(0, buf.match_count) == expected
        assert list(buf.matched_records()) == expected
        counts = buf.level_counts()
        for lv in Level:
            assert counts[lv] == sum(1 for r in model if r.level == lv)
        errors = [i for i, r in enumerate(expected) if r.level >= Level.ERROR]
        assert buf.next_level(None) == (errors[0] if errors else None)
        assert buf.next_level(None, backward=True) == (errors[-1] if errors else None)
        for row in range(len(expected)):
            nxt = [i for i in errors if i > row]
            assert buf.next_level(row) == (nxt[0] if nxt else None)


def test_backfill_writes_in_front_without_moving_what_is_held() -> None:
    # Each prepend goes into free slots before the head: the list object holding
    # the newest records is never rebuilt, and storage stays proportional to what is held.
    buf = LogBuffer(50_000, filter="level>=warn")
    buf.extend([rec(100_000 + i, Level.ERROR) for i in range(10)])
    items, rows, err = buf._items, buf._rows, buf._err
    oldest = 100_000
    for _ in range(400):
        batch = Backfill(rec(oldest - 100 + i, LEVELS[i % 5]) for i in range(100))
        oldest -= 100
        assert buf.prepend(batch) == 60  # WARN, ERROR, FATAL of every five
    assert buf._items is items and buf._rows is rows and buf._err is err
    assert len(buf) == 40_010 and buf.match_count == 24_010
    assert len(buf._items) <= 2 * len(buf) and len(buf._rows) <= 2 * buf.match_count
    assert buf.row(0).message == f"msg {oldest + 2}" and buf.row(buf.match_count - 1).message == "msg 100009"
    assert buf.next_level(None) == 1  # rows 0-2 are WARN, ERROR, FATAL of the oldest five
    assert buf.row_of_seq(buf.first_seq) == 0
    # dropping from the front after backfill still counts and re-indexes right
    buf.extend([rec(200_000 + i, Level.ERROR) for i in range(20_000)])
    assert len(buf) == 50_000 and buf.dropped == 10_010
    assert view(buf)[-1] == "msg 219999"
