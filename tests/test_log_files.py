"""Local log sources on real files and pipes: follow, rotation, truncation, hostile bytes, stdin."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cs_console.backends.log_files import file_source, open_local_log_source
from cs_console.backends.log_files.file_source import FileLogSource, LocalLogSourceError
from cs_console.backends.log_files.lines import LINE_CUT_MARKER, LineSplitter
from cs_console.backends.log_files.pipes import StdinLogSource
from cs_console.domain.log_buffer import Backfill, LogBuffer
from cs_console.domain.log_record import Level, LogRecord

REPO = Path(__file__).resolve().parent.parent


def jline(i: int, level: str = "info", msg: str | None = None) -> str:
    return json.dumps({"timestamp": f"2026-11-27T03:00:{i % 60:02d}.{i:06d}Z", "level": level, "event_message": msg or f"line {i}"}) + "\n"


def write(path: Path, text: str | bytes, mode: str = "a") -> None:
    data = text.encode() if isinstance(text, str) else text
    with open(path, mode + "b") as fh:
        fh.write(data)


async def read_all(source: Any, **kw: Any) -> list[LogRecord]:
    out: list[LogRecord] = []
    async for batch in source.records(None, False, **kw):
        out.extend(batch)
    return out


class Tail:
    """Drives a following records() iterator step by step."""

    def __init__(self, source: Any, **kw: Any) -> None:
        self.it = source.records(None, True, **kw)
        self.got: list[LogRecord] = []

    @property
    def messages(self) -> list[str]:
        return [r.message for r in self.got]

    async def until(self, pred: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
        async def run() -> None:
            while not pred(self.messages):
                self.got.extend(await self.it.__anext__())

        await asyncio.wait_for(run(), timeout)
        return self.messages

    async def close(self) -> None:
        await self.it.aclose()


# ----------------------------------------------------------------- splitting


def test_splitter_keeps_partial_lines_and_cuts_giants() -> None:
    s = LineSplitter(max_line=10)
    assert s.feed(b"ab") == []
    assert s.feed(b"c\nde") == ["abc"]
    assert s.feed(b"f\r\n") == ["def"]
    assert s.feed(b"0123456789ABCDEF") == []
    assert s.feed(b"GH\nok\n") == ["0123456789" + LINE_CUT_MARKER.format(n=8), "ok"]
    assert s.feed(b"x" * 25 + b"\n") == ["x" * 10 + LINE_CUT_MARKER.format(n=15)]
    assert s.feed(b"tail") == [] and s.flush() == ["tail"] and s.flush() == []


def test_splitter_never_splits_a_utf8_character() -> None:
    s = LineSplitter()
    data = "é\nü\n".encode()
    out: list[str] = []
    for i in range(len(data)):
        out += s.feed(data[i : i + 1])
    assert out == ["é", "ü"]


# ----------------------------------------------------------------- whole file, tail, backfill


async def test_reads_a_file_with_an_unterminated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write(path, jline(1) + "plain ERROR text\n" + "no newline at end")
    got = await read_all(open_local_log_source(f"file:{path}"))
    assert [r.message for r in got] == ["line 1", "plain ERROR text", "no newline at end"]
    assert got[1].level is Level.ERROR and got[0].source == "file"


async def test_tail_and_backfill_give_the_same_last_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_source, "FIRST_SCREEN_CHUNK", 4096)  # many chunks in a small file
    path = tmp_path / "big.log"
    write(path, "".join(jline(i) for i in range(3000)) + "partial")
    source = FileLogSource(path, read_chunk=8192)
    tail = await read_all(source, tail=500)
    assert [r.message for r in tail] == [f"line {i}" for i in range(2501, 3000)] + ["partial"]

    batches = []
    async for batch in FileLogSource(path, read_chunk=8192).records(None, False, tail=500, backfill=True):
        batches.append(batch)
    assert not isinstance(batches[0], Backfill) and batches[0][-1].message == "line 2999", "the end comes first"
    assert all(isinstance(b, Backfill) for b in batches[1:-1]) and len(batches) > 3
    assert [r.message for r in batches[-1]] == ["partial"], "the unterminated line is read forward, after"
    buf = LogBuffer(10_000)
    for b in batches:
        buf.ingest(b)
    assert [r.message for r in buf.records()] == [r.message for r in tail][:-1] + ["partial"]


async def test_backfill_respects_the_buffer_and_since(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    path = tmp_path / "t.log"
    write(path, "".join(jline(i) for i in range(100)))
    since = datetime(2026, 11, 27, 3, 0, 50, tzinfo=timezone.utc)
    got = []
    async for batch in FileLogSource(path).records(since, False, tail=1000, backfill=True):
        got.extend(batch)
    assert {r.message for r in got} == {f"line {i}" for i in range(100) if i % 60 >= 50}


# ----------------------------------------------------------------- follow


async def test_follow_appends_and_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    write(path, jline(0))
    source = FileLogSource(path, poll_interval=0.02)
    tail = Tail(source)
    try:
        await tail.until(lambda m: m == ["line 0"])
        assert source.lag_seconds() == 0.0
        write(path, jline(1) + jline(2))
        await tail.until(lambda m: len(m) == 3)
        write(path, '{"level": "error", "event_message": "half')
        # Keep the follower running (a Tail only reads while driven) until it has read the half
        # line, then past its next turn: the half line must not have come out.
        rest = asyncio.create_task(tail.until(lambda m: len(m) == 4))
        size = path.stat().st_size
        for _ in range(1000):
            if source.bytes_read >= size:
                break
            await asyncio.sleep(0.01)
        assert source.bytes_read >= size, "the follower never read the half line"
        for _ in range(10):  # a small read is parsed and yielded without leaving the event loop
            await asyncio.sleep(0)
        assert len(tail.messages) == 3 and not rest.done(), "an unfinished line waits for its newline"
        write(path, ' and half"}\n')
        msgs = await rest
        assert msgs[-1] == "half and half" and tail.got[-1].level is Level.ERROR
    finally:
        await tail.close()


async def test_follow_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    write(path, jline(0))
    source = FileLogSource(path, poll_interval=0.02)
    tail = Tail(source)
    try:
        await tail.until(lambda m: m == ["line 0"])
        os.rename(path, tmp_path / "app.log.1")
        write(tmp_path / "app.log.1", jline(1, msg="late write to the old file"))
        write(path, jline(2, msg="first of the new file"), mode="w")
        msgs = await tail.until(lambda m: "first of the new file" in m)
        assert "late write to the old file" in msgs
        assert source.rotations == 1
        write(path, jline(3, msg="second of the new file"))
        await tail.until(lambda m: "second of the new file" in m)
        assert "rotated 1×" in source.status().detail
    finally:
        await tail.close()


async def test_follow_survives_the_file_disappearing_for_a_while(tmp_path: Path) -> None:
    path = tmp_path / "gone.log"
    write(path, jline(0))
    source = FileLogSource(path, poll_interval=0.02)
    tail = Tail(source)
    try:
        await tail.until(lambda m: len(m) == 1)
        waiter = asyncio.create_task(tail.until(lambda m: "back again" in m))
        os.unlink(path)
        for _ in range(1000):  # until the follower has noticed
            if "waiting" in source.status().detail:
                break
            await asyncio.sleep(0.01)
        assert "waiting" in source.status().detail
        write(path, jline(5, msg="back again"), mode="w")
        await waiter
    finally:
        await tail.close()


async def test_follow_survives_truncation(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    write(path, "".join(jline(i) for i in range(50)))
    source = FileLogSource(path, poll_interval=0.02)
    tail = Tail(source)
    try:
        await tail.until(lambda m: len(m) == 50)
        with open(path, "r+b") as fh:
            fh.truncate(0)
        write(path, jline(99, msg="after truncation"))
        await tail.until(lambda m: "after truncation" in m)
        assert source.truncations == 1
    finally:
        await tail.close()


# ----------------------------------------------------------------- hostile content


async def test_invalid_utf8_and_a_one_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "h.log"
    write(path, b"\xff\xfe bad bytes ERROR\n" + b"A" * (2 << 20) + b"\n" + b'{"event_message": "\xc3\x28 in json"}\n' + b"after\n")
    got = await read_all(open_local_log_source(f"file:{path}"))
    assert got[0].message == "\\xff\\xfe bad bytes ERROR" and got[0].level is Level.ERROR
    assert len(got[1].message) < 70_000 and "cut" in got[1].message
    assert "\\xc3(" in got[2].message
    assert got[3].message == "after"


def test_bad_specs_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(LocalLogSourceError, match="no such file"):
        open_local_log_source(f"file:{tmp_path / 'missing.log'}")
    with pytest.raises(LocalLogSourceError, match="is a directory"):
        open_local_log_source(f"file:{tmp_path}")
    with pytest.raises(LocalLogSourceError, match="expected file:PATH"):
        open_local_log_source("file:")


# ----------------------------------------------------------------- stdin and pipes


async def test_pipe_source_reads_until_the_writer_closes() -> None:
    r, w = os.pipe()
    source = StdinLogSource(r)
    assert source.lag_seconds() is None

    async def feed() -> None:
        for i in range(3):
            os.write(w, jline(i).encode())
            await asyncio.sleep(0.05)
        os.write(w, b"last line without newline")
        os.close(w)

    feeder = asyncio.create_task(feed())
    got = await asyncio.wait_for(read_all(source), 10)
    await feeder
    os.close(r)
    assert [x.message for x in got] == ["line 0", "line 1", "line 2", "last line without newline"]
    assert source.ended and source.lag_seconds() == 0.0 and got[0].source == "stdin"
    assert await read_all(source) == [], "a pipe is read once"


def test_stdin_through_the_cli() -> None:
    data = (jline(1, "error", "db down") + jline(2, "info", "fine") + "plain ERROR from text\n").encode() + b"\xff raw ERROR\n"
    proc = subprocess.run(
        [sys.executable, "-m", "cs_console", "logs", "--source", "-", "--filter", "level=error", "--json"],
        input=data, capture_output=True, cwd=REPO, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["message"] for o in out] == ["db down", "plain ERROR from text", "\\xff raw ERROR"]
    assert all(o["source"] == "stdin" and o["level"] == "error" for o in out)


# ----------------------------------------------------------------- original lines read back


async def test_file_records_read_their_original_line_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_console.domain.log_record import LineRef

    monkeypatch.setattr(file_source, "FIRST_SCREEN_CHUNK", 64)
    path = tmp_path / "lines.log"
    lines = [json.dumps({"event_message": f"é{i} ü", "n": i}, ensure_ascii=False) for i in range(40)]
    write(path, ("\r\n".join(lines[:20]) + "\r\n").encode() + b"\xff invalid UTF-8\n" + ("\n".join(lines[20:]) + "\n").encode())
    for kw in ({}, {"tail": 30, "backfill": True}, {"tail": 30}):
        got = await read_all(FileLogSource(path, read_chunk=128), **kw)
        json_records = [r for r in got if r.message.startswith("é")]
        assert json_records and all(isinstance(r.line, LineRef) for r in json_records)
        for r in json_records:
            n = int(r.message[1:].split()[0])
            assert r.original_line() == lines[n]
            assert r.fields()["raw"] == {"event_message": f"é{n} ü", "n": n}


async def test_original_lines_after_rotation_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "r.log"
    write(path, jline(1, msg="first file"))
    source = FileLogSource(path, poll_interval=0.02)
    tail = Tail(source)
    try:
        await tail.until(lambda m: m == ["first file"])
        os.rename(path, tmp_path / "r.log.1")
        write(path, jline(2, msg="second file"), mode="w")
        await tail.until(lambda m: "second file" in m)
        first, second = tail.got[0], tail.got[-1]
        assert json.loads(first.original_line() or "")["event_message"] == "first file", "the rotated file is still readable"
        with open(path, "r+b") as fh:
            fh.truncate(0)
        write(path, jline(3, msg="third"))
        await tail.until(lambda m: "third" in m)
        assert second.original_line() is None, "after a truncation the old offsets mean nothing"
        assert "no longer readable" in second.fields()["raw"]["line"]
        assert json.loads(tail.got[-1].original_line() or "")["event_message"] == "third"
    finally:
        await tail.close()
