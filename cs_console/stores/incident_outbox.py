"""What an operator submitted while the team store was unreachable, kept on disk until it syncs.

One JSON-lines file per profile in the state dir; every line is fsynced before the
console says "kept". Lines are `{"op": "add", ...entry}` and `{"op": "done"|"rejected",
"id": ...}`; pending = added and neither done nor rejected, in the order typed. Once
nothing is pending the file is emptied. A torn last line (a crash mid-write) is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cs_console.stores.private_files import open_private, private_dir

_UNSAFE = str.maketrans({c: "_" for c in "/\\\0"})


class IncidentOutbox:
    def __init__(self, state_dir: Path, profile: str) -> None:
        self.path = state_dir / "outbox" / f"{profile.translate(_UNSAFE) or 'default'}.jsonl"

    def _append(self, row: dict[str, Any]) -> None:
        private_dir(self.path.parent)
        with open_private(self.path, "a") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _rows(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        rows: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                rows.append(row)
        return rows

    def add(self, entry: dict[str, Any]) -> None:
        """entry: id, ref, action, args, at (ISO), actor."""
        self._append({"op": "add", **entry})

    def pending(self) -> list[dict[str, Any]]:
        rows = self._rows()
        closed = {r["id"] for r in rows if r.get("op") in ("done", "rejected")}
        return [{k: v for k, v in r.items() if k != "op"} for r in rows if r.get("op") == "add" and r["id"] not in closed]

    def rejected(self) -> list[dict[str, Any]]:
        """Entries the store refused when they were synced (kept, with the reason)."""
        rows = self._rows()
        added = {r["id"]: r for r in rows if r.get("op") == "add"}
        return [{**added[r["id"]], "reason": r.get("reason", "")} for r in rows if r.get("op") == "rejected" and r["id"] in added]

    def mark_done(self, entry_id: str) -> None:
        self._append({"op": "done", "id": entry_id})
        if not self.pending() and not self.rejected():
            with open_private(self.path) as fh:  # all synced: start empty
                os.fsync(fh.fileno())

    def mark_rejected(self, entry_id: str, reason: str) -> None:
        self._append({"op": "rejected", "id": entry_id, "reason": reason[:300]})
