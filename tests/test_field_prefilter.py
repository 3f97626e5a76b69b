"""The raw-bytes prefilter of field terms (function= / request_id= / id=): exact results.

A line whose raw bytes cannot hold a value is not parsed; every other line is
parsed and the real filter decides. Checked against parsing every line
(check_against_parsing), on JSON lines that carry the fields as strings, numbers,
lists, objects, escapes, nested metadata and plain text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console.backends.log_files.indexed_lines import IndexedLogLines
from cs_console.backends.log_files.line_index import LineIndex
from cs_console.backends.log_files.raw_needles import needle_groups
from cs_console.domain.log_filter import parse_filter
from tests.test_line_index import T0, check_against_parsing, json_values, log_lines

NAMES = ["monitor-keywords", "Monitor-Keywords", "auth", "a b", "caf\u00e9", "\u212aey", "x:y", "1e3", "1000", "true", "null", "ab\\c"]
name_values = st.one_of(st.sampled_from(NAMES), json_values)
FIELD_KEYS = {
    "function": ["function_name", "function", "fn", "function_slug"],
    "request_id": ["request_id", "requestId", "req_id", "execution_id", "trace_id", "x_request_id"],
    "id": ["id"],
}


@st.composite
def field_lines(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(log_lines())
    obj: dict[str, object] = {"level": draw(st.sampled_from(["info", "error"])), "event_message": draw(st.sampled_from(["ok", "auth x", "monitor"]))}
    for field, keys in FIELD_KEYS.items():
        if draw(st.booleans()):
            obj[draw(st.sampled_from(keys))] = draw(name_values)
    if draw(st.booleans()):  # Supabase exports nest them in metadata[0]
        obj.pop("level", None)
        obj["metadata"] = [{"function_id": draw(name_values), "execution_id": draw(name_values)}]
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    if draw(st.booleans()):
        text = text.replace("1000.0", "1e3").replace("Infinity", "1e999")  # as another writer spells them
    return text.encode("utf-8", "surrogatepass") + (b"\r" if draw(st.booleans()) else b"")


VALUES = ["monitor-keywords", "auth", "AUTH", "a b", "caf\u00e9", "key", "1e3", "1000", "true", "null", "monitor*", "*keywords", "*", "x:y", "\"a b\""]
terms = st.builds(
    lambda field, values, neg, text: ("-" if neg else "") + field + "=" + ",".join(values) + text,
    st.sampled_from(list(FIELD_KEYS)),
    st.lists(st.sampled_from(VALUES), min_size=1, max_size=2),
    st.booleans(),
    st.sampled_from(["", " auth", " level>=error", " -x"]),
)


@given(st.lists(field_lines(), max_size=30), st.lists(terms, min_size=1, max_size=2), st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_field_prefilter_agrees_with_parsing_every_line(tmp_path: Path, lines: list[bytes], flts: list[str], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    try:
        parse_filter(" ".join(flts))
    except ValueError:
        return
    check_against_parsing(tmp_path / "f.log", data, " ".join(flts))


@pytest.mark.parametrize(("line", "flt"), [
    (b'{"function":1e3}', "function=1000.0"),  # json.dumps respells numbers: no needle
    (b'{"function":true}', "function=true"),  # a JSON literal, read back through json.dumps
    (b'{"function":"caf\\u00e9"}', "function=caf\u00e9"),  # escapes
    (b'{"function":"MONITOR-keywords"}', "function=monitor-keywords"),  # the value is lowered
    ('{"function":"\u212aey"}'.encode(), "function=key"),  # the Kelvin sign lowers to an ASCII k
    (b'{"metadata":[{"function_id":"auth","execution_id":"r-1"}]}', "function=auth request_id=r-1"),
    (b'{"fn":"monitor-keywords","id":"e1"}', "function=mon*words id=e1,e2"),
])
def test_field_prefilter_tricky_lines(tmp_path: Path, line: bytes, flt: str) -> None:
    assert check_against_parsing(tmp_path / "t.log", line + b"\n" + b'{"function":"other","event_message":"monitor"}\n', flt) == 1


def test_needle_groups_one_group_per_positive_term() -> None:
    got = needle_groups(parse_filter("timeout function=auth,monitor* request_id=1000 -id=x id=a:b function!=q"))
    assert got == ((b"timeout",), (b"auth", b"monitor"))


def test_a_rare_function_parses_only_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(json.dumps({"level": "info", "function": "rare-fn" if i % 500 == 7 else "common", "event_message": f"GET {i}"}) + "\n" for i in range(3000)))
    fd = os.open(path, os.O_RDONLY)
    try:
        view = IndexedLogLines(LineIndex(fd), now=lambda: T0, filter="function=rare-fn")
    finally:
        os.close(fd)
    view.update(final=True)
    assert view.match_count == 6
    assert view.parsed == 6  # only the lines that hold the value's bytes
    view.set_filter("function=common")
    assert view.match_count == 2994
