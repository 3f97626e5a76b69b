"""The runbook schema (``cs-console.runbook/v1``): runbooks as data.

A runbook is a TOML file (see ``cs_console/runbooks/SCHEMA.md`` for the
reference and a complete example). This module holds the immutable model the
loader (``loader.py``) builds; the engine (``services/runbook_engine.py``)
executes it. Pure: no I/O.

Vocabulary
- *Step kinds*: ``check`` (read a value and test it), ``sql``, ``shell``,
  ``http``, ``manual`` (the operator does something and confirms or answers),
  ``decision`` (branch on a captured value or the operator's choice),
  ``wait_until`` (poll a probe until an expression holds or time runs out).
- *Risk*: ``read`` < ``write`` < ``destructive`` < ``irreversible``. Destructive
  and irreversible steps are *guarded*: they need a typed confirmation bound to
  the run, the step and the target (``guard.py``), and read-only sessions refuse
  every step above ``read``.
- *Action*: the concrete thing a step (or a probe: verify, preview,
  wait_until) runs. Exactly one live payload (``sql``, ``argv``, ``command``
  with ``script = true``, ``url``, ``console``) plus an optional ``demo``
  mapping used when the session is the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "cs-console.runbook/v1"
SUPPORTED_SCHEMAS: tuple[str, ...] = (SCHEMA_VERSION,)

# The groups of the runbooks pane, in display order.
GROUPS: tuple[str, ...] = ("Daily", "Incident", "Maintenance", "Backup & Recovery", "Security", "Scaling")

# A runbook carrying this tag is checked against the profile's maintenance windows.
MAINTENANCE_TAG = "maintenance"

# Goto target that ends the run successfully (decision steps).
END = "end"


class Approval(StrEnum):
    """Who besides the runner must agree before a step runs."""

    NONE = "none"  # the runner's typed phrase is enough (unless the profile asks more)
    SECOND_PERSON = "second-person"  # another OS user, from another SSH client, approves first


class Risk(StrEnum):
    READ = "read"  # changes nothing
    WRITE = "write"  # changes state benignly / reversibly (ANALYZE, a new local file)
    DESTRUCTIVE = "destructive"  # interrupts or removes (terminate backends, ban a user)
    IRREVERSIBLE = "irreversible"  # cannot be undone (restore over a database, revoke a key)

    @property
    def rank(self) -> int:
        return _RISK_RANK[self.value]

    @property
    def guarded(self) -> bool:
        """Needs a typed confirmation bound to run, step and target."""
        return self.rank >= 2

    @property
    def mutating(self) -> bool:
        """Refused in read-only sessions."""
        return self.rank >= 1


_RISK_RANK = {"read": 0, "write": 1, "destructive": 2, "irreversible": 3}


class StepKind(StrEnum):
    CHECK = "check"
    SQL = "sql"
    SHELL = "shell"
    HTTP = "http"
    MANUAL = "manual"
    DECISION = "decision"
    WAIT_UNTIL = "wait_until"


# Kinds that are read-only by rule (their risk must be `read`).
READ_ONLY_KINDS = frozenset({StepKind.CHECK, StepKind.DECISION, StepKind.WAIT_UNTIL})


class InputType(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"
    EMAIL = "email"
    IDENTIFIER = "identifier"  # a SQL identifier / slug: [A-Za-z_][A-Za-z0-9_.-]*
    DURATION = "duration"  # Go-style duration as the Auth API takes it: 24h, 90m, 876000h, none
    PATH = "path"
    SECRET = "secret"  # only `env:NAME`: the value is read from the environment and never shown


class Parse(StrEnum):
    """How an action's output becomes the captured value."""

    ROWS = "rows"  # list of dicts (SQL rows, a JSON list)
    ROW = "row"  # first row as a dict (or {} when none)
    VALUE = "value"  # first column of the first row (or None)
    INT = "int"
    FLOAT = "float"
    JSON = "json"
    TEXT = "text"
    LINES = "lines"


class OnFailure(StrEnum):
    ABORT = "abort"
    CONTINUE = "continue"
    RETRY = "retry"


class SqlWrap(StrEnum):
    EXPLAIN = "explain"  # EXPLAIN the statement: plan + estimated rows, nothing runs
    ROLLBACK = "rollback"  # run inside BEGIN ... ROLLBACK: real row count, nothing kept


class Transaction(StrEnum):
    SINGLE = "single"  # one transaction around the statement(s)
    NONE = "none"  # autocommit: VACUUM, CREATE INDEX CONCURRENTLY, ...


@dataclass(frozen=True, slots=True)
class InputSuggestion:
    """`[inputs.suggest]`: a default taken from what the console sees now, not a fixed number.

    `console` is a read-only console call (metrics, health, ...); `value` an expression over its
    result (`value`) giving the suggested input, or None for "no suggestion" (the default stays).
    """

    console: str
    value: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class InputSpec:
    name: str
    type: InputType = InputType.STRING
    prompt: str = ""
    help: str = ""
    required: bool = True
    default: Any = None  # for secrets: "env:NAME"
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    line: int | None = None
    suggest: InputSuggestion | None = None

    @property
    def secret(self) -> bool:
        return self.type is InputType.SECRET


