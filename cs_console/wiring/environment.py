"""build_environment: the demo or the live environment, whichever the session asks for."""

from __future__ import annotations

from cs_console.services.environment import Environment
from cs_console.services.session import Session


def build_environment(session: Session, *, one_shot: bool = False) -> Environment:
    """Wire the sources for this session.

    one_shot: commands such as `health` or `logs` see a demo scenario fully
    developed instead of watching it unfold.
    """
    if session.demo is not None:
        # Imported here so a live session never loads the simulator (and vice versa).
        from cs_console.wiring.demo import build_demo_environment

        return build_demo_environment(session, one_shot=one_shot)
    from cs_console.wiring.live import build_live_environment

    return build_live_environment(session)
