"""Rotation on real files, read by the real followers (the Logs pane's IndexedLogFile and
the streaming FileLogSource): rename + create and copytruncate lose and repeat nothing,
whether the lines come just before the rotation, after it on the old file, or half a line
across it; a writer in another process rotates while the follower polls."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cs_console.backends.log_files.file_source import FileLogSource
from cs_console.backends.log_files.indexed_file import IndexedLogFile


def line(i: int) -> str:
    return json.dumps({"level": "error" if i % 5 == 0 else "info", "event_message": f"msg {i:05d}"}) + "\n"


def append(path: Path | int, text: str) -> None:
    if isinstance(path, int):
        os.write(path, text.encode())
        return
    with open(path, "a") as fh:
        fh.write(text)


def messages(log: IndexedLogFile) -> list[str]:
    return [log.lines.record(i).message for i in range(len(log.lines))]


def want(n: int, start: int = 0) -> list[str]:
    return [f"msg {i:05d}" for i in range(start, n)]


async def poll_until(log: IndexedLogFile, n: int, timeout: float = 10.0) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await log.poll()
        if len(log.lines) >= n:
            break
        await asyncio.sleep(0.02)
    for _ in range(5):  # a few more: nothing more may come
        await log.poll()
        await asyncio.sleep(0.02)
    return messages(log)


async def test_rename_rotation_keeps_the_old_files_lines_and_its_late_writes(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    append(fd, "".join(map(line, range(100))))
    log = IndexedLogFile(path)
    assert await poll_until(log, 100) == want(100)
    append(fd, "".join(map(line, range(100, 110))))  # just before the rotation, not read yet
    os.rename(path, tmp_path / "app.jsonl.1")
    append(fd, "".join(map(line, range(110, 115))))  # the writer has not reopened yet
    half = line(115)
    append(fd, half[:20])
    await log.poll()  # sees the new inode... not there yet: waits, reading the old one
    assert log.waiting
    new_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    append(new_fd, line(116))
    await log.poll()  # rotation found while the old file's last line is half written
    append(fd, half[20:])  # ... and finished on the old file
    os.close(fd)
    append(new_fd, "".join(map(line, range(117, 121))))
    got = await poll_until(log, 121)
    assert got == want(121), "every line once, the old file's first"
    assert log.rotations == 1 and log.lines.line_count == 121
    # filters cover both files; keys find rows in either
    log.lines.set_filter("level>=error")
    assert [r.message for r in map(log.lines.record, range(len(log.lines)))] == [f"msg {i:05d}" for i in range(0, 121, 5)]
    first, last = log.lines.key(0), log.lines.key(len(log.lines) - 1)
    assert log.lines.index_for_key(first) == 0 and log.lines.index_for_key(last) == len(log.lines) - 1
    assert log.lines.next_level(None, backward=True) == len(log.lines) - 1
    assert log.lines.next_level(len(log.lines) - 3) == len(log.lines) - 2  # across the files' boundary
    os.close(new_fd)
    log.close()


async def test_copytruncate_reads_what_came_after_the_last_poll_from_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    append(fd, "".join(map(line, range(50))))
    log = IndexedLogFile(path)
    assert await poll_until(log, 50) == want(50)
    append(fd, "".join(map(line, range(50, 60))))  # written just before logrotate runs
    shutil.copyfile(path, tmp_path / "app.jsonl.1")
    os.truncate(path, 0)
    append(fd, "".join(map(line, range(60, 65))))
    assert await poll_until(log, 65) == want(65)
    assert log.rotations == 1 and log.truncations == 0
    # again, the file written past the old end before the next poll (a size check misses it)
    append(fd, "".join(map(line, range(65, 70))))
    shutil.copyfile(path, tmp_path / "app.jsonl-2")
    os.truncate(path, 0)
    append(fd, "".join(map(line, range(70, 200))))
    assert await poll_until(log, 200) == want(200)
    assert log.rotations == 2
    os.close(fd)
    log.close()


async def test_truncation_without_a_copy_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text("".join(map(line, range(30))))
    log = IndexedLogFile(path)
    assert await poll_until(log, 30) == want(30)
    path.write_text("".join(map(line, range(500, 540))))  # rewritten past the old end
    assert await poll_until(log, 40) == want(540, 500)
    assert log.truncations == 1 and log.rotations == 0
    log.close()


WRITER = r"""
import json, os, shutil, sys, time
path, mode, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
def line(i):
    return json.dumps({"level": "error" if i % 5 == 0 else "info", "event_message": f"msg {i:05d}"}) + "\n"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
n = late = 0
for i in range(total):
    os.write(fd, line(i).encode())
    if i % 7 == 0:
        time.sleep(0.002)
    if late:
        late -= 1
        if not late:  # the writer reopens the path at last
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    if i and i % 400 == 0:
        n += 1
        if mode == "rename":
            os.rename(path, f"{path}.{n}")
            late = 3  # lines written to the old file before the writer notices
        else:
            shutil.copyfile(path, f"{path}.{n}")
            os.truncate(path, 0)
os.close(fd)
"""


async def _run_writer(tmp_path: Path, mode: str, total: int) -> tuple[subprocess.Popen[bytes], Path]:
    path = tmp_path / "busy.jsonl"
    path.write_text("")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), mode, str(total)])
    return proc, path


async def test_a_writer_rotating_while_the_pane_follows_loses_nothing(tmp_path: Path) -> None:
    for mode in ("rename", "copytruncate"):
        sub = tmp_path / mode
        sub.mkdir()
        proc, path = await _run_writer(sub, mode, 2000)
        log = IndexedLogFile(path)
        while proc.poll() is None:
            await log.poll()
            await asyncio.sleep(0.01)
        got = await poll_until(log, 2000)
        assert got == want(2000), f"{mode}: {len(got)} lines, {len(set(got))} distinct"
        assert log.rotations == 4
        log.close()


async def test_the_stream_follower_loses_nothing_either(tmp_path: Path) -> None:
    for mode in ("rename", "copytruncate"):
        sub = tmp_path / mode
        sub.mkdir()
        proc, path = await _run_writer(sub, mode, 2000)
        source = FileLogSource(path, poll_interval=0.01)
        got: list[str] = []
        it = source.records(None, True)

        async def drive() -> None:
            while len(got) < 2000:
                got.extend(r.message for r in await it.__anext__())

        await asyncio.wait_for(drive(), 20)
        await it.aclose()
        proc.wait()
        assert got == want(2000), f"{mode}: {len(got)} lines, {len(set(got))} distinct"
        assert source.rotations == 4


async def test_the_stream_follower_finishes_a_half_line_on_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    append(fd, "".join(map(line, range(10))))
    source = FileLogSource(path, poll_interval=0.01)
    it = source.records(None, True)
    got: list[str] = []

    async def until(n: int) -> None:
        while len(got) < n:
            got.extend(r.message for r in await it.__anext__())

    await asyncio.wait_for(until(10), 10)
    half = line(10)
    append(fd, half[:15])
    os.rename(path, tmp_path / "app.log.1")
    new_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    append(new_fd, line(12))
    await asyncio.sleep(0.1)  # the follower sees the new file while the old line is half written
    append(fd, half[15:] + line(11))
    os.close(fd)
    await asyncio.wait_for(until(13), 10)
    await it.aclose()
    os.close(new_fd)
    assert sorted(got) == want(13) and got[:10] == want(10) and len(got) == 13
