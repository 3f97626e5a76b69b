"""Line numbers for keys of a TOML document (tomllib gives none).

One finder for every TOML file the console reads: the config file's errors
and `config show` origins, and runbook loader errors. Maps paths such as ``id``, ``steps[2]``, ``steps[2].risk``,
``steps[2].verify.sql`` or ``inputs[0].default`` (0-based array-of-table
indices) to the line that defines them. Best effort: good enough to point the
operator at the right place, and never raises.
"""

from __future__ import annotations

import re
from functools import lru_cache

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY_RE = re.compile(r'^\s*("?)([A-Za-z0-9_\-.]+)\1\s*=')


def _split(dotted: str) -> list[str]:
    return [p.strip().strip('"') for p in dotted.split(".")]


def key_lines(text: str) -> dict[str, int]:
    """Every table header and key found, by path (first definition wins)."""
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    current: list[str] = []
    in_multiline: str | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        h = _HEADER_RE.match(line)
        if h and not _KEY_RE.match(line):
            parts = _split(h.group(2))
            if h.group(1) == "[[":
                # An array-of-tables element: index it, nested under the latest parent element.
                prefix = _resolve(parts[:-1], counters)
                base = ".".join(prefix + [parts[-1]]) if prefix else parts[-1]
                idx = counters.get(base, -1) + 1
                counters[base] = idx
                # A new parent element resets its children's counters.
                for k in [k for k in counters if k.startswith(f"{base}[{idx - 1}]")]:
                    del counters[k]
                current = prefix + [f"{parts[-1]}[{idx}]"]
                lines.setdefault(base, n)  # the array itself: where its first element starts
            else:
                current = _resolve(parts, counters)
            lines.setdefault(".".join(current), n)
            continue
        k = _KEY_RE.match(line)
        if k:
            path = ".".join(current + _split(k.group(2)))
            lines.setdefault(path, n)
            rest = line[k.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
                    break
    return lines


def _resolve(parts: list[str], counters: dict[str, int]) -> list[str]:
    """Attach array indices: `steps.verify` -> `steps[3].verify` (the latest step)."""
    out: list[str] = []
    for part in parts:
        base = ".".join(out + [part])
        if base in counters:
            out.append(f"{part}[{counters[base]}]")
        else:
            out.append(part)
    return out


def line_of(index: dict[str, int], path: str) -> int | None:
    """The line of `path`, else of its first child (``a.b.c = 1`` defines ``a.b``), else of its nearest defined parent."""
    if path in index:
        return index[path]
    children = [n for p, n in index.items() if p.startswith(path + ".") or p.startswith(path + "[")]
    if children:
        return min(children)
    parts = path.split(".")
    while parts:
        found = index.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None


@lru_cache(maxsize=8)
def _index(text: str) -> dict[str, int]:
    return key_lines(text)


def line_in(text: str, path: str) -> int | None:
    """`line_of` for a document read once and asked many times (the config file)."""
    return line_of(_index(text), path)
