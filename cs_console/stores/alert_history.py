"""Alert history kept in the state dir: append-only JSON lines, one event per raise/resolve."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cs_console.domain.alerts import Alert, AlertClass

MAX_BYTES = 5_000_000  # rotate once, keep one old file: history is a convenience, not an archive


class AlertHistory:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "alerts.jsonl"

    def record(self, alert: Alert, event: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
            os.replace(self.path, self.path.with_suffix(".jsonl.1"))
        row = {
            "event": event,  # raised | resolved
            "id": alert.id,
            "rule": alert.rule,
            "class": alert.alert_class.value,
            "title": alert.title,
            "detail": alert.detail,
            "metric": alert.metric,
            "value": alert.value,
            "at": (alert.resolved_at if event == "resolved" and alert.resolved_at else alert.at).isoformat(),
        }
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _rows(self) -> list[dict]:
        rows: list[dict] = []
        for path in (self.path.with_suffix(".jsonl.1"), self.path):
            try:
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError:
                            continue  # a torn last line after a crash
            except FileNotFoundError:
                continue
        return rows

    def recent(self, hours: float = 24, alert_class: str | None = None, now: datetime | None = None) -> list[Alert]:
        """Alerts raised in the last `hours`, newest first (resolved ones carry resolved_at)."""
        now = now or datetime.now(timezone.utc)
        cutoff = now - timedelta(hours=hours)
        raised: dict[tuple[str, str], Alert] = {}
        order: list[tuple[str, str]] = []
        for row in self._rows():
            try:
                at = datetime.fromisoformat(row["at"])
                cls = AlertClass(row["class"])
            except (KeyError, ValueError):
                continue
            if row.get("event") == "raised":
                key = (row["id"], row["at"])
                raised[key] = Alert(row["id"], row.get("rule", ""), cls, row.get("title", ""), row.get("detail", ""), at, row.get("metric"), row.get("value"))
                order.append(key)
            elif row.get("event") == "resolved":
                for key in reversed(order):
                    if key[0] == row["id"] and raised[key].resolved_at is None:
                        a = raised[key]
                        raised[key] = Alert(a.id, a.rule, a.alert_class, a.title, a.detail, a.at, a.metric, a.value, at)
                        break
        out = [raised[k] for k in order if raised[k].at >= cutoff]
        if alert_class:
            out = [a for a in out if a.alert_class.value == alert_class]
        return sorted(out, key=lambda a: a.at, reverse=True)
