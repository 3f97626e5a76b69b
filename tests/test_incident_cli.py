"""`cs-console incident`: round trips, one-line errors with exit 2, interactive triage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cs_console.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["incident", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _open(capsys, *extra: str) -> str:
    code, out, err = run(capsys, "open", "--severity", "P1", "--title", "API 5xx spike", *extra)
    assert code == 0, err
    return out.split()[0]


def test_open_note_status_export_round_trip(capsys, tmp_path: Path) -> None:
    ref = _open(capsys, "--summary", "5xx on /rest/v1", "--component", "REST")
    assert ref.startswith("INC-") and len(ref) == 13
    assert run(capsys, "note", ref, "checking function logs")[0] == 0
    code, out, _ = run(capsys, "ack", ref)
    assert code == 0 and f"{ref}: acknowledged by " in out and "; commander " in out
    code, out, _ = run(capsys, "ack", ref)
    assert code == 0 and "already acknowledged" in out
    for status in ("investigating", "mitigated", "resolved"):
        code, out, err = run(capsys, "status", ref, status)
        assert (code, out.strip()) == (0, f"{ref}: {status}"), err
    code, out, err = run(capsys, "status", ref, "closed")
    assert code == 2 and err.count("\n") == 1 and "needs its post-mortem" in err
    code, out, err = run(capsys, "postmortem", ref, "--impact", "5xx for 12 min", "--root-cause", "bad deploy",
                         "--action", "add canary@bob@2025-04-01")
    assert code == 0 and "(complete)" in out, err
    assert run(capsys, "status", ref, "closed")[0] == 0
    target = tmp_path / "pm.md"
    code, out, err = run(capsys, "export", ref, "--output", str(target))
    assert code == 0 and target.read_text().startswith(f"# Post-mortem: {ref} — API 5xx spike")
    assert "| Note: checking function logs |" in target.read_text()  # every note is on the timeline, unpinned ones unmarked
    code, out, _ = run(capsys, "export", ref, "--format", "json")
    data = json.loads(out)
    assert data["status"] == "closed" and data["postmortem"]["action_items"] == [{"text": "add canary", "owner": "bob", "due": "2025-04-01"}]
    assert [e["type"] for e in data["events"]][:3] == ["created", "note", "acknowledged"]


def test_list_and_show_json(capsys) -> None:
    p2 = _open(capsys)
    code, out, err = run(capsys, "open", "--severity", "P0", "--title", "DB down", "--json")
    p0 = json.loads(out)["ref"]
    code, out, _ = run(capsys, "list", "--json")
    rows = json.loads(out)
    assert [r["ref"] for r in rows] == [p0, p2]  # most severe first
    assert rows[0]["response"]["state"] == "ok" and rows[0]["response"]["deadline"].endswith("Z")
    code, out, _ = run(capsys, "list")
    assert out.splitlines()[0].split() == ["REF", "SEV", "STATUS", "SLA", "AGE", "COMMANDER", "TITLE"]
    assert out.splitlines()[1].startswith(f"{p0}  P0  triage")
    code, out, _ = run(capsys, "show", p2, "--json")
    assert json.loads(out)["title"] == "API 5xx spike"
    code, out, _ = run(capsys, "show", p2)
    assert "Immediate response (0–15 min)" in out and "Timeline (UTC):" in out
    run(capsys, "status", p2, "declined", "--reason", "test alert")
    assert [r["ref"] for r in json.loads(run(capsys, "list", "--json")[1])] == [p0]
    assert len(json.loads(run(capsys, "list", "--all", "--json")[1])) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "INC-2025-77"], "bad incident reference 'INC-2025-77' (expected INC-YYYY-NNNN"),
        (["note", "INC-2025-9999", "x"], "no incident INC-2025-9999"),
        (["status", "{ref}", "resolved"], "cannot go from triage to resolved"),
        (["status", "{ref}", "declined"], "declining needs a reason"),
        (["status", "{ref}", "fixed"], "unknown status 'fixed'"),
        (["status", "{ref}", "merged", "--into", "INC-2025-9999"], "no incident INC-2025-9999"),
        (["severity", "{ref}", "P7", "--reason", "x"], "unknown severity 'P7'"),
        (["severity", "{ref}", "P0", "--reason", " "], "reason for the severity change is required"),
        (["severity", "{ref}", "P0"], "reason for the severity change is required"),
        (["note", "{ref}", "  "], "note is required"),
        (["role", "{ref}", "boss", "x"], "unknown role 'boss'"),
        (["check", "{ref}", "coffee"], "unknown checklist item 'coffee'"),
        (["update", "{ref}", "--post"], "no stakeholder webhook"),
        (["export", "{ref}", "--format", "pdf"], "unknown export format 'pdf' (expected md or json)"),
    ],
)
def test_refusals_are_one_line_with_exit_2(capsys, argv, message) -> None:
    ref = _open(capsys)
    code, out, err = run(capsys, *[a.format(ref=ref) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_backdated_open_is_overdue_at_once(capsys) -> None:
    code, out, err = run(capsys, "open", "--severity", "P1", "--title", "declared in the war room", "--declared-at=-2h", "--json")
    assert code == 0, err
    row = json.loads(out)
    assert row["response"]["state"] == "breached" and row["breached_now"] and 7190 <= row["age_s"] <= 7300
    code, out, err = run(capsys, "open", "--severity", "P1", "--title", "x", "--declared-at", "90m ago")
    assert code == 0, err
    code, out, err = run(capsys, "open", "--severity", "P2", "--title", "y", "--declared-at", "3h55m ago", "--json")
    assert code == 0, err
    assert 14090 <= json.loads(out)["age_s"] <= 14200
    for bad, message in (("tomorrow", "expected ISO 8601"), ("2999-01-01T00:00:00Z", "is in the future")):
        code, _, err = run(capsys, "open", "--severity", "P1", "--title", "x", "--declared-at", bad)
        assert code == 2 and message in err and err.count("\n") == 1


def test_open_without_severity_off_a_terminal_is_refused(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    code, _, err = run(capsys, "open", "--title", "x")
    assert code == 2 and "--severity is required when stdin is not a terminal" in err


def test_interactive_triage_proposes_and_records_an_override(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    replies = iter(["", "n", "", "y", "P2", "", "only one tenant affected"])  # title given by flag
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr("builtins.input", fake_input)
    code, out, err = run(capsys, "open", "--title", "Sign-ups slow")
    assert code == 0, err
    # Asked from P0 down, stopped at the first yes (partial outage, P1).
    assert [a.split("]")[0] for a in asked[:4]] == ["  [P0", "  [P0", "  [P0", "  [P1"]
    assert "Proposed severity: P1: Partial service outage" in out
    ref = out.strip().splitlines()[-1].split()[0]
    data = json.loads(run(capsys, "show", ref, "--json")[1])
    assert (data["severity"], data["proposed_severity"], data["override_reason"]) == ("P2", "P1", "only one tenant affected")
    assert data["triage_answers"] == {"complete_outage": False, "data_loss": False, "security_breach": False, "partial_outage": True}


def test_interactive_typos_are_asked_again_not_taken_as_no(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    # "yse" is asked again (not a silent no); "P9" is asked again (not the end of the triage).
    replies = iter(["yse", "y", "P9", ""])
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr("builtins.input", fake_input)
    code, out, err = run(capsys, "open", "--title", "Everything down")
    assert code == 0, err
    assert asked[0] == asked[1] and "[P0] Is the whole service down" in asked[0]
    assert "answer y or n" in out and "unknown severity 'P9'" in out
    ref = out.strip().splitlines()[-1].split()[0]
    data = json.loads(run(capsys, "show", ref, "--json")[1])
    assert (data["severity"], data["triage_answers"]) == ("P0", {"complete_outage": True})


def test_update_prints_template_and_record_resets_timer(capsys) -> None:
    ref = _open(capsys)
    code, out, _ = run(capsys, "update", ref)
    assert out.startswith(f"🟠 [P1 High] {ref}: API 5xx spike")
    assert run(capsys, "update", ref, "--record")[0] == 0
    data = json.loads(run(capsys, "show", ref, "--json")[1])
    last = data["events"][-1]
    assert last["type"] == "stakeholder_update" and last["data"]["channel"] == "manual"


def test_real_process_round_trip(tmp_path: Path) -> None:
    """As the check does it: a fresh XDG_STATE_HOME, separate processes."""
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"), PYTHONPATH=str(ROOT))

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cs_console", "incident", *argv], env=env, capture_output=True, text=True, timeout=60)

    opened = cli("open", "--severity", "P1", "--title", "Auth errors")
    assert opened.returncode == 0, opened.stderr
    ref = opened.stdout.split()[0]
    assert cli("note", ref, "token refresh failing").returncode == 0
    bad = cli("status", ref, "closed")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    assert cli("status", ref, "investigating").returncode == 0
    exported = cli("export", ref)
    assert exported.returncode == 0 and "| Status | investigating |" in exported.stdout
    assert list((tmp_path / "state").rglob(f"{ref}.jsonl"))
    # A torn last line (a writer killed mid-write) is reported once per command, prefixed.
    [log] = (tmp_path / "state").rglob(f"{ref}.jsonl")
    with open(log, "ab") as fh:
        fh.write(b'{"v":1,"seq":9')
    listed = cli("list")
    assert listed.returncode == 0 and ref in listed.stdout
    assert listed.stderr.count("torn last line skipped") == 1 and listed.stderr.startswith("warning: ")
    noted = cli("note", ref, "after the crash")
    assert noted.returncode == 0 and "torn tail set aside" in noted.stderr
    assert all(line.startswith("warning: ") for line in noted.stderr.splitlines())
