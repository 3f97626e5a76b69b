"""The router: which executor runs an action here, and what is said when none does.

The engine never asks whether it is on the demo; these are the answers it gets instead.
"""

from __future__ import annotations

from cs_console.domain.runbooks.calls import ConsoleCall, DemoCall, ShellCall, SqlCall
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.services.runbooks.router import DemoRouter, LiveRouter

RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "t-route"
title = "routes"
group = "Incident"

[[steps]]
id = "mapped"
kind = "sql"
title = "terminate one backend"
risk = "write"
sql = "select pg_terminate_backend(1)"
demo = { call = "terminate_backend", args = { pid = 1 } }

[[steps]]
id = "unmapped"
kind = "shell"
title = "a real pg_dump"
risk = "write"
argv = ["pg_dump", "--version"]

[[steps]]
id = "health"
kind = "check"
title = "health"
console = { call = "health" }
"""


class FakeSimulation:
    def supports(self, call: str) -> bool:
        return call == "terminate_backend"

    async def aclose(self) -> None:
        return None


def _actions():
    rb = parse_runbook(RUNBOOK, "r.toml")
    return {s.id: s.action for s in rb.steps}


def test_live_router_runs_each_payload_on_its_own_executor() -> None:
    actions = _actions()
    live = LiveRouter()
    assert [live.route(actions[s]) for s in ("mapped", "unmapped", "health")] == ["sql", "shell", "console"]
    assert live.requires_secrets and live.plan_note(actions["mapped"]) == ""
    assert live.describe_unrouted(actions["unmapped"]) == "(nothing to run)" and live.no_probe == "nothing to run"
    assert live.executor_for(SqlCall("select 1")) is None
    assert live.missing_executor(SqlCall("select 1")) == "no executor for SQL (set db_dsn in the profile) in this session"
    assert live.missing_executor(ConsoleCall("health")) == "console calls need the environment (health, metrics, logs sources)"


def test_demo_router_simulates_what_it_can_and_says_what_it_cannot() -> None:
    actions = _actions()
    sim = FakeSimulation()
    demo = DemoRouter(demo=sim)
    assert [demo.route(actions[s]) for s in ("mapped", "unmapped", "health")] == ["demo", "none", "console"]
    assert not demo.requires_secrets
    assert demo.executor_for(DemoCall("terminate_backend")) is sim and demo.executor_for(ShellCall(("ls",))) is None
    assert demo.plan_note(actions["mapped"]) == "on the demo: terminate_backend"
    assert demo.plan_note(actions["health"]) == "on the demo: the demo's own sources"
    assert demo.plan_note(actions["unmapped"]) == "no simulation on the demo: the step will be rehearsed (not simulated)"
    assert demo.describe_unrouted(actions["unmapped"]) == "$ pg_dump --version\n(demo: no simulation for this step; it will be rehearsed, not run)"
    assert demo.no_probe == "no simulation for this check on the demo"
    # A demo session without its simulation still never touches real systems.
    bare = DemoRouter()
    assert bare.route(actions["mapped"]) == "none" and bare.route(actions["health"]) == "console"
