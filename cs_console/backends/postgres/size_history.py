"""Database size samples over days, so growth per day has a real baseline.

One refresh cannot tell growth; a console left open for a minute cannot either.
Samples are kept in a small JSON file in the state dir (one file per database,
named by host/port/db hash), at most one every `persist_every_s`, for 8 days,
so the growth figure survives restarts of the console.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cs_console.domain.durations import one_unit_decimal

KEEP_S = 8 * 86400


@dataclass(frozen=True, slots=True)
class Growth:
    bytes_per_day: float | None
    note: str


class SizeHistory:
    def __init__(self, path: Path | None, *, persist_every_s: float = 900.0, min_span_s: float = 3600.0) -> None:
        self.path = path
        self.persist_every_s = persist_every_s
        self.min_span_s = min_span_s
        self._samples: list[tuple[float, int]] = []  # (unix time, bytes), oldest first
        self._last_persisted = 0.0
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            samples = [(float(t), int(b)) for t, b in data.get("samples", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            return  # a damaged history only costs the baseline
        self._samples = sorted(samples)
        if self._samples:
            self._last_persisted = self._samples[-1][0]

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            persisted = [s for s in self._samples if s[0] <= self._last_persisted]
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(".tmp")
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"samples": persisted}))
            os.replace(tmp, self.path)
        except OSError:
            pass  # growth still works in memory

    def add(self, at: float, size_bytes: int) -> None:
        self._samples.append((at, size_bytes))
        cutoff = at - KEEP_S
        # Keep persisted samples sparse; the newest in-memory one is enough in between.
        kept = [s for s in self._samples[:-1] if s[0] >= cutoff and s[0] <= self._last_persisted]
        self._samples = kept + [self._samples[-1]]
        if at - self._last_persisted >= self.persist_every_s:
            self._last_persisted = at
            self._save()

    def growth(self, now: float) -> Growth:
        """Bytes per day against the sample closest to 24 h ago (at least min_span_s old)."""
        if not self._samples:
            return Growth(None, "n/a: no size sample yet")
        latest_t, latest_b = self._samples[-1]
        candidates = [s for s in self._samples if latest_t - s[0] >= self.min_span_s]
        if not candidates:
            span = latest_t - self._samples[0][0]
            return Growth(None, f"n/a: needs {one_unit_decimal(self.min_span_s)} of size samples (have {one_unit_decimal(span)})")
        ref_t, ref_b = min(candidates, key=lambda s: abs((latest_t - s[0]) - 86400))
        span = latest_t - ref_t
        return Growth((latest_b - ref_b) / span * 86400, f"over the last {one_unit_decimal(span)}")
