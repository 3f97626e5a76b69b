"""The runbook engine in rooms.

- ``engine``: the run's lifecycle and the guard (start, resume, prepare, execute, close);
- ``step_kinds``, ``dry_run``: how each kind of step runs, live and in a dry run;
- ``context``: the values templates see, and the secrets the redactor must know;
- ``render``: a step's action rendered into a call, and described for the operator;
- ``router``: which executor (live systems or the demo's simulation) runs an action;
- ``batch``: the CLI's non-interactive loop;
- ``plan``: what prepare and execute hand back;
- ``interactive``: an operator's run in the wizard (the plan on show, outcomes, checklist ticks);
- ``catalog``, ``runs``, ``console_calls``: the runbooks known, the runs to resume, the
  console's own sources as an executor.

Built from a session by ``cs_console.wiring.runbooks``.
"""
