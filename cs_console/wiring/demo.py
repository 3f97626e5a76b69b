"""The demo environment: the simulated project, its clock and its sources.

`cs-console demo` and every `--demo` command come through here (via
wiring.environment.build_environment). The anchor (the simulated time at
start) is the wall clock, or CS_CONSOLE_DEMO_ANCHOR (ISO 8601) for
reproducible screenshots.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cs_console.backends.demo.health_probe import DemoHealthProbe
from cs_console.backends.demo.inspector import DemoInspector
from cs_console.backends.demo.log_source import DemoLogSource
from cs_console.backends.demo.metrics_source import DemoMetricsSource
from cs_console.backends.demo.platform_status_probe import DemoPlatformStatusProbe
from cs_console.backends.demo.model.clock import parse_anchor
from cs_console.backends.demo.model.project import DemoProject
from cs_console.services.environment import LOG_SOURCE_NAMES, Environment
from cs_console.services.session import Session
from cs_console.wiring.drain import wire_demo_drain
from cs_console.wiring.local_logs import open_indexed_log, open_local_log

ANCHOR_ENV = "CS_CONSOLE_DEMO_ANCHOR"


def _anchor_from_env() -> datetime | None:
    text = os.environ.get(ANCHOR_ENV, "").strip()
    if not text:
        return None
    try:
        return parse_anchor(text)
    except ValueError:
        raise ValueError(f"{ANCHOR_ENV}: expected an ISO 8601 time such as 2026-06-10T14:30:00Z (got {text!r})") from None


def build_demo_project(session: Session, *, one_shot: bool, anchor: datetime | None = None, real_time: bool = True) -> DemoProject:
    options = session.demo
    if options is None:
        raise ValueError("not a demo session")
    return DemoProject(
        options.scenario,
        options.seed,
        options.speed,
        one_shot=one_shot,
        anchor=anchor or _anchor_from_env(),
        real_time=real_time,
    )


def _log_factory(project: DemoProject, name: str) -> Callable[..., Any]:
    def make(**options: Any) -> Any:
        return DemoLogSource(project, name, **options)

    return make


def build_demo_environment(session: Session, one_shot: bool, *, anchor: datetime | None = None, real_time: bool = True) -> Environment:
    """The Environment for a demo session.

    one_shot: the scenario is fully developed (scripted checks); otherwise it
    unfolds from just before its onset. anchor/real_time: for tests and
    screenshots (a fixed start, a frozen clock).
    """
    project = build_demo_project(session, one_shot=one_shot, anchor=anchor, real_time=real_time)
    env = Environment(session=session, clock=project.clock, local_log_opener=open_local_log, indexed_log_opener=open_indexed_log)
    env.demo = project
    env.metrics_sources.append(DemoMetricsSource(project))
    env.health_probes += [DemoHealthProbe(project), DemoPlatformStatusProbe(project)]
    env.inspector = DemoInspector(project)
    env.log_factories = {name: _log_factory(project, name) for name in LOG_SOURCE_NAMES}
    wire_demo_drain(env)  # `drain`: what `drain serve --demo` received from this simulation
    return env
