"""Names the Supabase Management API accepts, checked before any request is sent.

The spec (tests/fixtures/supabase/openapi.json, CreateApiKeyBody.name) allows
`^[a-z_][a-z0-9_]+$`, 4 to 64 characters; anything else is a 400 from the
platform, which mid-incident costs a step. So names are normalised first and
refused here, with a clear reason, when no normal form exists.
"""

from __future__ import annotations

import re

API_KEY_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]+$")
API_KEY_NAME_MIN = 4
API_KEY_NAME_MAX = 64


class NameError_(ValueError):
    """A name the platform would refuse, with the rule it breaks."""


def api_key_name_problem(name: str) -> str | None:
    """Why the platform would refuse `name` as an API key name, or None."""
    if not API_KEY_NAME_MIN <= len(name) <= API_KEY_NAME_MAX:
        return f"API key name {name!r} must be {API_KEY_NAME_MIN}-{API_KEY_NAME_MAX} characters (it has {len(name)})"
    if not API_KEY_NAME_RE.match(name):
        return f"API key name {name!r} may hold only a-z, 0-9 and _ and must not start with a digit"
    return None


def normalise_api_key_name(raw: str, *, reserve: int = 0) -> str:
    """`Backend-Jobs` -> `backend_jobs`: lower case, every other character `_`.

    `reserve` keeps room for a suffix the caller appends (`_20261202`: 9).
    Raises NameError_ when nothing valid is left (empty, or too short).
    """
    text = re.sub(r"[^a-z0-9_]", "_", raw.strip().lower())
    if text and text[0].isdigit():
        text = "_" + text
    text = text[: API_KEY_NAME_MAX - reserve]
    if not text:
        raise NameError_(f"API key name {raw!r} is empty")
    # The suffix the caller adds is made of allowed characters: check the name as it will be sent.
    problem = api_key_name_problem(text + "_" * reserve)
    if problem:
        raise NameError_(problem.replace(repr(text + "_" * reserve), repr(raw)))
    return text


__all__ = ["API_KEY_NAME_RE", "API_KEY_NAME_MIN", "API_KEY_NAME_MAX", "NameError_", "api_key_name_problem", "normalise_api_key_name"]
