"""IndexedLogFile on real files: the end of a big file first, then all of it with the same keys."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cs_console.backends.log_files import indexed_file
from cs_console.backends.log_files.file_source import LocalLogSourceError
from cs_console.backends.log_files.indexed_file import IndexedLogFile, open_indexed_log


def write_lines(path: Path, n: int) -> None:
    path.write_text("".join(json.dumps({"level": "error" if i % 7 == 0 else "info", "event_message": f"line {i:05d}"}) + "\n" for i in range(n)))


async def test_a_big_file_shows_its_end_first_then_all_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexed_file, "TAIL_FIRST_BYTES", 10_000)
    monkeypatch.setattr(indexed_file, "TAIL_BYTES", 2_000)
    path = tmp_path / "big.jsonl"
    write_lines(path, 3000)
    log = IndexedLogFile(path)
    log.lines.set_filter("level>=error")
    await log.poll()
    lines = log.lines
    assert log.indexing and 0 < lines.line_count < 100  # only the tail so far
    assert lines.record(len(lines) - 1).message == "line 02996"
    key = lines.key(len(lines) - 2)
    for _ in range(500):
        await log.poll()
        if not log.indexing:
            break
        await asyncio.sleep(0.01)
    assert not log.indexing and lines.line_count == 3000
    assert len(lines) == len(range(0, 3000, 7))
    assert lines.record(lines.index_for_key(key)).message == "line 02989"  # the same line, by its key
    with path.open("a") as fh:
        fh.write(json.dumps({"level": "error", "event_message": "line 03000"}) + "\n")
    assert await log.poll() == 1 and lines.record(len(lines) - 1).message == "line 03000"


def test_only_regular_files_are_indexed(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert open_indexed_log(f"file:{fifo}") is None
    assert open_indexed_log("-") is None
    with pytest.raises(LocalLogSourceError, match="no such file"):
        open_indexed_log(f"file:{tmp_path / 'missing.log'}")
