"""Turn an action's raw result into the captured value (`parse`) and the expression context."""

from __future__ import annotations

import json
from typing import Any

from cs_console.domain.runbooks.schema import Parse


class CaptureError(ValueError):
    pass


def _first_value(value: Any) -> Any:
    if isinstance(value, list):
        if not value:
            return None
        value = value[0]
    if isinstance(value, dict):
        return next(iter(value.values()), None)
    if isinstance(value, str):
        return value.strip()
    return value


def parse_value(raw: Any, output: str, parse: Parse) -> Any:
    """Lenient where it is harmless (a dict where rows were expected), strict on numbers."""
    if parse is Parse.TEXT:
        return raw if isinstance(raw, str) else output
    if parse is Parse.LINES:
        text = raw if isinstance(raw, str) else output
        return [line for line in text.splitlines() if line.strip()]
    if parse is Parse.JSON:
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except ValueError:
                raise CaptureError("the output is not JSON") from None
        return raw
    if isinstance(raw, str) and parse in (Parse.ROWS, Parse.ROW):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = [{"line": line} for line in raw.splitlines() if line.strip()]
    if parse is Parse.ROWS:
        if raw is None:
            return []
        if isinstance(raw, dict):
            return [raw]
        return list(raw) if isinstance(raw, (list, tuple)) else [{"value": raw}]
    if parse is Parse.ROW:
        if isinstance(raw, list):
            return raw[0] if raw else {}
        return raw if isinstance(raw, dict) else {"value": raw}
    value = _first_value(raw)
    if parse is Parse.VALUE:
        return value
    try:
        if parse is Parse.INT:
            return int(float(value)) if isinstance(value, (str, float)) else int(value)
        if parse is Parse.FLOAT:
            return float(value)
    except (TypeError, ValueError):
        raise CaptureError(f"the output is not {'an integer' if parse is Parse.INT else 'a number'}") from None
    return value


def result_context(value: Any, raw: Any, *, output: str = "", rows_affected: int | None = None,
                   exit_code: int | None = None, status: int | None = None) -> dict[str, Any]:
    rows = raw if isinstance(raw, list) else (value if isinstance(value, list) else None)
    return {
        "value": value, "rows": rows if rows is not None else [], "count": len(rows) if rows is not None else None,
        "rows_affected": rows_affected, "exit_code": exit_code, "status": status, "output": output,
    }


def short(value: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
