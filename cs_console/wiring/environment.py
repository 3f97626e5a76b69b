"""build_environment: the demo or the live environment, whichever the session asks for."""

from __future__ import annotations

from cs_console.services.environment import Environment
from cs_console.services.session import Session
from cs_console.stores.alert_history import AlertHistory
from cs_console.stores.alert_history_team import PgAlertHistory, ProfileAlertHistory
from cs_console.stores.filter_history import FilterHistory
from cs_console.stores.operator_identity import operator_name


def build_environment(session: Session, *, one_shot: bool = False) -> Environment:
    """Wire the sources for this session.

    one_shot: commands such as `health` or `logs` see a demo scenario fully
    developed instead of watching it unfold.
    """
    if session.demo is not None:
        # Imported here so a live session never loads the simulator (and vice versa).
        from cs_console.wiring.demo import build_demo_environment

        env = build_demo_environment(session, one_shot=one_shot)
    else:
        from cs_console.wiring.live import build_live_environment

        env = build_live_environment(session)
    env.alert_history = build_alert_history(env)
    env.filter_history = FilterHistory.in_state_dir(env.alert_state_dir)  # the demo's apart, like its alerts
    if not one_shot:  # the console records (the flight recorder); one-shot commands do not
        from cs_console.wiring.recording import build_recorder

        env.recorder = build_recorder(env)
    return env


def build_alert_history(env: Environment) -> ProfileAlertHistory:
    """The profile's own history: its local file, and the team table in team mode (never on the demo)."""
    profile = env.session.profile.name
    local = AlertHistory(env.alert_state_dir, profile)
    target = env.session.team_store
    team = PgAlertHistory(target.dsn, profile, target.password, raised_by=operator_name()) if target is not None and target.dsn else None
    return ProfileAlertHistory(local, team)
