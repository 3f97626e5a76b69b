"""A recording read into the post-mortem's flight data (domain.incidents.flight_report)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cs_console.domain.incidents.flight_report import KEY_METRICS, FlightData


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def flight_data(frames: Callable[..., Any], start: float, end: float, *, dropped: int = 0) -> FlightData:
    """`frames(kind, start, end)` yields (t, kind, payload), as RecordingReader.frames does."""
    data = FlightData(_at(start), _at(end), dropped=dropped)
    for t, _k, p in frames("metrics", start, end):
        samples = p.get("samples") or {}
        for key in KEY_METRICS:
            value = samples.get(key)
            if isinstance(value, list) and value and isinstance(value[0], (int, float)):
                data.series.setdefault(key, []).append((_at(t), float(value[0])))
    for t, _k, p in frames("alert", start, end):
        data.alerts.append((_at(t), str(p.get("event", "")), str(p.get("class", "")), str(p.get("title", ""))))
    previous: dict[str, str] = {}
    for t, _k, p in frames("source", start, end):
        name, state = str(p.get("name", "?")), str(p.get("state", "?"))
        # Outages and their ends: a source first seen UP is not news.
        if state != "UP" or previous.get(name, "UP") != "UP":
            data.sources.append((_at(t), name, state, str(p.get("detail", ""))))
        previous[name] = state
    minutes: dict[int, list[int]] = {}
    for t, _k, p in frames("logs", start, end):
        counts = p.get("counts") or {}
        row = minutes.setdefault(int(t // 60), [0, 0, 0])
        row[0] += int(counts.get("error", 0)) + int(counts.get("fatal", 0))
        row[1] += int(counts.get("warn", 0))
        row[2] += sum(int(v) for v in counts.values() if isinstance(v, int))
    first, last = int(start // 60), int(end // 60)
    data.log_minutes = [(_at(m * 60), *minutes.get(m, [0, 0, 0])) for m in range(first, last + 1)] if minutes else []
    for t, _k, p in frames("audit", start, end):
        if p.get("phase") not in ("after", "refused"):
            continue
        outcome = str(p.get("outcome") or p.get("phase"))
        data.steps.append((_at(t), str(p.get("runbook_id", "")), str(p.get("step_id", "")), outcome, str(p.get("detail", ""))[:200]))
    return data


def with_flight_section(markdown: str, section: str, before_heading: str = "## Root cause") -> str:
    """The section placed after the timeline (before `before_heading`), else at the end."""
    marker = f"\n{before_heading}"
    i = markdown.find(marker)
    if i < 0:
        return markdown.rstrip("\n") + "\n\n" + section
    return markdown[: i + 1] + section + "\n" + markdown[i + 1:]


def incident_window(opened: float, closed: float | None, span: tuple[float, float], pre_s: float, post_s: float) -> tuple[float, float]:
    start = max(span[0], opened - pre_s)
    end = min(span[1], (closed if closed is not None else span[1]) + post_s)
    return start, max(end, start)

