"""The header: profile, environment (PRODUCTION stands out, DEMO labelled), read-only badge,
the flight recorder's REC badge, one status dot per source, the pane tabs and a UTC clock.

Each part is its own small widget so a clock tick repaints a few cells, not the line.
"""

from __future__ import annotations

from datetime import datetime, timezone

from textual.app import ComposeResult
from textual.content import Content
from textual.containers import Horizontal
from textual.widgets import Static

from cs_console.domain.safe_text import safe_text
from cs_console.domain.sources import SourceState, SourceStatus
from cs_console.tui.widgets.recorder_status import RecorderBadge

_DOT_STYLE = {
    SourceState.UP: "$success",
    SourceState.DEGRADED: "$warning",
    SourceState.DOWN: "bold $error",
    SourceState.UNKNOWN: "$text-muted",
}


class UtcClock(Static):
    """Minute resolution: a seconds clock alone costs ~80 B/s of terminal traffic over SSH.

    It shows what it is told (`show`): the app feeds it the environment's clock on every
    live change and, when polling, once a second. It has no timer of its own, so a screen
    is a pure function of the environment's clock and state (tests and replays pin it).
    """

    _shown = ""

    def show(self, now: datetime) -> None:
        text = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if text != self._shown:
            self._shown = text
            self.update(Content(text))


class SourceDots(Static):
    """● db ● api ...: coloured by state; the tooltip says why."""

    _last: tuple = ()

    def show(self, statuses: list[SourceStatus]) -> None:
        key = tuple((s.name, s.state) for s in statuses)
        if key == self._last:
            return
        self._last = key
        parts: list[tuple[str, str] | str] = []
        for i, status in enumerate(statuses):
            if i:
                parts.append(" ")
            parts.append(("●", _DOT_STYLE[status.state]))
            parts.append(f" {status.name}")
            if status.state == SourceState.DOWN:
                parts.append((" DOWN", "bold $error"))
        if not statuses:
            parts.append(("no sources", "$text-muted"))
        self.update(Content.assemble(*parts))
        # Content, not str: a str tooltip is parsed as markup, and details are data (error texts).
        text = "\n".join(safe_text(f"{s.name}: {s.state.value} {s.detail}".rstrip(), 300) for s in statuses)
        self.tooltip = Content(text) if text else None


class ConsoleHeader(Horizontal):
    DEFAULT_CLASSES = ""

    def __init__(self, profile: str, environment: str, production: bool, demo: bool, read_only: bool) -> None:
        super().__init__(id="console-header")
        self._profile = profile
        self._environment = environment
        self._production = production
        self._demo = demo
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        yield Static(Content("cs-console"), id="hdr-title")
        env = Static(Content(f" {self._environment} "), id="hdr-env")
        env.add_class("env-production" if self._production else "env-demo" if self._demo else "env-other")
        yield env
        yield Static(Content(f"profile {self._profile}"), id="hdr-profile")
        ro = Static(Content(" READ-ONLY ") if self._read_only else Content(""), id="hdr-readonly")
        if self._read_only:
            ro.add_class("on")
        yield ro
        yield RecorderBadge()
        yield Static(Content(""), id="hdr-spacer")
        yield SourceDots(Content(""), id="hdr-dots")
        yield UtcClock(Content(""), id="hdr-clock")


class PaneTabs(Static):
    """`1 Overview  2 Metrics ...` with the active pane highlighted."""

    def __init__(self, panes: list[tuple[str, str, str]]) -> None:
        super().__init__(Content(""), id="pane-tabs")
        self._panes = panes  # (key, pane_id, title)
        self._active = ""

    def set_active(self, pane_id: str) -> None:
        if pane_id == self._active:
            return
        self._active = pane_id
        parts: list[tuple[str, str] | str] = []
        for key, pid, title in self._panes:
            active = pid == pane_id
            parts.append((f" {key} ", "bold $accent" + (" reverse" if active else "")))
            parts.append((f"{title} ", "bold $foreground on $boost" if active else ""))
            parts.append(" ")
        self.update(Content.assemble(*parts))
