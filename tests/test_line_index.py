"""A log file as a line-offset index: growth, truncation, odd bytes, and raw-byte filters
that agree with filters on parsed records."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console.backends.log_files.indexed_lines import IndexedLogLines, raw_needles
from cs_console.backends.log_files.line_index import LineIndex
from cs_console.domain.log_filter import parse_filter
from cs_console.domain.log_parsing import LineParser
from cs_console.domain.log_record import Level
from cs_console.domain.safe_text import decode_bytes

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def jline(msg: str, level: str = "info", **extra: object) -> str:
    return json.dumps({"timestamp": "2026-12-03T11:00:00.000000Z", "level": level, "event_message": msg, **extra})


def open_view(path: Path, flt: str = "", **kw: object) -> IndexedLogLines:
    fd = os.open(path, os.O_RDONLY)
    try:
        view = IndexedLogLines(LineIndex(fd, **kw), now=lambda: T0, filter=flt)  # type: ignore[arg-type]
    finally:
        os.close(fd)  # the index holds its own descriptor
    return view


def messages(view: IndexedLogLines) -> list[str]:
    return [view.record(i).message for i in range(len(view))]


def test_growing_file_appends_to_the_index_and_the_view(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("\n".join(jline(f"req {i}", "error" if i % 3 == 0 else "info") for i in range(10)) + "\n")
    view = open_view(path, "level>=error")
    assert view.update() == 4 and view.line_count == 10
    assert messages(view) == ["req 0", "req 3", "req 6", "req 9"]
    with path.open("a") as fh:
        fh.write(jline("req 10") + "\n" + jline("req 12", "error") + "\n" + '{"level": "error", "event_message": "half')
    assert view.update() == 1 and view.line_count == 12  # the unterminated line waits for its newline
    with path.open("a") as fh:
        fh.write(' done"}\n')
    assert view.update() == 1 and messages(view)[-1] == "half done"
    key = view.key(2)
    view.set_filter("req")
    assert view.record(view.index_for_key(key)).message == "req 6"
    assert view.index_for_key(10**9) == len(view)


def test_truncated_file_is_indexed_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(f"old line {i}\n" for i in range(50)))
    view = open_view(path)
    view.update()
    generation = view.generation
    assert view.record(49).message == "old line 49"
    path.write_text("new 1\nnew 2\n")  # > file: shorter than what was indexed
    assert view.update() == 2
    assert view.generation != generation and view.index.truncations == 1
    assert messages(view) == ["new 1", "new 2"]


def test_unterminated_last_line_counts_when_final_and_again_when_it_grows(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"one\ntwo")
    view = open_view(path)
    assert view.update() == 1
    assert view.update(final=True) == 1 and messages(view) == ["one", "two"]
    assert view.update(final=True) == 0
    with path.open("ab") as fh:
        fh.write(b" and three\nfour\n")
    view.update()
    assert messages(view) == ["one", "two and three", "four"]


def test_invalid_utf8_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(
        b"bad \xff\xfe bytes\r\n"
        b"\r\n"
        b"   \t\r\n"
        + "\u3000\u2003\n".encode()
        + b"\n"
        + jline("crlf json", "warn").encode() + b"\r\n"
        + b"caf\xc3\xa9 ok\n"
    )
    view = open_view(path)
    view.update()
    assert view.line_count == 7
    assert messages(view) == ["bad \\xff\\xfe bytes", "crlf json", "café ok"]
    assert view.record(1).level == Level.WARN
    assert [view.index.blank(i) for i in range(7)] == [False, True, True, True, True, False, False]
    assert view.index.raw(0) == b"bad \xff\xfe bytes" and view.index.line_length(0) == 12


@pytest.mark.parametrize("chunk", [1 << 20, 4096])
def test_a_line_over_one_mib_is_cut_when_read(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "app.log"
    huge = "x" * ((1 << 20) + 5000)
    path.write_text(f"before\n{huge} NEEDLE\nafter NEEDLE\n")
    view = open_view(path, chunk=chunk)
    view.update()
    assert view.line_count == 3
    text = view.index.text(1)
    assert text.startswith("x" * 1000) and "line cut: 5007 more bytes" in text
    assert len(view.index.raw(1)) == 1 << 20
    assert messages(view)[2] == "after NEEDLE"
    # the message keeps 64 Ki characters: a filter finds neither the cut part nor
    # the read-time marker, but the message's own marker (as with the buffer)
    view.set_filter("NEEDLE")
    assert messages(view) == ["after NEEDLE"]
    view.set_filter("cut")
    assert view.match_count == 1 and view.line(0) == 1 and view.record(0).message.endswith("chars]")


def test_only_candidate_lines_are_parsed(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(jline(f"GET /x {i}" + (" NEEDLE" if i in (7, 700) else "")) + "\n" for i in range(2000)))
    view = open_view(path)
    view.update()
    assert view.parsed == 0  # indexing parses nothing
    view.set_filter("needle level>=info")
    assert view.match_count == 2 and view.parsed == 0  # level array + the message alone
    view.set_filter("-needle")
    assert view.match_count == 1998 and view.parsed == 0  # every line's message, still no record
    assert view.record(len(view) - 1).message == "GET /x 1999"
    view.set_filter("needle function=x")
    assert view.match_count == 0 and view.parsed == 3  # a field term needs the record of each candidate


def test_raw_needles_skip_what_reserialised_json_could_spell_differently() -> None:
    got = raw_needles(parse_filter('timeout "a b" 1000 e infinity nan "x, y" "k:v" -gone /re/ café " lead" a.b-c'))
    assert got == (b"timeout", b"a b", b"a.b-c")


# ----------------------------------------------------------------- property: raw bytes agree with parsed records

NEEDLES = ["timeout", "a b", "1000", "e", "infinity", "K", "x", "ok", "\u212a", "café", "b\\", "null", " true", "1 ", ""]
words = st.sampled_from(["timeout", "a", "b", "ok", "x", "K", "\u212a", "café", "1e3", "e", "\\", '"', "日本", " ", "\t"])
messages_st = st.lists(words, max_size=5).map(" ".join)
json_values = st.one_of(
    messages_st,
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, width=32),
    st.sampled_from([1e999, -1e999, 1e3, 1.50]),
    st.none(),
    st.booleans(),
    st.lists(messages_st, max_size=2),
    st.lists(st.one_of(st.booleans(), st.integers(0, 3)), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b c", "timeout"]), messages_st, max_size=2),
)


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "json-nomsg", "plain", "blank", "bad"]))
    if kind == "json":
        obj = {"level": draw(st.sampled_from(["info", "warn", "error"])), "event_message": draw(json_values)}
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
        if draw(st.booleans()):  # numbers as another writer spells them
            text = text.replace("Infinity", "1e999").replace("1000.0", "1e3")
    elif kind == "json-nomsg":
        text = json.dumps({"status": draw(st.sampled_from([200, 500])), "v": draw(json_values)}, separators=(",", ":"))
        text = text.replace("Infinity", "1e999").replace("1000.0", "1e3")  # as another writer spells them
    elif kind == "plain":
        text = draw(messages_st)
    elif kind == "blank":
        text = draw(st.sampled_from(["", " ", "\t ", "\u3000", "\x1f"]))
    else:
        return draw(st.sampled_from([b"bad \xff timeout", b"\xe3\x80 x", b"K\xc3"]))
    return text.encode("utf-8", "surrogatepass") + (b"\r" if draw(st.booleans()) else b"")


@given(st.lists(log_lines(), max_size=30), st.lists(st.sampled_from(NEEDLES), min_size=1, max_size=2), st.sampled_from(["", " level>=warn", " -x"]), st.booleans())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_raw_prefilter_agrees_with_parsing_every_line(tmp_path: Path, lines: list[bytes], needles: list[str], extra: str, final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    check_against_parsing(tmp_path / "prop.log", data, " ".join(json.dumps(n) for n in needles) + extra)


@pytest.mark.parametrize(("line", "flt"), [
    (b'{"level":"info","event_message":1e3}', '"1000"'),  # json.dumps respells numbers
    (b'{"level":"info","event_message":[1,true]}', '" true"'),  # ... and adds spaces
    (b'{"event_message":{"v":1e999}}', "infinity"),
    (b'{"event_message":"caf\\u00e9 \\"q\\""}', "caf\u00e9"),  # escapes
    ("\u212a".encode(), "k"),  # the Kelvin sign lowers to an ASCII k
    (b'{"event_message":"timeout"}', "timeout -x"),
])
def test_raw_prefilter_tricky_lines(tmp_path: Path, line: bytes, flt: str) -> None:
    assert check_against_parsing(tmp_path / "t.log", line + b"\nno match here\n", flt) == 1


def check_against_parsing(path: Path, data: bytes, flt: str) -> int:
    """The view over the index equals every line parsed on its own and matched
    (what the buffer would show). Returns the number of matches."""
    path.write_bytes(data)
    view = open_view(path, flt, chunk=64)  # small chunks: pieces end everywhere
    view.update(final=True)
    parser = LineParser("file")
    matcher = parse_filter(flt).compile(T0)
    texts = decode_bytes(data).split("\n")
    if data.endswith(b"\n") or not data:
        texts.pop()
    expected = []
    for i, text in enumerate(texts):
        got = parser.parse_lines([text[:-1] if text.endswith("\r") else text], T0)
        if got and matcher.match(got[0]):
            expected.append((i, got[0].message))
    assert [(view.line(i), view.record(i).message) for i in range(len(view))] == expected
    return len(expected)
