"""Triage: the manual's classification asked as questions, and a proposed severity.

One yes/no question per bullet of the manual's "Incident Classification". The
proposal is the most severe class with a "yes"; with no "yes" it is P3 (the
lowest class). Asked from P0 down, the first "yes" settles it, so a wizard may
stop there.

From an alert or a failed health component the answers are pre-filled (the
operator can change them) and the evidence is carried along to be attached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cs_console.domain.health import ComponentHealth, HealthStatus
from cs_console.domain.incidents.model import Source
from cs_console.domain.incidents.severity import Severity


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    severity: Severity
    label: str  # the manual's words
    question: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion("complete_outage", Severity.P0, "Complete service outage", "Is the whole service down for users?"),
    Criterion("data_loss", Severity.P0, "Data loss or corruption", "Has any data been lost or corrupted?"),
    Criterion("security_breach", Severity.P0, "Security breach", "Is there a security breach (or a credible sign of one)?"),
    Criterion("partial_outage", Severity.P1, "Partial service outage", "Is part of the service down (some features or some users)?"),
    Criterion("user_performance", Severity.P1, "Performance degradation affecting users", "Is performance degraded enough that users notice?"),
    Criterion("auth_issues", Severity.P1, "Authentication issues", "Are users failing to sign in or being signed out?"),
    Criterion("noncritical_failure", Severity.P2, "Non-critical feature failures", "Is a non-critical feature failing?"),
    Criterion("minor_performance", Severity.P2, "Minor performance issues", "Is there a minor performance issue (users barely affected)?"),
    Criterion("configuration", Severity.P2, "Configuration problems", "Is it a configuration problem?"),
    Criterion("cosmetic", Severity.P3, "Cosmetic issues", "Is it cosmetic only?"),
    Criterion("enhancement", Severity.P3, "Enhancement requests", "Is it an enhancement request?"),
    Criterion("documentation", Severity.P3, "Documentation updates", "Is it a documentation update?"),
)

CRITERION_BY_ID: dict[str, Criterion] = {c.id: c for c in CRITERIA}


@dataclass(frozen=True, slots=True)
class Proposal:
    severity: Severity
    because: tuple[Criterion, ...]  # the "yes" answers of that class; empty = nothing matched

    def explain(self) -> str:
        if not self.because:
            return f"{self.severity.value}: no criterion answered yes (lowest class)"
        return f"{self.severity.value}: " + "; ".join(c.label for c in self.because)


def propose(answers: Mapping[str, bool]) -> Proposal:
    unknown = set(answers) - set(CRITERION_BY_ID)
    if unknown:
        from cs_console.domain.incidents.errors import ValidationError

        raise ValidationError(f"unknown triage question(s): {', '.join(sorted(unknown))}")
    for severity in Severity:
        yes = tuple(c for c in CRITERIA if c.severity is severity and answers.get(c.id))
        if yes:
            return Proposal(severity, yes)
    return Proposal(Severity.P3, ())


def remaining_questions(answers: Mapping[str, bool]) -> list[Criterion]:
    """The questions still worth asking: none once a 'yes' fixes the class above them."""
    proposal = propose(answers)
    out: list[Criterion] = []
    for c in CRITERIA:
        if proposal.because and c.severity.rank >= proposal.severity.rank:
            break
        if c.id not in answers:
            out.append(c)
    return out


class AlertLike(Protocol):
    """What the alert engine's alerts offer (duck-typed)."""

    id: str
    title: str
    detail: str
    alert_class: str  # critical / warning / info
    metric: str
    at: datetime


@dataclass(frozen=True)
class Prefill:
    """A triage started from evidence instead of a blank form."""

    title: str
    summary: str
    answers: dict[str, bool]
    source: Source
    source_ref: str
    components: tuple[str, ...]
    detected_at: datetime | None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def proposal(self) -> Proposal:
        return propose(self.answers)


# Metric prefix -> the component it belongs to.
_METRIC_COMPONENT = (
    ("db.", "Database"), ("fn.", "Edge Functions"), ("api.", "REST"), ("auth.", "Auth"),
    ("storage.", "Storage"), ("backup.", "Database"), ("host.", "Database"),
)

_LATENCY = ("p95", "_ms", "duration", "response")
_ERRORS = ("error", "5xx", "rollbacks", "deadlocks")


def component_of_metric(metric: str) -> str:
    return next((comp for prefix, comp in _METRIC_COMPONENT if metric.startswith(prefix)), "")


