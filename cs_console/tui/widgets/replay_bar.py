"""The replay's time bar: where in the recording the console is, and the keys that move it.

It drives the replay: four times a second it has the controller feed the monitor up
to the replay clock's time (services.replay), then lets the panes repaint. Its keys
work wherever the focus is: they are installed on the app when the bar mounts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from cs_console.domain.safe_text import safe_text

TICK_S = 0.25
SEEK_S = 60.0
_MARKS = {"alert": "▲", "source": "◆", "incident": "┃", "audit": "•"}


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def bar_text(controller: Any, width: int) -> tuple[str, str]:
    """The two lines: state, time and speed; the bar with the events on it."""
    now = controller.position()
    start, end = controller.start, controller.end
    state = "▶" if controller.clock.playing else "⏸"
    speed = f"{controller.clock.speed:g}x"
    what = f" {controller.incident_ref}" if controller.incident_ref else ""
    head = f" REPLAY {state} {speed}  {_clock(now)}{what}  {_span(now - start)} / {_span(end - start)}"
    near = controller.event_near(-1)
    if near is not None and now - near.t < 120:
        head += f"  · {near.label}"
    cells = max(width - 2, 10)
    line = ["─"] * cells
    length = max(end - start, 1e-9)
    for event in controller.events:
        i = min(int((event.t - start) / length * cells), cells - 1)
        line[i] = _MARKS.get(event.kind, "·")
    cursor = min(int((now - start) / length * cells), cells - 1)
    line[cursor] = "●"
    return head[:width], " " + "".join(line)


# The app's while replaying (installed when the bar mounts); help lists them under Global then.
REPLAY_BINDINGS: list[Binding] = [
    Binding("f6", "replay('toggle')", "Play/Pause", id="replay.toggle"),
    Binding("full_stop", "replay('step')", "Step", show=False, id="replay.step"),
    Binding("comma", "replay('step_back')", "Step back", show=False, id="replay.step_back"),
    Binding("greater_than_sign", "replay('ahead')", "Seek +1 min", show=False, id="replay.seek_ahead"),
    Binding("less_than_sign", "replay('back')", "Seek -1 min", show=False, id="replay.seek_back"),
    Binding("f8", "replay('next_event')", "Next event", id="replay.next_event"),
    Binding("f7", "replay('prev_event')", "Prev event", id="replay.prev_event"),
    Binding("right_square_bracket", "replay('faster')", "Faster", show=False, id="replay.faster"),
    Binding("left_square_bracket", "replay('slower')", "Slower", show=False, id="replay.slower"),
]


class ReplayBar(Static):
    """The replay time bar."""

    def __init__(self, controller: Any) -> None:
        super().__init__(Content(""), id="replay-bar")
        self.controller = controller
        self._second = -1

    def on_mount(self) -> None:
        # The keys are the app's while replaying, whatever has the focus (a pane's own key wins).
        for binding in REPLAY_BINDINGS:
            self.app._bindings.key_to_bindings.setdefault(binding.key, []).append(binding)
        self.set_interval(TICK_S, self.tick)
        self.call_after_refresh(self.tick)

    async def tick(self) -> None:
        app: Any = self.app
        fed = await self.controller.sync(app.monitor)
        self.render_bar()
        second = int(self.controller.position())
        if fed:
            app._live_changed()
        if fed or second != self._second:
            self._second = second
            app.clock_tick()

    def render_bar(self) -> None:
        head, line = bar_text(self.controller, self.size.width or 80)
        self.update(Content(safe_text(head) + "\n" + line))

    async def act(self, verb: str) -> None:
        c = self.controller
        said = ""
        if verb == "toggle":
            said = "playing" if c.toggle() else "paused"
        elif verb == "step":
            c.step(1)
        elif verb == "step_back":
            c.step(-1)
        elif verb == "ahead":
            c.seek_by(SEEK_S)
        elif verb == "back":
            c.seek_by(-SEEK_S)
        elif verb in ("next_event", "prev_event"):
            event = c.seek_event(1 if verb == "next_event" else -1)
            said = event.label if event is not None else "no further event"
        elif verb in ("faster", "slower"):
            said = f"speed {c.clock.faster(1 if verb == 'faster' else -1):g}x"
        if said:
            self.app.notify(said, timeout=2, markup=False)
        await self.tick()


def replay_action(app: Any, verb: str) -> None:
    """What the app's `replay(verb)` action does: the bar moves the replay."""
    bars = app.query(ReplayBar)
    if bars:
        app.run_worker(bars.first().act(verb), group="replay", exit_on_error=False)


def jump_to(app: Any, t: float) -> bool:
    """The replay paused at `t` (the Incidents pane's timeline jump); False when not replaying."""
    controller = getattr(app.env, "replay", None)
    if controller is None:
        return False
    controller.clock.pause()
    controller.seek(t)
    bars = app.query(ReplayBar)
    if bars:
        app.run_worker(bars.first().tick(), group="replay", exit_on_error=False)
    return True
