"""What a pane or a dialog may ask of the console app that hosts it.

Panes see the app through this protocol rather than importing `tui.app` (which imports the
panes' registry): the imports run one way, app -> panes, and the protocol says exactly
which part of the app a pane depends on.
"""

from __future__ import annotations

from typing import Any, Protocol

from cs_console.services.environment import Environment
from cs_console.services.monitor import LiveState, Monitor
from cs_console.services.session import Session


class ConsoleHost(Protocol):
    session: Session
    env: Environment
    monitor: Monitor
    live: LiveState

    @property
    def environment_pending(self) -> bool: ...

    @property
    def current_pane(self) -> Any: ...

    def triage_alert(self, alert: Any) -> None: ...

    def show_pane(self, pane_id: str) -> None: ...
