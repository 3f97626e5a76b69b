"""Run outcomes that never say more than happened (issue 13, point 4), through the real CLI and engine on the demo."""

from __future__ import annotations

import pytest

from cs_console.domain.runbooks.run_state import RunStatus, outcome_text
from cs_console.services.runbooks.catalog import load_catalog
from cs_console.wiring.runbooks import open_engine
from tests.runbook_helpers import make_session


def test_outcome_text_says_what_happened() -> None:
    assert outcome_text(RunStatus.SUCCEEDED, 0, 0) == "succeeded"
    assert outcome_text(RunStatus.SUCCEEDED, 2, 0) == "completed with 2 failed checks"
    assert outcome_text(RunStatus.SUCCEEDED, 1, 3) == "completed with 1 failed check; 3 steps rehearsed (not simulated)"
    assert outcome_text(RunStatus.SUCCEEDED, 0, 1) == "completed; 1 step rehearsed (not simulated)"
    assert outcome_text(RunStatus.WAITING, 1, 0) == "waiting"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from cs_console.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_contrary_answer_fails_the_check_and_the_run_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(capsys, "runbook", "run", "morning-health-check", "--demo",
                     "--answer", "critical_24h=critical alerts found: incident opened",
                     "--answer", "script_choice=No, the console's checks are enough")
    assert code == 1, out
    assert "critical_24h (manual, read)" in out and "-> failed: check failed: operator answered" in out
    last = out.strip().splitlines()
    assert any(line.endswith(": completed with 1 failed check") for line in last) and "failed, not waived: critical_24h" in out
    assert ": succeeded" not in out.split("[6/7]")[1]

    code, out = _cli(capsys, "runbook", "run", "morning-health-check", "--demo", "--answer", "critical_24h=none",
                     "--answer", "script_choice=No, the console's checks are enough")
    assert code == 0 and out.strip().endswith(": succeeded"), out


def test_a_demo_rehearsal_counts_what_it_did_not_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(capsys, "runbook", "run", "manual-backup", "--demo", "--answer", "offsite=kept locally on purpose")
    assert code == 0, out
    for step in ("dump_database", "checksum", "verify"):
        line = next(line for line in out.splitlines() if f"] {step} (" in line)
        following = out.split(line, 1)[1].splitlines()[1]
        assert "rehearsed (not simulated)" in following, following
    summary = next(line for line in out.splitlines() if line.startswith("run ") and ": " in line and "of manual-backup" not in line)
    assert "completed;" in summary and "steps rehearsed (not simulated)" in summary and "succeeded" not in summary


def test_an_empty_destructive_preview_is_nothing_to_do_not_a_typed_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # No --confirm at all: a guarded step with an empty preview must not need one.
    code, out = _cli(capsys, "runbook", "run", "db-connection-issues", "--demo", "--input", "idle_minutes=1440",
                     "--input", "long_running_minutes=1440", "--answer", "route_idle=Terminate the idle-in-transaction backends",
                     "--answer", "route_long=Leave them; re-measure")
    step = out.split("terminate_idle (sql, destructive)", 1)[1].splitlines()[1]
    assert "skipped: nothing to do" in step, out
    assert "refused" not in out


async def test_previews_render_templates_and_redact_secrets() -> None:
    session = make_session(None, demo=True)  # type: ignore[arg-type]
    rb = load_catalog().get("manual-backup")
    engine = open_engine(session, rb)
    try:
        await engine.start({})
        for step_id in ("backups_dir", "dump_database", "checksum"):
            plan = await engine.prepare(step_id)
            assert "{{" not in plan.what_will_run, plan.what_will_run
            assert "rehearsed" in plan.what_will_run
        dump = (await engine.prepare("dump_database")).what_will_run
        assert dump.startswith("$ pg_dump ") and "PGPASSWORD=***" in dump and engine.run is not None and engine.run.run_id in dump
    finally:
        await engine.close()
