"""Severities exactly as the manual's "Incident Classification", with their timers.

Response targets are the manual's (Immediate, < 1 h, < 4 h, < 24 h). The manual
says "Immediate" for P0; we make it measurable as 15 minutes to acknowledge,
the length of the manual's own "Immediate Response (0-15 minutes)" phase.
Update cadences are not in the manual; they follow common practice (Dispatch's
per-priority reminders): P0 every 15 min, P1 every 30 min, P2 every 2 h, P3
only on change (no reminder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from cs_console.domain.incidents.errors import ValidationError


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def rank(self) -> int:
        """0 is the most severe; sorts P0 first."""
        return int(self.value[1])

    @property
    def policy(self) -> "SeverityPolicy":
        return POLICIES[self]


@dataclass(frozen=True, slots=True)
class SeverityPolicy:
    severity: Severity
    name: str  # Critical, High, Medium, Low
    response_label: str  # the manual's words
    respond_within: timedelta
    update_every: timedelta | None  # None: update on change only, no reminder
    postmortem_required: bool
    criteria: tuple[str, ...]  # the manual's bullet points

    @property
    def label(self) -> str:
        return f"{self.severity.value} {self.name}"


POLICIES: dict[Severity, SeverityPolicy] = {
    Severity.P0: SeverityPolicy(
        Severity.P0, "Critical", "Immediate", timedelta(minutes=15), timedelta(minutes=15), True,
        ("Complete service outage", "Data loss or corruption", "Security breach"),
    ),
    Severity.P1: SeverityPolicy(
        Severity.P1, "High", "< 1 hour", timedelta(hours=1), timedelta(minutes=30), True,
        ("Partial service outage", "Performance degradation affecting users", "Authentication issues"),
    ),
    Severity.P2: SeverityPolicy(
        Severity.P2, "Medium", "< 4 hours", timedelta(hours=4), timedelta(hours=2), False,
        ("Non-critical feature failures", "Minor performance issues", "Configuration problems"),
    ),
    Severity.P3: SeverityPolicy(
        Severity.P3, "Low", "< 24 hours", timedelta(hours=24), None, False,
        ("Cosmetic issues", "Enhancement requests", "Documentation updates"),
    ),
}


def parse_severity(text: str) -> Severity:
    """P0..P3; also accepts p1, 1, sev1."""
    t = text.strip().upper().removeprefix("SEV")
    if t.isdigit():
        t = "P" + t
    try:
        return Severity(t)
    except ValueError:
        raise ValidationError(f"unknown severity {text!r} (expected one of P0, P1, P2, P3)") from None
