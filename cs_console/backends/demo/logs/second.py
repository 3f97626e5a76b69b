"""What every log generator shares: one (source, second)'s RNG, timestamps and ids; the count draw; the sorted collector."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

from cs_console.backends.demo.model.noise import hash3
from cs_console.domain.log_record import LogRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Organisation ids, in request paths and function messages.
ORGS = ("org_4f2a", "org_7f3a", "org_91bc", "org_0d17", "org_c3e8", "org_5a60")


class Second:
    """One (source, second): its RNG, the second's datetime, and a per-second id prefix (ids stay UUID-shaped)."""

    __slots__ = ("rng", "s", "base", "fields", "us0", "prefix")

    def __init__(self, seed: int, source: str, s: int) -> None:
        self.rng = random.Random(hash3(seed, source, s))
        self.s = s
        self.base = _EPOCH + timedelta(seconds=s)
        b = self.base
        self.fields = (b.year, b.month, b.day, b.hour, b.minute, b.second)
        self.us0 = s * 1_000_000
        h = f"{self.rng.getrandbits(64):016x}"
        self.prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-"

    def id(self) -> str:
        h = "%016x" % ((self.rng.getrandbits(64) & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000)  # RFC 4122 variant
        return f"{self.prefix}{h[:4]}-{h[4:]}"

    def ts(self, frac: float) -> tuple[datetime, int]:
        micro = int(frac * 1_000_000)
        if micro > 999_999:
            micro = 999_999
        y, mo, d, h, mi, se = self.fields
        return datetime(y, mo, d, h, mi, se, micro, timezone.utc), self.us0 + micro  # positional: the fastest way


def draw_count(rng: random.Random, per_s: float) -> int:
    """A Poisson-like draw: exact for small rates, normal approximation for large ones."""
    if per_s <= 0:
        return 0
    if per_s < 12:
        limit = math.exp(-per_s)
        k, p = 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(per_s + (rng.random() + rng.random() + rng.random() - 1.5) * 2.0 * math.sqrt(per_s)))


class SortedRecords:
    """Collects (sort key, record) for one second; sorted once at the end."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, LogRecord]] = []

    def add(self, us: int, record: LogRecord) -> None:
        self.items.append((us, record))

    def sorted(self) -> list[LogRecord]:
        self.items.sort(key=lambda item: item[0])
        return [r for _, r in self.items]
