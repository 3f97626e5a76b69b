"""The guard's confirmation rules (Heroku-style cases), read-only refusal and maintenance windows.

Guard-the-guards: `test_confirmation_case_count` fails if these cases are
removed (the anchor tools' own confirmation suites have rotted before).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cs_console.domain.maintenance import DEFAULT_WINDOWS
from cs_console.domain.runbooks.guard import (
    Confirmation, Gate, check_confirmation, check_read_only, phrase_matches, window_gate, window_status,
)
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.schema import Risk

GATE = Gate("run-1", "terminate", "production/db postgres", "3", Risk.DESTRUCTIVE)
EMAIL_GATE = Gate("run-1", "ban", "production/PUT api/auth", "alice@example.com", Risk.DESTRUCTIVE)

CASES = [
    ("match", GATE, GATE.confirm("3"), True),
    ("mismatch", GATE, GATE.confirm("4"), False),
    ("empty", GATE, GATE.confirm(""), False),
    ("only whitespace", GATE, GATE.confirm("   \t"), False),
    ("surrounding whitespace is trimmed", GATE, GATE.confirm("  3\n"), True),
    ("case matters", EMAIL_GATE, EMAIL_GATE.confirm("Alice@example.com"), False),
    ("exact e-mail", EMAIL_GATE, EMAIL_GATE.confirm("alice@example.com"), True),
    ("inner whitespace matters", EMAIL_GATE, EMAIL_GATE.confirm("alice @example.com"), False),
    ("prefix is not enough", EMAIL_GATE, EMAIL_GATE.confirm("alice@example"), False),
    ("none", GATE, None, False),
    ("phrase for another step", GATE, Confirmation("run-1", "cancel", GATE.target, "3"), False),
    ("phrase for another run", GATE, Confirmation("run-2", "terminate", GATE.target, "3"), False),
    ("phrase for another target", GATE, Confirmation("run-1", "terminate", "staging/db postgres", "3"), False),
    ("not a Confirmation object", GATE, "3", False),
    ("empty expected phrase refuses", Gate("run-1", "s", "t", "  ", Risk.IRREVERSIBLE), Confirmation("run-1", "s", "t", "  "), False),
]


@pytest.mark.parametrize("name, gate, confirmation, allowed", CASES, ids=[c[0] for c in CASES])
def test_confirmation(name: str, gate: Gate, confirmation: object, allowed: bool) -> None:
    decision = check_confirmation(gate, confirmation)  # type: ignore[arg-type]
    assert bool(decision) is allowed, decision.reason
    if not allowed:
        assert decision.reason and "\n" not in decision.reason


def test_refusal_reason_never_echoes_what_was_typed() -> None:
    decision = check_confirmation(GATE, GATE.confirm("my-typed-text"))
    assert "my-typed-text" not in decision.reason


def test_confirmation_case_count() -> None:
    assert len(CASES) >= 15


def test_phrase_matches_helper() -> None:
    assert phrase_matches("production", " production ")
    assert not phrase_matches("production", "PRODUCTION")
    assert not phrase_matches("", "")


@pytest.mark.parametrize("risk, read_only, allowed", [
    (Risk.READ, True, True), (Risk.WRITE, True, False), (Risk.DESTRUCTIVE, True, False),
    (Risk.IRREVERSIBLE, True, False), (Risk.IRREVERSIBLE, False, True),
])
def test_read_only(risk: Risk, read_only: bool, allowed: bool) -> None:
    assert bool(check_read_only(risk, read_only)) is allowed


MAINT = """
schema = "cs-console.runbook/v1"
id = "weekly-maint"
title = "Weekly"
group = "Maintenance"
tags = ["maintenance"]
maintenance_windows = ["weekly"]
[[steps]]
id = "a"
kind = "sql"
title = "analyze"
risk = "write"
sql = "analyze"
"""


def test_maintenance_window_inside_and_outside() -> None:
    rb = parse_runbook(MAINT, "m.toml")
    sunday_3am = datetime(2026, 6, 7, 3, 0, tzinfo=timezone.utc)  # a Sunday
    monday = datetime(2026, 6, 8, 3, 0, tzinfo=timezone.utc)
    inside = window_status(rb, DEFAULT_WINDOWS, sunday_3am)
    assert inside.applies and inside.inside
    outside = window_status(rb, DEFAULT_WINDOWS, monday)
    assert outside.applies and not outside.inside and "outside" in outside.message
    assert outside.next_start == datetime(2026, 6, 14, 2, 0, tzinfo=timezone.utc)
    gate = window_gate("r", rb, "production", outside)
    assert gate.phrase == "weekly-maint"
    assert check_confirmation(gate, gate.confirm("weekly-maint"))
    assert not check_confirmation(gate, gate.confirm("yes"))


def test_non_maintenance_runbooks_have_no_window() -> None:
    rb = parse_runbook(MAINT.replace('tags = ["maintenance"]\nmaintenance_windows = ["weekly"]\n', ""), "m.toml")
    assert not window_status(rb, DEFAULT_WINDOWS, datetime(2026, 6, 8, tzinfo=timezone.utc)).applies
