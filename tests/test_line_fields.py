"""Levels and timestamps read at index time agree with parsing every line (hypothesis),
and filters decided from those arrays equal filters over parsed records."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console.backends.log_files import line_index
from cs_console.backends.log_files.indexed_lines import IndexedLogLines
from cs_console.backends.log_files.line_fields import UNDECIDED
from cs_console.backends.log_files.line_index import LineIndex
from cs_console.domain.log_filter import parse_filter
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.safe_text import decode_bytes

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)

level_values = st.one_of(
    st.sampled_from(["info", "INFO", "warn", "Warning", "error", "err", "fatal", "debug", "trace", "log", "notice", "panic",
                     " error", "critical", "nope", "", "inf\\u006f"]),
    st.integers(-5, 70), st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.sampled_from(["error", 1]), max_size=2), st.just({"level": "error"}),
)
time_values = st.one_of(
    st.sampled_from([
        "2026-12-03T11:00:00.000000Z", "2026-12-03T11:00:00Z", "2026-12-03T11:00:00.123456789Z", "2026-12-03 11:00:00",
        "2026-12-03T11:00:00+02:00", "2026-12-03t11:00:00z", "2026-12-03T11:00:60Z", "2026-12-03", "not a time",
        "1764759600", "1764759600.5", "", "2026-13-03T11:00:00Z", "2026-12-03T11:00:00.5-00:30",
    ]),
    st.integers(0, 2 * 10**12), st.floats(min_value=0, max_value=4e9), st.none(), st.booleans(),
    st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
)
other_values = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.lists(st.integers(), max_size=2))


@st.composite
def log_line(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "json", "dup", "nested", "plain", "broken", "spaced", "bytes", "deep", "blank"]))
    if kind == "blank":  # not records; the numpy and the regex blank-line paths must agree
        return draw(st.sampled_from([b"", b" ", b"\t \x0b", "\u3000".encode(), b"\x1f", "\u00a0x".encode(), b"\xc2"]))
    if kind in ("json", "dup", "nested"):
        obj: dict = {}
        for key in draw(st.permutations(["timestamp", "level", "event_message", "severity", "status", "metadata", "x"]))[: draw(st.integers(0, 7))]:
            obj[key] = (draw(level_values) if key in ("level", "severity") else draw(time_values) if key == "timestamp"
                        else {"level": draw(level_values)} if key == "metadata" else draw(other_values))
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
        text = text.replace("\\\\u006f", "\\u006f")  # an escaped letter inside a level name
        if kind == "dup":  # the last duplicate wins in json
            text = text[:-1] + (", " if obj else "") + f'"level": {json.dumps(draw(level_values))}, "timestamp": {json.dumps(draw(time_values))}' + "}"
        if kind == "nested":
            text = json.dumps({"inner": obj, "event_message": "m"})
    elif kind == "plain":
        text = draw(st.sampled_from(["ERROR something", "2026-12-03 11:00:00 WARN x", "[error] y", "level=warn", "plain", "M\r", "x m"]))
    elif kind == "broken":
        text = draw(st.sampled_from(['{"level": "error"', '{"level": "error",}', '{"level": "error"} x', '{"level": NaN}',
                                     '{"level": "error", "v": NaN}', '{"level": "warn", "v": Infinity}', '["level", "error"]',
                                     '{"level": "error"}}', '{"level" "error"}', '{"level": "error", "t": "\x01"}']))
    elif kind == "spaced":
        pre = draw(st.sampled_from(["", " ", "\t", "\x0c", "\x0b", "\u00a0", "\u3000"]))
        post = draw(st.sampled_from(["", " ", "\t", "\x0c", "\x0b", "\u00a0", "\u3000", "\r"]))
        text = pre + json.dumps({"level": draw(level_values), "timestamp": draw(time_values)}) + post
    elif kind == "deep":
        depth = draw(st.sampled_from([10, 600, 2000]))
        text = '{"level": "error", "v": ' + "[" * depth + "]" * depth + "}"
    else:
        return draw(st.sampled_from([b'{"level": "error", "m": "\xff"}', b'{"level": "warn", "m": "\xed\xa0\x80"}',
                                     b'{"level": "error", "m": "caf\xc3\xa9"}', b"\xff{}", b'{"level":"info"}\x00']))
    return text.encode("utf-8", "surrogatepass") + (b"\r" if draw(st.booleans()) else b"")


def parsed(texts: list[str]):
    parser = LineParser("file")
    return [parser.parse_lines([t[:-1] if t.endswith("\r") else t], T0) for t in texts]


def index_of(path: Path, data: bytes, **kw) -> LineIndex:
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        index = LineIndex(fd, **kw)
    finally:
        os.close(fd)
    index.update(final=True)
    return index


@given(st.lists(log_line(), max_size=25), st.booleans(), st.sampled_from([64, 1 << 20]), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_decided_levels_and_times_equal_the_parser(
    tmp_path: Path, lines: list[bytes], final_newline: bool, chunk: int, use_numpy: bool, inline: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    old = line_index.NUMPY_MIN_BYTES
    line_index.NUMPY_MIN_BYTES = 0 if use_numpy else 1 << 60
    try:
        index = index_of(tmp_path / "p.log", data, chunk=chunk, inline_levels=inline)
        if not inline:
            index.warm_levels(1)  # part now, the rest on first use
    finally:
        line_index.NUMPY_MIN_BYTES = old
    levels, times = index.levels(), index.times()
    assert len(levels) == len(times) == len(index)
    assert list(index.blank_lines()) == [i for i in range(len(index)) if index.line_length(i) <= index.max_line and decode_bytes(index.raw(i)).isspace() or index.line_length(i) == 0]
    for i, got in enumerate(parsed([decode_bytes(index.raw(i)) if index.line_length(i) <= index.max_line else index.text(i) for i in range(len(index))])):
        if not got:
            assert levels[i] == UNDECIDED  # blank: not a record
            continue
        record = got[0]
        if levels[i] != UNDECIDED:
            assert levels[i] == int(record.level), index.raw(i)
        if not math.isnan(times[i]):
            assert times[i] == record.ts.timestamp(), index.raw(i)


def test_plain_json_lines_are_all_decided(tmp_path: Path) -> None:
    lines = [json.dumps({"timestamp": f"2026-12-03T11:00:{i % 60:02d}.{i:06d}Z", "level": ["info", "warning", "error"][i % 3], "event_message": f"m {i}"})
             for i in range(3000)]
    index = index_of(tmp_path / "a.log", ("\n".join(lines) + "\n").encode())
    assert UNDECIDED not in index.levels()
    assert not any(math.isnan(t) for t in index.times())


def test_the_parser_decides_what_the_index_cannot(tmp_path: Path) -> None:
    data = b"2026-12-03 11:00:00 ERROR plain text\n" + b'{"severity": "warn"}\n' + b'{"level": "error", "timestamp": "2026-12-03T11:00:00Z"}\n'
    path = tmp_path / "m.log"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    view = IndexedLogLines(LineIndex(fd), now=lambda: T0)
    os.close(fd)
    view.update(final=True)
    assert list(view.index.levels()) == [0, 0, 40]
    view.set_filter("level>=warn")
    assert [view.record(i).message for i in range(len(view))] == ["2026-12-03 11:00:00 ERROR plain text", '{"severity": "warn"}', '{"level": "error", "timestamp": "2026-12-03T11:00:00Z"}']
    assert list(view.index.levels()) == [40, 30, 40]  # what the parse said is kept
    parsed_before = view.parsed
    view.set_filter("level>=error")
    assert len(view) == 2 and view.parsed == parsed_before  # no parse the second time


FILTERS = ["level>=warn", "level=error,info", "-level=info", "level<warn", "since=2026-12-03T11:00:30Z", "until=2026-12-03T11:00:30Z",
           "level>=warn since=2026-12-03T11:00:10Z", "level>=error m", "-since=2026-12-03T11:00:30Z", "since=30m",
           "m", "-m", "error", "level>=warn -x", "plain since=2026-12-03T11:00:10Z", "-level=info something"]


@given(st.lists(log_line(), max_size=25), st.sampled_from(FILTERS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_level_and_time_filters_equal_matching_parsed_records(tmp_path: Path, lines: list[bytes], flt: str) -> None:
    data = b"\n".join(lines) + b"\n"
    path = tmp_path / "f.log"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    view = IndexedLogLines(LineIndex(fd, chunk=128), now=lambda: T0, filter=flt)
    os.close(fd)
    view.update(final=True)
    matcher = parse_filter(flt).compile(T0)
    index = view.index
    expected = []
    for i, got in enumerate(parsed([index.text(i) for i in range(len(index))])):
        if got and matcher.match(got[0]):
            expected.append(i)
    assert [view.line(i) for i in range(len(view))] == expected


@pytest.mark.parametrize("backward", [False, True])
def test_next_level_reads_the_array(tmp_path: Path, backward: bool) -> None:
    levels = ["info"] * 50 + ["error"] + ["info"] * 30 + ["warning"] + ["info"] * 10
    lines = [json.dumps({"level": lv, "event_message": str(i)}) for i, lv in enumerate(levels)] + ["FATAL plain line"]
    path = tmp_path / "n.log"
    path.write_text("\n".join(lines) + "\n")
    fd = os.open(path, os.O_RDONLY)
    view = IndexedLogLines(LineIndex(fd), now=lambda: T0)
    os.close(fd)
    view.update()
    from cs_console.domain.log_record import Level

    if backward:
        assert view.next_level(None, Level.ERROR, backward=True) == len(lines) - 1  # the plain line, parsed
        assert view.next_level(len(lines) - 1, Level.ERROR, backward=True) == 50
        assert view.next_level(50, Level.ERROR, backward=True) is None
        assert view.next_level(None, Level.WARN, backward=True) == len(lines) - 1
    else:
        assert view.next_level(None, Level.ERROR) == 50
        assert view.next_level(50, Level.WARN) == 81
        assert view.next_level(81, Level.ERROR) == len(lines) - 1
        assert view.parsed <= 1


def test_without_msgspec_lines_are_undecided_and_filters_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.backends.log_files import line_fields

    monkeypatch.setattr(line_fields, "_MS", [None])
    lines = [json.dumps({"timestamp": "2026-12-03T11:00:00Z", "level": ["info", "error"][i % 2], "event_message": f"m {i}"}) for i in range(50)]
    path = tmp_path / "s.log"
    path.write_text("\n".join(lines) + "\n")
    fd = os.open(path, os.O_RDONLY)
    view = IndexedLogLines(LineIndex(fd), now=lambda: T0, filter="level>=error m")
    os.close(fd)
    view.update()
    assert set(view.index.levels()) == {40, 20}  # all undecided at index time, then learnt from the parse
    assert [view.line(i) for i in range(len(view))] == list(range(1, 50, 2)) and view.parsed == 50
