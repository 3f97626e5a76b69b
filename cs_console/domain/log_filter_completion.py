"""Tab in the filter bar: complete the word under the cursor (a field name, or a field's value). Pure.

`level=e` → `level=error `, `fun` → `function=`, `function=mon` → `function=monitor-keywords `
when the console knows that function. Several candidates complete to their common
prefix and are returned, so the bar can list them.
"""

from __future__ import annotations

import os.path
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cs_console.domain.log_filter_model import FIELDS

LEVEL_WORDS = ("debug", "info", "warn", "error", "fatal")
STATUS_WORDS = ("2xx", "3xx", "4xx", "5xx", "500", "502", "503", "504", "429", "401", "403", "404")
SINCE_WORDS = ("5m", "15m", "30m", "1h", "6h", "24h", "7d")


@dataclass(frozen=True, slots=True)
class Completion:
    text: str  # the whole filter after completing
    cursor: int
    options: tuple[str, ...]  # what the word could become ((): nothing to complete)


def value_words(known: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """The values Tab offers per field: fixed words, plus what the console knows (functions, sources)."""
    words: dict[str, tuple[str, ...]] = {"level": LEVEL_WORDS, "status": STATUS_WORDS, "since": SINCE_WORDS, "until": SINCE_WORDS}
    for name, values in known.items():
        words[name] = tuple(sorted({str(v) for v in values if v}))
    return words


def complete(text: str, cursor: int, values: Mapping[str, tuple[str, ...]]) -> Completion:
    cursor = max(0, min(cursor, len(text)))
    start = text.rfind(" ", 0, cursor) + 1
    word = text[start:cursor]
    negate = "-" if word.startswith("-") else ""
    body = word[len(negate):]
    if "=" in body or any(op in body for op in ("<", ">")):
        for op in (">=", "<=", "!=", "=", ">", "<"):
            if op in body:
                field, _, partial = body.partition(op)
                prefix = f"{negate}{field}{op}"
                break
        choices = [v for v in values.get(field.lower(), ()) if v.lower().startswith(partial.lower())]
        end = " "
    else:
        prefix, partial = negate, body
        choices = [f"{f}=" for f in FIELDS if f.startswith(partial.lower())] if partial else []
        end = ""
    if not choices:
        return Completion(text, cursor, ())
    if len(choices) == 1:
        filled = prefix + choices[0] + end
    else:
        common = os.path.commonprefix([c.lower() for c in choices])
        filled = prefix + (common if len(common) > len(partial) else partial)
    rest = text[cursor:]
    if end and rest.startswith(" "):
        filled = filled.rstrip(" ")
    return Completion(text[:start] + filled + rest, start + len(filled), tuple(choices) if len(choices) > 1 else ())