@dataclass(frozen=True, slots=True)
class SqlAction:
    query: str
    params: tuple[str, ...] = ()  # templates bound to $1, $2, ...
    database: str | None = None  # template: connect to this database on the profile's server
    transaction: Transaction = Transaction.SINGLE
    statement_timeout_ms: int | None = None
    lock_timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ShellAction:
    argv: tuple[str, ...] = ()  # each element a template; no shell involved
    command: str | None = None  # only with script = true: run by /bin/sh -eu -c
    env: tuple[tuple[str, str], ...] = ()  # extra environment (templates; may use secrets)
    cwd: str | None = None

    @property
    def is_script(self) -> bool:
        return self.command is not None


@dataclass(frozen=True, slots=True)
class HttpAction:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    body: str | None = None
    expect_status: tuple[int, ...] = (200,)


@dataclass(frozen=True, slots=True)
class ConsoleAction:
    """A console built-in that works on live and demo alike (health, metrics, logs)."""

    call: str
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class DemoAction:
    """What the step does on the demo: a DemoProject method and its arguments (templates)."""

    call: str
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """Exactly one live payload, plus the optional demo mapping."""

    sql: SqlAction | None = None
    shell: ShellAction | None = None
    http: HttpAction | None = None
    console: ConsoleAction | None = None
    demo: DemoAction | None = None

    @property
    def payload_kind(self) -> str:
        for name in ("sql", "shell", "http", "console"):
            if getattr(self, name) is not None:
                return name
        return "demo" if self.demo is not None else "none"


@dataclass(frozen=True, slots=True)
class Capture:
    save_as: str | None = None
    parse: Parse = Parse.TEXT
    max_bytes: int = 65536
    redact: tuple[str, ...] = ()  # extra regexes whose matches are shown as ***


@dataclass(frozen=True, slots=True)
class Probe:
    """A read-only action and the expression its captured value must satisfy."""

    action: Action
    expect: str | None = None  # expression; None = the action must merely succeed
    parse: Parse = Parse.ROWS
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    phrase: str  # template naming the target: "{{database}}", "{{preview.count}}", "{{environment}}"
    show: tuple[str, ...] = ()  # expressions shown beside the prompt (facts from the preview)


@dataclass(frozen=True, slots=True)
class DryRun:
    sql_wrap: SqlWrap | None = None
    argv: tuple[str, ...] = ()  # a shell step's own dry-run command (e.g. `--dry-run` flag)


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    action: OnFailure = OnFailure.ABORT
    retries: int = 0
    retry_delay_s: float = 2.0


@dataclass(frozen=True, slots=True)
class Choice:
    goto: str  # a later step id, or "end"
    label: str = ""
    when: str | None = None  # expression; None when the operator chooses (ask = true)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    kind: StepKind
    title: str
    why: str = ""
    risk: Risk = Risk.READ
    action: Action | None = None  # check/sql/shell/http; the probe of wait_until
    expect: str | None = None  # check: expression over the captured value
    preconditions: tuple[str, ...] = ()  # ids of earlier check steps, re-run before the gate
    idempotent: bool = True
    timeout_s: float = 60.0
    on_failure: FailurePolicy = FailurePolicy()
    confirm: Confirm | None = None
    approval: Approval = Approval.NONE
    dry_run: DryRun = DryRun()
    preview: Probe | None = None
    verify: Probe | None = None
    rollback: str = ""  # the human undo hint
    capture: Capture = Capture()
    # manual
    instructions: str = ""
    answer: InputSpec | None = None  # manual steps that ask for a value
    # decision
    choices: tuple[Choice, ...] = ()
    default: str | None = None
    ask: bool = False
    # wait_until
    until: str | None = None
    interval_s: float = 5.0
    line: int | None = None

    @property
    def guarded(self) -> bool:
        return self.risk.guarded


@dataclass(frozen=True, slots=True)
class Runbook:
    id: str
    title: str
    group: str
    steps: tuple[Step, ...]
    schema: str = SCHEMA_VERSION
    summary: str = ""
    version: str = "1"
    tags: tuple[str, ...] = ()
    severity_hint: tuple[str, ...] = ()
    maintenance_windows: tuple[str, ...] = ()  # window names; empty + maintenance tag = any window
    manual_ref: str = ""  # the section of the operations manual this implements
    inputs: tuple[InputSpec, ...] = ()
    source: str = ""  # file path (or "<builtin>/name.toml")
    sha256: str = ""  # of the file's bytes: resume detects a changed runbook
    builtin: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def highest_risk(self) -> Risk:
        return max((s.risk for s in self.steps), key=lambda r: r.rank, default=Risk.READ)

    @property
    def is_maintenance(self) -> bool:
        return MAINTENANCE_TAG in self.tags or bool(self.maintenance_windows)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def index_of(self, step_id: str) -> int:
        for i, s in enumerate(self.steps):
            if s.id == step_id:
                return i
        raise KeyError(step_id)

    def input(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)
