"""Inputs suggested from what the console sees now (`[inputs.suggest]` in a runbook).

A fixed default is wrong exactly when it matters: five minutes of idle-in-transaction
previews nothing a minute into a leak. A suggestion reads one of the console's own sources
(the same read-only calls a `console` step makes), evaluates the runbook's expression over
the result and offers the value in the start form with the reason. Nothing here can fail a
start: a source that is down, slow or missing the figure leaves the default, and says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cs_console.domain.runbooks import expressions
from cs_console.domain.runbooks.calls import ConsoleCall
from cs_console.domain.runbooks.inputs import InputError, convert
from cs_console.domain.runbooks.schema import InputSpec, Runbook
from cs_console.services.runbooks.console_calls import run_console_call

if TYPE_CHECKING:
    from cs_console.services.environment import Environment


@dataclass(frozen=True, slots=True)
class Suggested:
    """A suggested input: `value` (as typed in the form) or None with `why` saying why not."""

    value: str | None
    why: str


def format_value(spec: InputSpec, value: Any) -> str:
    """A suggestion as the operator would type it: 0.3, not 0.30000000000000004; 5, not 5.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def _one(spec: InputSpec, result: Any) -> Suggested:
    assert spec.suggest is not None
    try:
        raw = expressions.evaluate(spec.suggest.value, {"value": result})
    except expressions.ExpressionError as exc:
        return Suggested(None, f"no suggestion: {exc}")
    if raw is None:
        return Suggested(None, "no suggestion from what the console sees now; the default stands")
    text = format_value(spec, raw)
    try:
        convert(spec, text)
    except InputError as exc:
        return Suggested(None, f"no suggestion: {text} is not {exc.expected}")
    return Suggested(text, spec.suggest.why or f"from the console's {spec.suggest.console} now")


async def suggest_inputs(runbook: Runbook, env: "Environment", *, timeout_s: float = 2.0) -> dict[str, Suggested]:
    """Every input of `runbook` that has a suggestion: its value now, or why there is none."""
    wanted = [spec for spec in runbook.inputs if spec.suggest is not None]
    results: dict[str, Any] = {}
    out: dict[str, Suggested] = {}
    for spec in wanted:
        assert spec.suggest is not None
        call = spec.suggest.console
        if call not in results:  # one call per source, however many inputs read it
            res = await run_console_call(env, ConsoleCall(call), timeout_s=timeout_s, on_output=None)
            results[call] = res.value if res.ok else res
        result = results[call]
        if not isinstance(result, (dict, list)):
            out[spec.name] = Suggested(None, f"no suggestion: {call} unavailable ({getattr(result, 'error', '') or 'no value'})")
            continue
        out[spec.name] = _one(spec, result)
    return out