# Words in an alert's title naming a component, for alerts without a metric
# ("Database down" from the health check): first match wins.
_TITLE_COMPONENT = tuple((re.compile(pattern, re.I), comp) for pattern, comp in (
    (r"\b(database|postgres\w*|connection)", "Database"),
    (r"\b(auth\w*|sign-?in|log-?in)", "Auth"),
    (r"\b(edge functions?|functions?)\b", "Edge Functions"),
    (r"\bstorage\b", "Storage"),
    (r"\brealtime\b", "Realtime"),
    (r"\b(rest|api)\b", "REST"),
))


def component_of_alert(metric: str, title: str) -> str:
    """The component an alert is about: from its metric, else from its title."""
    found = component_of_metric(metric)
    if found:
        return found
    return next((comp for pattern, comp in _TITLE_COMPONENT if pattern.search(title)), "")


def _alert_answers(alert_class: str, metric: str, text: str) -> dict[str, bool]:
    """The manual's alert classes mapped onto its incident classes.

    Critical: "Database down, authentication failures" (database/REST down is a
    complete outage, any other component down a partial one; auth failures are
    authentication issues); Warning: "High response times, elevated error
    rates" (minor performance issues, non-critical feature failures); Info:
    traffic patterns, trends (nothing pre-filled: the operator decides, P3).
    """
    cls = alert_class.lower()
    low = f"{metric} {text}".lower()
    is_auth = metric.startswith("auth.") or "authentication" in low or "auth " in f"{low} "
    is_down = " down" in f" {low}" or "unreachable" in low or "outage" in low
    is_core = metric.startswith("db.") or "database" in low or low.startswith(("rest ", "api "))
    is_latency = any(k in metric for k in _LATENCY) or "response time" in low
    is_errors = any(k in metric for k in _ERRORS) or "error rate" in low
    if "breach" in low or "suspicious" in low:
        return {"security_breach": True}
    if is_auth and cls in ("critical", "warning"):
        return {"auth_issues": True}
    if is_down:
        # A component down is an outage whatever the alert class: whole when it is the core path.
        return {"complete_outage": True} if is_core else {"partial_outage": True}
    if cls == "critical":
        return {"user_performance": True} if is_latency else {"partial_outage": True}
    if cls == "warning":
        if is_latency:
            return {"minor_performance": True}
        if is_errors:
            return {"noncritical_failure": True}
        return {"minor_performance": True}
    return {}


def prefill_from_alert(alert: Any, snapshot: Mapping[str, Any] | None = None) -> Prefill:
    """An alert object (id, title, detail, alert_class, metric, at) to a triage."""
    title = str(getattr(alert, "title", "") or "Alert")
    detail = str(getattr(alert, "detail", "") or "")
    alert_class = str(getattr(alert, "alert_class", "") or "info")
    metric = str(getattr(alert, "metric", "") or "")
    at = getattr(alert, "at", None)
    component = component_of_alert(metric, title)
    evidence: dict[str, Any] = {
        "alert": {
            "id": str(getattr(alert, "id", "")), "title": title, "detail": detail,
            "alert_class": alert_class, "metric": metric, "at": at,
        }
    }
    if snapshot:
        evidence["snapshot"] = dict(snapshot)
    return Prefill(
        title=title, summary=detail, answers=_alert_answers(alert_class, metric, f"{title} {detail}"),
        source=Source.ALERT, source_ref=str(getattr(alert, "id", "")),
        components=(component,) if component else (), detected_at=at if isinstance(at, datetime) else None,
        evidence=evidence,
    )


# Components whose loss takes the whole product down (everything goes through them).
_CORE = {"Database", "REST"}


def prefill_from_health(component: ComponentHealth, snapshot: Mapping[str, Any] | None = None) -> Prefill:
    name, status = component.name, component.status
    answers: dict[str, bool] = {}
    if name == "Auth" and status in (HealthStatus.DOWN, HealthStatus.DEGRADED):
        answers["auth_issues"] = True
    elif status is HealthStatus.DOWN:
        answers["complete_outage" if name in _CORE else "partial_outage"] = True
    elif status is HealthStatus.DEGRADED:
        answers["user_performance" if name in _CORE else "noncritical_failure"] = True
    detail = component.detail or status.value
    evidence: dict[str, Any] = {
        "health": {
            "component": name, "status": status.value, "detail": component.detail,
            "latency_ms": component.latency_ms, "checked_at": component.checked_at,
        }
    }
    if snapshot:
        evidence["snapshot"] = dict(snapshot)
    return Prefill(
        title=f"{name} {status.value.lower()}", summary=f"Health check: {name} is {status.value}: {detail}",
        answers=answers, source=Source.HEALTH_CHECK, source_ref=name, components=(name,),
        detected_at=component.checked_at, evidence=evidence,
    )
