"""Incident references: INC-YYYY-NNNN (the number grows past 9999 if it must)."""

from __future__ import annotations

import re

from cs_console.domain.incidents.errors import BadReference

_REF_RE = re.compile(r"^INC-(\d{4})-(\d{4,})$")


def format_ref(year: int, number: int) -> str:
    return f"INC-{year:04d}-{number:04d}"


def parse_ref(text: str) -> tuple[int, int]:
    """(year, number) of a reference; case and surrounding space are forgiven."""
    m = _REF_RE.match(text.strip().upper())
    if not m:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise BadReference(f"bad incident reference {shown!r} (expected INC-YYYY-NNNN, e.g. INC-2025-0042)")
    return int(m.group(1)), int(m.group(2))


def normalize_ref(text: str) -> str:
    year, number = parse_ref(text)
    return format_ref(year, number)
