"""`cs-console logs`: demo, files, filters, exit codes, and safe output on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cs_console import cli
from cs_console.domain.log_filter import FILTER_HELP, parse_filter

REPO = Path(__file__).resolve().parent.parent

HOSTILE = [
    '{"timestamp": "2026-11-27T03:00:00Z", "level": "error", "event_message": "boom \\u001b[31mred\\u001b[0m [bold red]x[/] [link=http://e]y[/link]", "function_name": "[blink]fn[/]", "status": 500}',
    "plain ERROR with OSC \x1b]0;pwned\x07 title and \x1b[2J clear",
    "C1 \x9b31m and bidi \u202eevil\u202c and bell \x07",
]


def hostile_file(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.log"
    data = "\n".join(HOSTILE).encode() + b"\n\xff\xfe invalid utf8 [red]markup[/red]\n" + b"Z" * (1 << 20) + b"\n"
    path.write_bytes(data)
    return path


def run(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "cs_console", "logs", *args], input=stdin, capture_output=True, cwd=REPO, timeout=timeout)


# ----------------------------------------------------------------- demo


@pytest.mark.parametrize("scenario", ["function-failures", "calm"])
def test_demo_errors_of_one_function(scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["logs", "--demo", "--scenario", scenario, "--since", "1h", "--filter", "level=error function=monitor-keywords", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    records = [json.loads(line) for line in out.out.splitlines()]
    if scenario == "function-failures":
        assert records, "the scenario makes monitor-keywords fail"
    for r in records:
        assert r["level"] == "error" and r["function"] == "monitor-keywords"
        assert set(r) == {"ts", "level", "source", "function", "status", "request_id", "message"}
        assert r["ts"].endswith("Z")
    assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)


def test_demo_limit_and_type_alias(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["logs", "--demo", "--type", "all", "--since", "30m", "--limit", "5", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len(out.out.splitlines()) == 5


# ----------------------------------------------------------------- errors


def test_bad_filter_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["logs", "--demo", "--filter", 'level=error "unclosed'])
    err = capsys.readouterr().err
    assert code == 2 and err == 'filter error: at column 13: unclosed quote: add a closing "\n'


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--demo", "--source", "nope"], "unknown log source 'nope'"),
        (["--source", "file:/definitely/missing.log"], "no such file"),
        (["--demo", "--since", "yesterday"], "--since: expected a duration"),
        (["--demo", "--limit", "-1"], "--limit"),
    ],
)
def test_bad_source_or_option_exit_2(args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["logs", *args])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and err.count("\n") == 1, err


def test_help_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["logs", "--help-filter"]) == 0
    assert capsys.readouterr().out == FILTER_HELP


# ----------------------------------------------------------------- files


def test_file_source_json_and_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = hostile_file(tmp_path)
    assert cli.main(["logs", "--source", f"file:{path}", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]  # every line is valid JSON
    assert len(records) == 5
    assert records[0]["message"].startswith("boom \x1b[31mred") and records[0]["function"] == "[blink]fn[/]"
    for line in lines:  # no raw control or bidi character reaches the output, even in JSON
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e]", line)
    assert "\\u009b31m" in lines[2] and "\\u202eevil" in lines[2]
    assert records[3]["message"] == "\\xff\\xfe invalid utf8 [red]markup[/red]"
    assert "cut" in records[4]["message"] and len(lines[4]) < 70_000

    assert cli.main(["logs", "--source", f"file:{path}", "--filter", "level=error status>=500"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "[bold red]x[/]" in out


def test_plain_output_to_a_pipe_is_safe(tmp_path: Path) -> None:
    proc = run("--source", f"file:{hostile_file(tmp_path)}")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert "␛[31mred␛[0m [bold red]x[/] [link=http://e]y[/link]" in text
    assert "␛]0;pwned␇ title" in text and "\\x9b31m" in text and "\\u202eevil" in text


def test_limit_and_since_on_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "n.log"
    path.write_text("".join(json.dumps({"timestamp": f"2026-11-27T03:{i:02d}:00Z", "event_message": f"m{i}"}) + "\n" for i in range(50)))
    assert cli.main(["logs", "--source", f"file:{path}", "--limit", "3", "--json"]) == 0
    assert [json.loads(x)["message"] for x in capsys.readouterr().out.splitlines()] == ["m47", "m48", "m49"]
    assert cli.main(["logs", "--source", f"file:{path}", "--since", "2026-11-27T03:45Z", "--filter=-m46", "--json"]) == 0
    assert [json.loads(x)["message"] for x in capsys.readouterr().out.splitlines()] == ["m45", "m47", "m48", "m49"]


def test_follow_a_file(tmp_path: Path) -> None:
    path = tmp_path / "follow.log"
    path.write_text('{"level": "info", "event_message": "old"}\n{"level": "error", "event_message": "backlog"}\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_console", "logs", "--source", f"file:{path}", "--follow", "--filter", "level>=warn", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        # The backlog's last match printed: the file is read to its end and being followed.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no backlog printed"
        assert json.loads(proc.stdout.readline())["message"] == "backlog"
        with open(path, "a") as fh:
            fh.write('{"level": "info", "event_message": "quiet"}\n{"level": "warning", "event_message": "loud"}\n')
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no output while following"
        line = proc.stdout.readline()
        assert json.loads(line)["message"] == "loud"
    finally:
        proc.terminate()
        proc.wait(10)


# ----------------------------------------------------------------- on a terminal

_SGR = re.compile(rb"\x1b\[[0-9;]*m")


def run_on_a_pty(args: list[str], timeout: float = 60) -> bytes:
    """Run `cs-console logs ARGS` with stdout on a pseudo-terminal; return all it wrote."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "cs_console", "logs", *args], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, cwd=REPO, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(master)
    assert proc.returncode == 0, out[-2000:]
    return out


def test_coloured_terminal_output_shows_hostile_text_literally(tmp_path: Path) -> None:
    out = run_on_a_pty(["--source", f"file:{hostile_file(tmp_path)}"])
    assert _SGR.search(out), "colour on a terminal"
    rest = _SGR.sub(b"", out)
    assert b"\x1b" not in rest, "the only escape sequences are our own colours"
    assert b"\x07" not in rest and "\x9b".encode() not in rest and "\u202e".encode() not in rest
    text = rest.decode("utf-8")
    assert "[bold red]x[/] [link=http://e]y[/link]" in text, "markup from the data is printed, not applied"
    assert "[blink]fn[/]" in text and "[red]markup[/red]" in text
    assert "␛]0;pwned␇" in text and "\\xff\\xfe invalid utf8" in text
    assert "…[cut" in text, "the 1 MB line is cut with a marker"
    assert len(out) < 200_000


def test_filter_is_the_same_language_everywhere() -> None:
    # what the CLI takes is exactly what the pane takes: one parser
    assert str(parse_filter("level>=warn  function_name=x")) == "level>=warn function=x"


def test_output_into_head_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "many.log"
    # ~1 MB of output, 16 times the 64 KiB pipe buffer: the writer is still writing when head exits.
    path.write_text("".join(f"INFO line {i}\n" for i in range(20_000)))
    proc = subprocess.run(
        f"{sys.executable} -m cs_console logs --source file:{path} | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.decode().count("\n") == 1
    assert proc.stderr == b""
