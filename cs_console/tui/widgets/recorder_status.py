"""The flight recorder in the header: ` REC ` while it records, ` REC ✗ ` while it cannot.

A recorder problem (the disk full, the file unwritable, the incident store down) is the
operator's to know, and never stops the console: the badge turns to the error colour with
the problem as its tooltip, a notice says it once (again only when it changes, counts
aside), and another says when it is gone. Updated from the app's one-second tick, so a
screen of a test that does not tick (snapshots) never depends on the recorder's timing.
"""

from __future__ import annotations

import re
from typing import Any

from textual.content import Content
from textual.widgets import Static

from cs_console.domain.safe_text import safe_text


def _shape(problem: str) -> str:
    """The problem without its counts: '12 frames lost' and '13 frames lost' are one problem."""
    return re.sub(r"\d+", "#", problem)


class RecorderBadge(Static):
    """Hidden while nothing is recorded (app.tcss: #hdr-rec)."""

    def __init__(self) -> None:
        super().__init__(Content(""), id="hdr-rec")
        self._shown: tuple[bool, str] = (False, "")
        self._told = ""  # the shape of the problem a notice last said

    def show(self, recorder: Any) -> str | None:
        """Show the recorder's state; returns a notice to give ('' clears one), or None."""
        active = bool(recorder is not None and recorder.active)
        problem = recorder.problem if recorder is not None else ""
        state = (active, problem)
        if state != self._shown:
            self._shown = state
            self.display = active or bool(problem)
            self.set_class(bool(problem), "failing")
            self.update(Content(" REC ✗ " if problem else " REC "))
            text = safe_text(problem, 400) if problem else ("flight recorder: recording" if active else "")
            self.tooltip = Content(text) if text else None
        shape = _shape(problem)
        if shape == self._told:
            return None
        was, self._told = self._told, shape
        if problem:
            return problem
        return "" if was else None


def show_recorder(app: Any) -> None:
    """The header badge from `app.env.recorder`, and a notice when its problem starts or ends."""
    try:
        badge = app.query_one(RecorderBadge)
    except Exception:  # noqa: BLE001 - no header (a screen being torn down): nothing to show
        return
    notice = badge.show(app.env.recorder)
    if notice:
        app.notify(safe_text(notice, 300), title="Flight recorder", severity="error", timeout=15, markup=False)
    elif notice == "":
        app.notify("the flight recorder writes again", title="Flight recorder", timeout=6, markup=False)
