"""Per-day checklist ticks (the manual's "Daily Tasks Checklist").

A checklist is a runbook whose manual steps are its items; ticking an item is
recorded here, one small JSON file per checklist and UTC day:
``state_dir()/checklists/<runbook_id>/<YYYY-MM-DD>.json``. Tomorrow starts
empty; yesterday stays on disk as a record of what was done. Writes are atomic
(temporary file, fsync, rename) so a dropped SSH link never leaves a torn file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from cs_console.config import state_dir
from cs_console.domain.clock import Clock, SystemClock
from cs_console.stores.operator_identity import operator_name

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class ChecklistError(ValueError):
    """A bad checklist or item id (one line, for the operator)."""


@dataclass(frozen=True, slots=True)
class Tick:
    item_id: str
    at: datetime
    by: str
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "by": self.by, "note": self.note}


def _check_id(kind: str, value: str) -> str:
    if not _SAFE_ID.match(value):
        raise ChecklistError(f"{kind} {value!r}: expected letters, digits, '-', '_' or '.'")
    return value


class ChecklistStore:
    """Ticks per checklist and day. Cheap to create; every call reads the file."""

    def __init__(self, root: Path | None = None, clock: Clock | None = None) -> None:
        self.root = root if root is not None else state_dir() / "checklists"
        self.clock = clock or SystemClock()

    def today(self) -> date:
        return self.clock.now().astimezone(timezone.utc).date()

    def path_for(self, checklist_id: str, day: date) -> Path:
        return self.root / _check_id("checklist", checklist_id) / f"{day.isoformat()}.json"

    def ticks(self, checklist_id: str, day: date | None = None) -> dict[str, Tick]:
        """The items ticked on `day` (default: today, UTC). A damaged file counts as empty."""
        path = self.path_for(checklist_id, day or self.today())
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        out: dict[str, Tick] = {}
        if not isinstance(raw, dict):
            return out
        for item_id, rec in raw.get("ticks", {}).items():
            try:
                out[item_id] = Tick(item_id, datetime.fromisoformat(rec["at"]), str(rec.get("by", "")), str(rec.get("note", "")))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def set_tick(self, checklist_id: str, item_id: str, done: bool = True, *, note: str = "", by: str | None = None) -> dict[str, Tick]:
        """Tick (or untick) `item_id` for today; returns today's ticks."""
        _check_id("item", item_id)
        day = self.today()
        current = self.ticks(checklist_id, day)
        if done:
            current[item_id] = Tick(item_id, self.clock.now(), by or operator_name(), note)
        else:
            current.pop(item_id, None)
        self._write(self.path_for(checklist_id, day), {"checklist": checklist_id, "day": day.isoformat(),
                                                        "ticks": {k: v.to_json() for k, v in current.items()}})
        return current

    def days(self, checklist_id: str) -> list[date]:
        """Days with a record, newest first."""
        folder = self.root / _check_id("checklist", checklist_id)
        found: list[date] = []
        if folder.is_dir():
            for p in folder.glob("*.json"):
                try:
                    found.append(date.fromisoformat(p.stem))
                except ValueError:
                    continue
        return sorted(found, reverse=True)

    @staticmethod
    def _write(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tick-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
