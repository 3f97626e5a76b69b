"""Which executor runs an action here: the live systems', or the demo's simulation.

The engine asks the router and never asks whether it is on the demo. The wiring
builds one of the two:

- :class:`LiveRouter`: an action runs on the executor of its payload kind (sql, shell,
  http, console); its templates' secrets must be set;
- :class:`DemoRouter`: an action runs on the simulation when its ``demo`` mapping names
  a call the simulation has, else on the console's own (simulated) sources when it is a
  console action, else not at all, and the router says so in the operator's words.
  Rehearsals need no production secrets.
"""

from __future__ import annotations

import shlex
from typing import Protocol

from cs_console.domain.runbooks.calls import Call, ConsoleCall, DemoCall, HttpCall, ShellCall, SqlCall, StepExecutor
from cs_console.domain.runbooks.schema import Action


class DemoCallExecutor(StepExecutor, Protocol):
    def supports(self, call: str) -> bool: ...


class LiveRouter:
    """The real systems: each action on the executor of its payload kind."""

    # Whether a template's secret placeholders must resolve before anything runs.
    requires_secrets = True
    # Said of a read-only probe (precondition, preview, verify) that has nothing to run here.
    no_probe = "nothing to run"
    # Said of a step with nothing to run here: (transition note, incident timeline, outcome detail).
    # Live actions always have a live payload (the schema says so): only a demo-only mapping lands here.
    no_step = ("demo: rehearsed (not simulated)", "demo: rehearsed (not simulated)",
               "rehearsed (not simulated): the demo has no simulation for this step, nothing ran")

    def __init__(self, *, sql: StepExecutor | None = None, shell: StepExecutor | None = None,
                 http: StepExecutor | None = None, console: StepExecutor | None = None) -> None:
        self.sql = sql
        self.shell = shell
        self.http = http
        self.console = console

    def route(self, action: Action) -> str:
        """sql, shell, http, console, demo or none."""
        kind = action.payload_kind
        return kind if kind in ("sql", "shell", "http", "console") else "none"

    def executor_for(self, call: Call) -> StepExecutor | None:
        return {SqlCall: self.sql, ShellCall: self.shell, HttpCall: self.http, ConsoleCall: self.console,
                DemoCall: self._demo()}.get(type(call))

    def _demo(self) -> StepExecutor | None:
        return None

    @staticmethod
    def missing_executor(call: Call) -> str:
        """Why a call cannot run in this session (one line)."""
        if isinstance(call, ConsoleCall):
            return "console calls need the environment (health, metrics, logs sources)"
        what = {SqlCall: "SQL (set db_dsn in the profile)", ShellCall: "shell", HttpCall: "HTTP", DemoCall: "demo"}[type(call)]
        return f"no executor for {what} in this session"

    def describe_unrouted(self, action: Action, live: str | None = None) -> str:
        """What the operator reads for an action that has nothing to run here (not yet redacted).

        `live`: the live payload already rendered for display (else it is shown as written)."""
        return "(nothing to run)"

    def plan_note(self, action: Action) -> str:
        """How this action is performed here, beside what will run ("" when it is simply run)."""
        return ""

    async def aclose(self) -> None:
        for ex in (self.sql, self.shell, self.http, self.console, self._demo()):
            if ex is not None:
                try:
                    await ex.aclose()
                except Exception:
                    pass


class DemoRouter(LiveRouter):
    """The demo: the simulation where a step maps onto it, the simulated sources for console actions."""

    requires_secrets = False
    no_probe = "no simulation for this check on the demo"

    def __init__(self, *, demo: DemoCallExecutor | None = None, console: StepExecutor | None = None) -> None:
        super().__init__(console=console)
        self.demo = demo  # None: a demo session without its simulation still never touches real systems

    def _demo(self) -> StepExecutor | None:
        return self.demo

    def route(self, action: Action) -> str:
        if action.demo is not None and self.demo is not None and self.demo.supports(action.demo.call):
            return "demo"
        if action.console is not None:
            return "console"
        return "none"

    def describe_unrouted(self, action: Action, live: str | None = None) -> str:
        live = live_payload_text(action) if live is None else live
        return (live + "\n" if live else "") + "(demo: no simulation for this step; it will be rehearsed, not run)"

    def plan_note(self, action: Action) -> str:
        return {"demo": f"on the demo: {action.demo.call if action.demo else ''}",
                "console": "on the demo: the demo's own sources",
                "none": "no simulation on the demo: the step will be rehearsed (not simulated)"}.get(self.route(action), "")


def live_payload_text(action: Action) -> str:
    """The live payload as text (shown on the demo beside the simulation note)."""
    if action.sql:
        return "SQL: " + action.sql.query.strip()
    if action.shell:
        return "$ " + (shlex.join(action.shell.argv) if action.shell.argv else (action.shell.command or ""))
    if action.http:
        return f"{action.http.method} {action.http.url}"
    return ""
