"""Alert history kept in the state dir: one append-only JSON-lines file per profile.

One record per event, however many consoles watch the project: an event is keyed
by (profile, alert id, onset), where the onset is the time the first console
raised it. Every write takes an exclusive lock on the file and looks at the open
events first, so a second console seeing the same condition adopts the open event
instead of writing its own, and only the first console to see it clear writes the
resolve. Each profile has its own file, so a health check counts only its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from cs_console.domain.alerts import Alert, AlertClass
from cs_console.stores.private_files import open_private, private_dir

MAX_BYTES = 5_000_000  # rotate once, keep one old file: history is a convenience, not an archive
# An open event older than this is taken as left behind by a console that died
# before it could resolve it: a new onset then starts a new event.
ORPHAN_AFTER = timedelta(hours=24)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def history_file(state_dir: Path, profile: str) -> Path:
    name = _UNSAFE.sub("_", profile) or "default"
    return state_dir / "alerts" / f"{name}.jsonl"


@dataclass(frozen=True)
class _Open:
    key: str
    at: datetime


class AlertHistory:
    def __init__(self, state_dir: Path, profile: str = "default") -> None:
        self.profile = profile
        self.path = history_file(state_dir, profile)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        private_dir(self.path.parent)
        with open_private(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                    os.replace(self.path, self.path.with_suffix(".jsonl.1"))
                with open_private(self.path, "a") as fh:
                    yield fh
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _open_events(self) -> dict[str, _Open]:
        """Alert id -> the event raised and not yet resolved (by any console)."""
        opened: dict[str, _Open] = {}
        for row in self._rows():
            key, alert_id = row.get("key"), row.get("id")
            if not isinstance(key, str) or not isinstance(alert_id, str):
                continue
            if row.get("event") == "raised":
                try:
                    opened[alert_id] = _Open(key, datetime.fromisoformat(row["at"]))
                except (KeyError, TypeError, ValueError):
                    continue
            elif row.get("event") == "resolved" and alert_id in opened and opened[alert_id].key == key:
                del opened[alert_id]
        return opened

    def record(self, alert: Alert, event: str) -> bool:
        """Write the raise or resolve unless another console already did; True when written."""
        with self._locked() as fh:
            current = self._open_events().get(alert.id)
            now = alert.resolved_at if event == "resolved" and alert.resolved_at else alert.at
            if current is not None and now - current.at > ORPHAN_AFTER:
                current = None
            if event == "raised":
                if current is not None:
                    return False  # the same event, already recorded by another console
                key = f"{self.profile}:{alert.id}:{alert.at.isoformat()}"
            else:
                if current is None:
                    return False  # already resolved by another console (or never recorded)
                key = current.key
            row = {
                "event": event,  # raised | resolved
                "key": key,
                "profile": self.profile,
                "id": alert.id,
                "rule": alert.rule,
                "class": alert.alert_class.value,
                "title": alert.title,
                "detail": alert.detail,
                "metric": alert.metric,
                "value": alert.value,
                "at": now.isoformat(),
            }
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            return True

    def _rows(self) -> list[dict]:
        rows: list[dict] = []
        for path in (self.path.with_suffix(".jsonl.1"), self.path):
            try:
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            row = json.loads(line)
                        except json.JSONDecodeError:
                            continue  # a torn last line after a crash
                        if isinstance(row, dict):
                            rows.append(row)
            except FileNotFoundError:
                continue
        return rows

    def recent(self, hours: float = 24, alert_class: str | None = None, now: datetime | None = None) -> list[Alert]:
        """This profile's alerts raised in the last `hours`, newest first (resolved ones carry resolved_at)."""
        now = now or datetime.now(timezone.utc)
        cutoff = now - timedelta(hours=hours)
        raised: dict[str, Alert] = {}
        for row in self._rows():
            try:
                key, at, cls = str(row["key"]), datetime.fromisoformat(row["at"]), AlertClass(row["class"])
            except (KeyError, TypeError, ValueError):
                continue
            if row.get("event") == "raised" and key not in raised:
                raised[key] = Alert(str(row.get("id", "")), row.get("rule", ""), cls, row.get("title", ""), row.get("detail", ""), at, row.get("metric"), row.get("value"))
            elif row.get("event") == "resolved" and key in raised and raised[key].resolved_at is None:
                a = raised[key]
                raised[key] = Alert(a.id, a.rule, a.alert_class, a.title, a.detail, a.at, a.metric, a.value, at)
        out = [a for a in raised.values() if a.at >= cutoff]
        if alert_class:
            out = [a for a in out if a.alert_class.value == alert_class]
        return sorted(out, key=lambda a: a.at, reverse=True)
