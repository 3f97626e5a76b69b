"""Concrete, rendered actions handed to executors, and what executors return.

The engine renders a step's templates twice: once with real values (the
call the executor runs) and once for display (secrets as ``***``). Executors
implement :class:`StepExecutor` (``backends/executors/``); the demo executor
maps :class:`DemoCall` onto the simulation. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

from cs_console.domain.runbooks.schema import SqlWrap, Transaction


@dataclass(frozen=True, slots=True)
class SqlCall:
    query: str
    params: tuple[Any, ...] = ()
    database: str | None = None
    transaction: Transaction = Transaction.SINGLE
    statement_timeout_ms: int | None = None
    lock_timeout_ms: int | None = None
    wrap: SqlWrap | None = None  # dry run


@dataclass(frozen=True, slots=True)
class ShellCall:
    argv: tuple[str, ...] = ()
    script: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None


@dataclass(frozen=True, slots=True)
class HttpCall:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    body: str | None = None
    expect_status: tuple[int, ...] = (200,)


@dataclass(frozen=True, slots=True)
class ConsoleCall:
    call: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoCall:
    call: str
    args: dict[str, Any] = field(default_factory=dict)


Call = Union[SqlCall, ShellCall, HttpCall, ConsoleCall, DemoCall]

OutputCallback = Callable[[str], None]


@dataclass
class ExecResult:
    ok: bool
    value: Any = None  # rows (list of dicts) / text / JSON, before `parse`
    output: str = ""  # human-readable output (redacted by the engine before anyone sees it)
    exit_code: int | None = None
    http_status: int | None = None
    rows_affected: int | None = None
    error: str = ""  # one line
    duration_ms: int = 0
    truncated: bool = False
    timed_out: bool = False
    not_simulated: bool = False  # the demo has no simulation for this call


class StepExecutor(Protocol):
    """Runs one call. Expected faults are results (ok=False, error=...), not exceptions."""

    async def execute(self, call: Call, *, timeout_s: float, max_bytes: int, on_output: OutputCallback | None) -> ExecResult: ...

    async def aclose(self) -> None: ...
