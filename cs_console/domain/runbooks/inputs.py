"""Runbook inputs: turn operator text into typed values, or say what was expected.

Secrets are special: the only accepted form is a reference, ``env:NAME``. The
value itself is read from the environment by the engine (``resolve_secret``)
and never stored in run state, the audit or anything shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cs_console.domain.durations import parse_go_duration
from cs_console.domain.runbooks.schema import InputSpec, InputType

ENV_REF_RE = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class InputError(ValueError):
    """str() is what was expected, phrased for the operator."""

    def __init__(self, name: str, expected: str) -> None:
        self.name, self.expected = name, expected
        super().__init__(f"input {name}: {expected}")


def convert(spec: InputSpec, raw: Any) -> Any:
    """Validate and convert one value (from TOML or from `--input k=v` text)."""
    t = spec.type
    name = spec.name
    if t is InputType.SECRET:
        if not isinstance(raw, str) or not ENV_REF_RE.match(raw.strip()):
            # Never echo what was given: it may be the secret itself.
            raise InputError(name, "a reference to an environment variable, env:NAME (never the secret itself)")
        return raw.strip()
    if t is InputType.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise InputError(name, "true or false")
    if t in (InputType.INT, InputType.FLOAT):
        if isinstance(raw, bool):
            raise InputError(name, "a number")
        try:
            value: Any = int(str(raw).strip()) if t is InputType.INT else float(str(raw).strip())
        except ValueError:
            raise InputError(name, "an integer" if t is InputType.INT else "a number") from None
        if spec.min is not None and value < spec.min:
            raise InputError(name, f"a number >= {spec.min:g}")
        if spec.max is not None and value > spec.max:
            raise InputError(name, f"a number <= {spec.max:g}")
        return value
    if not isinstance(raw, str):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        else:
            raise InputError(name, "text")
    text = raw.strip()
    if spec.required and text == "":
        raise InputError(name, "a value (it is required)")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InputError(name, "text without control characters")
    if t is InputType.CHOICE and text not in spec.choices:
        raise InputError(name, "one of " + ", ".join(spec.choices))
    if t is InputType.EMAIL and text and not EMAIL_RE.match(text):
        raise InputError(name, "an e-mail address")
    if t is InputType.IDENTIFIER and text and not IDENT_RE.match(text):
        raise InputError(name, "a name of letters, digits, _ . - (starting with a letter or _)")
    if t is InputType.DURATION and text and text != "none" and parse_go_duration(text) is None:
        raise InputError(name, "a duration such as 24h, 90m, 876000h or none")
    if spec.pattern and text and not re.fullmatch(spec.pattern, text):
        raise InputError(name, f"text matching {spec.pattern}")
    if spec.min is not None and len(text) < spec.min:
        raise InputError(name, f"at least {int(spec.min)} characters")
    if spec.max is not None and len(text) > spec.max:
        raise InputError(name, f"at most {int(spec.max)} characters")
    return text


def resolve_inputs(specs: tuple[InputSpec, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """All inputs: given values (converted), else defaults; missing required -> InputError."""
    known = {s.name for s in specs}
    for name in given:
        if name not in known:
            raise InputError(name, "a known input (" + (", ".join(sorted(known)) or "this runbook takes none") + ")")
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given:
            values[spec.name] = convert(spec, given[spec.name])
        elif spec.default is not None:
            values[spec.name] = convert(spec, spec.default)
        elif spec.required:
            raise InputError(spec.name, "a value (it is required; pass --input " + spec.name + "=...)")
        else:
            values[spec.name] = None
    return values


def secret_env_name(reference: str) -> str:
    m = ENV_REF_RE.match(reference.strip())
    if not m:
        raise InputError("secret", "env:NAME")
    return m.group(1)


def resolve_secret(reference: str, environ: Mapping[str, str]) -> str | None:
    """The secret's value from the environment, or None when the variable is unset/empty."""
    value = environ.get(secret_env_name(reference))
    return value or None
