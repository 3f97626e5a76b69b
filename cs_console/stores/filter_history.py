"""The Logs pane's filter history, kept across sessions: the filters applied (newest last) and
the last one per log source. One small JSON file in the state dir, written 0600 (filters can
name users and IPs), replaced atomically; a damaged file is started afresh, never an error."""

from __future__ import annotations

import json
from pathlib import Path

from cs_console.stores.private_files import write_private_atomic

MAX_ENTRIES = 200


class FilterHistory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[str] = []
        self.last_by_source: dict[str, str] = {}
        self._load()

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> "FilterHistory":
        return cls(state_dir / "logs" / "filter-history.json")

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            self.entries = [e for e in data.get("history", []) if isinstance(e, str)][-MAX_ENTRIES:]
            last = data.get("last_by_source", {})
            if isinstance(last, dict):
                self.last_by_source = {str(k): v for k, v in last.items() if isinstance(v, str)}

    def add(self, text: str, source: str) -> None:
        """Remember an applied filter (an empty one only clears the source's last filter)."""
        text = text.strip()
        if text:
            if text in self.entries:
                self.entries.remove(text)
            self.entries = [*self.entries, text][-MAX_ENTRIES:]
        self.last_by_source[source] = text
        self._save()

    def last_for(self, source: str) -> str:
        return self.last_by_source.get(source, "")

    def _save(self) -> None:
        try:
            write_private_atomic(self.path, json.dumps({"history": self.entries, "last_by_source": self.last_by_source}))
        except OSError:
            pass  # a convenience: a read-only state dir must not break filtering
