"""Log records from JSON lines, plain text and Supabase rows; timestamps in every unit."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.domain.log_fields import MAX_MESSAGE_CHARS, parse_level, parse_timestamp
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.supabase_log_rows import parse_supabase_row
from cs_console.domain.log_record import Level

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "supabase"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
EXPECTED = datetime(2026, 6, 10, 9, 41, 10, 118000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "value",
    [
        1781084470118000,  # µs (BigQuery dialect)
        "1781084470118000",
        1781084470118,  # ms
        1781084470.118,  # s with fraction
        1781084470118000000,  # ns
        "2026-06-10T09:41:10.118Z",
        "2026-06-10T09:41:10.118000",  # ClickHouse: no zone means UTC
        "2026-06-10 09:41:10.118+00:00",
        "2026-06-10T11:41:10.118+02:00",
        "2026-06-10T09:41:10.118000000Z",
    ],
)
def test_timestamps_in_every_unit(value: object) -> None:
    got = parse_timestamp(value)
    assert got is not None and got.tzinfo is timezone.utc
    assert abs((got - EXPECTED).total_seconds()) < 0.001


@pytest.mark.parametrize("value", [None, "", "yesterday", True, [], {}, float("nan"), 10**40, "9" * 40])
def test_non_timestamps_are_none(value: object) -> None:
    assert parse_timestamp(value) is None


def test_levels() -> None:
    assert parse_level("WARNING") is Level.WARN
    assert parse_level("err") is Level.ERROR
    assert parse_level(50) is Level.ERROR and parse_level(30) is Level.INFO and parse_level(60) is Level.FATAL
    assert parse_level("loud") is None and parse_level(True) is None


LOGGEN_LINE = (
    '{"timestamp": "2024-11-27T05:06:58.123456Z", "level": "warning", "event_message": "POST | 404 | /functions/v1/stripe-webhook", '
    '"function_name": "stripe-webhook", "status": 404, "execution_time_ms": 87, "request_id": "4f7c0000-aaaa-4bbb-8ccc-0123456789ab"}'
)


def test_loggen_json_line() -> None:
    r = LineParser().parse_line(LOGGEN_LINE, NOW)
    assert r is not None
    assert r.ts == datetime(2024, 11, 27, 5, 6, 58, 123456, tzinfo=timezone.utc)
    assert (r.level, r.source, r.function, r.status) == (Level.WARN, "file", "stripe-webhook", 404)
    assert r.message == "POST | 404 | /functions/v1/stripe-webhook"
    assert r.request_id == "4f7c0000-aaaa-4bbb-8ccc-0123456789ab"
    # the original line is kept, fields are parsed for the detail view only
    assert r.line == LOGGEN_LINE and not r.raw
    assert r.fields()["raw"]["execution_time_ms"] == 87


def test_json_aliases_and_derived_level() -> None:
    p = LineParser("stdin")
    r = p.parse_line('{"ts": 1781084470118, "msg": "boom", "status_code": "502", "requestId": 7, "severity": null}', NOW)
    assert r is not None and r.ts == EXPECTED and r.message == "boom" and r.status == 502
    assert r.level is Level.ERROR, "no level: taken from the status"
    assert r.request_id == "7" and r.source == "stdin"
    r = p.parse_line('{"level": 40, "message": {"nested": [1, 2]}, "source": "auth_logs"}', NOW)
    assert r is not None and r.level is Level.WARN and r.message == '{"nested": [1, 2]}' and r.source == "auth"
    assert r.ts == NOW, "no timestamp: the time it was read"


def test_supabase_export_with_metadata() -> None:
    line = json.dumps({
        "id": "x1", "timestamp": 1781084470118000, "event_message": "Error: upstream\n",
        "metadata": [{"level": "error", "function_id": "fid", "execution_id": "ex1"}],
    })
    r = LineParser().parse_line(line, NOW)
    assert r is not None and (r.level, r.function, r.request_id, r.id) == (Level.ERROR, "fid", "ex1", "x1")
    assert r.message == "Error: upstream"


@pytest.mark.parametrize(
    "line, level",
    [
        ("2026-11-27 03:00:00,123 ERROR db gone", Level.ERROR),
        ("[warn] disk almost full", Level.WARN),
        ("ts=1 level=error msg=x", Level.ERROR),
        ("severity: Fatal boom", Level.FATAL),
        ("<debug> x", Level.DEBUG),
        ("no error here, all fine", Level.INFO),  # lower-case prose is not a level
        ("WARNING: low memory", Level.WARN),
    ],
)
def test_plain_text_levels(line: str, level: Level) -> None:
    r = LineParser().parse_line(line, NOW)
    assert r is not None and r.level is level and r.message == line


def test_plain_text_leading_timestamp() -> None:
    r = LineParser().parse_line("2026-11-27T03:04:05.5Z INFO started", NOW)
    assert r is not None and r.ts == datetime(2026, 11, 27, 3, 4, 5, 500000, tzinfo=timezone.utc)
    r = LineParser().parse_line("[2026-11-27 03:04:05 UTC] started", NOW)
    assert r is not None and r.ts == datetime(2026, 11, 27, 3, 4, 5, tzinfo=timezone.utc)


def test_broken_and_non_object_json_are_plain_text() -> None:
    p = LineParser()
    for line in ('{"a": ', '{"msg": "x"} trailing', "[1, 2]", '{"a": [[[[[[' + "[" * 100000):
        r = p.parse_line(line, NOW)
        assert r is not None and r.line is None and r.level is Level.INFO
    assert p.parse_lines(["", "   ", "\t"], NOW) == []


def test_huge_lines_are_cut_with_a_marker() -> None:
    p = LineParser()
    plain = "E" * 1_000_000
    r = p.parse_line(plain, NOW)
    assert r is not None and len(r.message) < MAX_MESSAGE_CHARS + 40 and r.message.endswith("chars]")
    huge_json = json.dumps({"level": "error", "event_message": "x" * 1_000_000, "k": "v"})
    r = p.parse_line(huge_json, NOW)
    assert r is not None and r.level is Level.ERROR and r.line is None
    assert len(r.message) < MAX_MESSAGE_CHARS + 40 and "cut" in r.message
    assert r.raw["k"] == "v" and len(r.raw["event_message"]) < 5000


@given(st.lists(st.text(), max_size=20))
@settings(max_examples=300, deadline=None)
def test_any_text_lines_parse_without_raising(lines: list[str]) -> None:
    records = LineParser().parse_lines(lines, NOW)
    assert len(records) == sum(1 for line in lines if line.strip())
    for r in records:
        assert isinstance(r.message, str) and r.ts.tzinfo is not None
        r.fields()
        r.summary()


@given(st.dictionaries(st.sampled_from(["timestamp", "ts", "level", "status", "event_message", "msg", "function_name", "request_id", "id", "metadata", "source"]),
                       st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.lists(st.integers(), max_size=2)))
@settings(max_examples=300, deadline=None)
def test_any_json_object_parses_without_raising(obj: dict[str, object]) -> None:
    line = json.dumps(obj)
    r = LineParser().parse_line(line, NOW)
    assert r is not None and isinstance(r.message, str) and isinstance(r.level, Level)
    assert r.status is None or isinstance(r.status, int)


# ----------------------------------------------------------------- Supabase rows

FUNCTION_NAMES = {"8a2e6b71-1c3d-4f5a-8b9c-0d1e2f3a4b5c": "score-customer", "3f0c1a52-7d4e-4b8a-9a61-2c5e8f1b7d01": "ingest-signal"}


def rows(name: str) -> list[dict[str, object]]:
    return json.loads((FIXTURES / name).read_text())["result"]


def test_function_logs_rows_bigquery() -> None:
    got = [parse_supabase_row(r, "function_logs", FUNCTION_NAMES) for r in rows("logs_function_logs.json")]
    assert [r.level for r in got] == [Level.INFO, Level.ERROR, Level.INFO]
    assert {r.function for r in got} == {"score-customer"} and {r.source for r in got} == {"function"}
    assert got[0].ts == datetime(2026, 6, 10, 9, 1, 3, 512000, tzinfo=timezone.utc)
    assert got[0].message == "scored customer cus_8812 in 142ms"
    assert got[1].request_id == "6e5d4c3b-2a19-4f08-b7e6-d5c4b3a29180" and got[1].id == "a9c8b7d6-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def test_edge_and_function_edge_rows() -> None:
    edge = [parse_supabase_row(r, "edge_logs") for r in rows("logs_edge_logs.json")]
    assert [(r.status, r.level, r.source) for r in edge] == [(201, Level.INFO, "edge"), (500, Level.ERROR, "edge"), (400, Level.WARN, "edge")]
    fe = parse_supabase_row(rows("logs_function_edge_logs.json")[0], "function_edge_logs", {})
    assert fe.function == "ingest-signal", "unknown id: the name comes from the path"
    assert fe.source == "function" and fe.status == 200


def test_clickhouse_shaped_rows() -> None:
    row = {"id": "c1", "timestamp": "2026-06-22T09:34:06.215000", "event_message": "LOG: x", "source": "postgres_logs", "level": "ERROR"}
    r = parse_supabase_row(row)
    assert (r.source, r.level, r.id) == ("postgres", Level.ERROR, "c1")
    assert r.ts == datetime(2026, 6, 22, 9, 34, 6, 215000, tzinfo=timezone.utc)
    auth = parse_supabase_row({"id": "a", "timestamp": "2026-06-22T09:34:06", "event_message": "{}", "level": "info", "status": "429"}, "auth_logs")
    assert auth.level is Level.WARN and auth.status == 429, "auth says info on 4xx: the status decides"
