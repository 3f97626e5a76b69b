"""The console app: header, pane switcher, footer, help, palette, keymap, themes, polling.

Polling: one worker per kind (metrics, health); each re-arms its own timer only
after it finishes, so a slow source never stacks requests. Only the visible
pane repaints on new data; a hidden pane catches up when it is shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from cs_console.domain.clock import poll_interval
from cs_console.services.environment import Environment
from cs_console.services.monitor import Monitor
from cs_console.services.session import Session
from cs_console.tui import textual_compat
from cs_console.tui.app_bindings import apply_keymap, binding_sources
from cs_console.tui.palette import console_commands, go_back, with_pane
from cs_console.tui.pane_mounting import awaited, mount_remaining_panes
from cs_console.tui.pane import ClockTicked, Pane
from cs_console.tui.panes.registry import PANES, PaneSpec
from cs_console.tui.themes import choose_theme, load_themes
from cs_console.tui.widgets.console_footer import ConsoleFooter
from cs_console.tui.widgets.console_header import ConsoleHeader, PaneTabs, SourceDots, UtcClock
from cs_console.tui.widgets.recorder_status import show_recorder


def _pane_bindings() -> list[Binding]:
    # Digits 1-9 switch panes; the tabs line shows their titles, so the footer need not.
    return [
        Binding(str(n), f"show_pane_number({n})", f"Pane {n}", show=False, id=f"app.pane{n}")
        for n in range(1, 10)
    ]


_STYLES = Path(__file__).parent / "styles"


class ConsoleApp(App[int]):
    # Every pane's stylesheet lives in styles/; app.tcss first so panes can refine it.
    CSS_PATH = [_STYLES / "app.tcss", *sorted(p for p in _STYLES.glob("*.tcss") if p.name != "app.tcss")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-medium"), (170, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    TITLE = "cs-console"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help_alt"),
        Binding("f5", "refresh_now", "Refresh", id="app.refresh"),
        Binding("ctrl+r", "refresh_now", "Refresh", show=False, id="app.refresh_alt"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f10", "quit", "Quit", show=False, id="app.quit_alt"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        *_pane_bindings(),
    ]

    def __init__(
        self,
        session: Session,
        env: Environment | None = None,
        *,
        env_factory: Callable[[], Environment] | None = None,
        initial_pane: str | None = None,
        pane_options: dict[str, Any] | None = None,
        poll: bool = True,
        freeze_gc: bool = False,
    ) -> None:
        """`env`, or `env_factory` to build it right after the first frame (its imports and
        wiring cost 0.1-0.15 s, which the first paint need not wait for)."""
        if env is None:
            if env_factory is None:
                raise TypeError("ConsoleApp needs env or env_factory")
            from cs_console.domain.clock import SystemClock

            env = Environment(session=session, clock=SystemClock())  # no sources until the real one is built
        self.session = session
        self.env = env
        self._env_factory = env_factory
        self.monitor = Monitor(env)
        self.live = self.monitor.live
        self._poll = poll
        self._pane_specs: tuple[PaneSpec, ...] = PANES
        self._loaded: dict[str, type[Pane]] = {}
        self._initial_pane = initial_pane or self._pane_specs[0].pane_id
        if all(spec.pane_id != self._initial_pane for spec in self._pane_specs):
            raise ValueError(f"unknown pane {self._initial_pane!r}")
        self._pane_options = pane_options or {}
        self._startup_notices: list[str] = list(session.notices)
        self._pane_faults: set[tuple[str, str, str]] = set()
        self._mount_in_flight: Any = None
        self._freeze_gc = freeze_gc
        self._last_key_at = 0.0
        self._user_mount: Any = None
        # Under NO_COLOR Textual filters every colour; it picks the filter here, from the default
        # theme, and chose Monochrome, which turned the ansi theme's "terminal default" colours
        # into black on black. Native ANSI colours make it pick NoColor: the terminal's own
        # foreground and background, bold and reverse for emphasis.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        loaded = load_themes()
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self._startup_notices += loaded.warnings
        theme_name, warning = choose_theme(session.profile.theme, loaded.themes)
        if warning:
            self._startup_notices.append(warning)
        self._set_initial_theme(theme_name)
        self._apply_keymap(session.config.keymap)

    def _set_initial_theme(self, name: str) -> None:
        """The theme, before the stylesheet is first parsed.

        `self.theme = name` here queues a full re-parse of every stylesheet (Textual
        re-parses on each theme change, without its parse cache): ~50 ms of CPU
        before the first frame. The stylesheet is not parsed yet, so setting the
        value and what the watcher would set (theme classes, ANSI filter) is enough.
        """
        try:
            self.set_reactive(App.theme, name)
            theme = self.current_theme
            classes = {c: False for c in self.classes if c.startswith("-theme-")}
            classes.update({f"-theme-{theme.name}": True, "-dark-mode": theme.dark, "-light-mode": not theme.dark})
            self.update_classes(classes, update=False)
            self._refresh_truecolor_filter(self.ansi_theme)
            self.stylesheet.set_variables(self.get_css_variables())
        except Exception:  # noqa: BLE001 - Textual internals moved: the public way still works
            self.theme = name

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Breakpoint classes before the first layout (Textual sets them on the first
        # Resize, after the first paint): the first frame has the right layout and is
        # not restyled and laid out again right after.
        self._apply_breakpoints(self.screen)
        s = self.session
        yield ConsoleHeader(
            profile=("demo" if s.demo else s.profile.name),
            environment=s.environment_label,
            production=(s.profile.is_production and not s.demo),
            demo=s.demo is not None,
            read_only=s.read_only,
        )
        yield PaneTabs([(spec.key, spec.pane_id, spec.title) for spec in self._pane_specs])
        # Only the first pane shown is built before the first paint; the rest follow it.
        with ContentSwitcher(id="panes", initial=self._initial_pane):
            yield self._make_pane(self._initial_pane)
        if self.env.replay is not None:  # `cs-console replay`: the time bar drives the monitor
            from cs_console.tui.widgets.replay_bar import ReplayBar
            yield ReplayBar(self.env.replay)
        yield ConsoleFooter()

    def _apply_breakpoints(self, screen: Screen) -> None:
        width, height = self.size
        classes = {name: False for _, name in (*self.HORIZONTAL_BREAKPOINTS, *self.VERTICAL_BREAKPOINTS)}
        for dimension, points in ((width, self.HORIZONTAL_BREAKPOINTS), (height, self.VERTICAL_BREAKPOINTS)):
            chosen = [name for threshold, name in sorted(points) if dimension >= threshold]
            if chosen:
                classes[chosen[-1]] = True
        screen.update_classes(classes, update=False)

    def _pane_class(self, pane_id: str) -> type[Pane]:
        if pane_id not in self._loaded:
            spec = next(s for s in self._pane_specs if s.pane_id == pane_id)
            self._loaded[pane_id] = spec.load()
        return self._loaded[pane_id]

    @property
    def _pane_classes(self) -> list[type[Pane]]:
        """Every pane class, in key order (imports the ones not loaded yet)."""
        return [self._pane_class(spec.pane_id) for spec in self._pane_specs]

    def _make_pane(self, pane_id: str) -> Pane:
        cls = self._pane_class(pane_id)
        return cls(id=pane_id, options=self._pane_options if pane_id == self._initial_pane else None)

    def _ensure_pane(self, pane_id: str) -> Any:
        """Mount the pane if it is not mounted yet; returns the mount awaitable (or None)."""
        switcher = self.query_one("#panes", ContentSwitcher)
        if not switcher.query_children(f"#{pane_id}"):
            pane = self._make_pane(pane_id)
            pane.display = False
            return switcher.mount(pane)
        return None

    def _shutting_down(self) -> bool:
        return textual_compat.app_is_closing(self)

    async def _mount_remaining_panes(self) -> None:
        await mount_remaining_panes(self)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            import time

            self._last_key_at = time.monotonic()
        await super().on_event(event)

    async def _shutdown(self) -> None:
        # A pane whose children are torn down before its own Mount is handled can fail in
        # on_mount (a `q` within the first second): let the pane being mounted finish first.
        import asyncio

        pending = [m for m in (self._mount_in_flight, self._user_mount) if m is not None and not m.done()]
        if pending:
            try:
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 2.0)
            except Exception:  # noqa: BLE001 - shutting down regardless
                pass
        await self.monitor.flush_alerts(timeout_s=3.0)
        if self.env.recorder is not None:  # the flight recorder's last second and queue go down
            await self.env.recorder.aclose()
        await super()._shutdown()

    def _report_pane_load_failure(self, spec: PaneSpec, exc: BaseException) -> None:
        key = (spec.pane_id, type(exc).__name__, str(exc)[:80])
        if key not in self._pane_faults:
            self._pane_faults.add(key)
            self.log.error(f"{spec.pane_id}: {exc!r}")
            # markup=False: exception text and paths are data, never Rich markup.
            self.notify(f"{spec.title} pane could not be loaded: {type(exc).__name__}: {str(exc)[:120]}", severity="error", timeout=10, markup=False)

    def on_mount(self) -> None:
        self.query_one(PaneTabs).set_active(self._initial_pane)
        self._show_clock()
        for notice in self._startup_notices:
            self.notify(notice, severity="warning" if notice.startswith(("warning", "theme", "keymap")) else "information", timeout=8, markup=False)
        self.call_after_refresh(self._focus_pane)
        self.run_worker(self._mount_remaining_panes(), group="mount-panes", exit_on_error=False)
        if self._env_factory is not None:
            self.call_after_refresh(self._connect_environment)
        elif self._poll:
            self._start_polling()

    @property
    def environment_pending(self) -> bool:
        """True until the environment built after the first frame is in place."""
        return self._env_factory is not None

    def _connect_environment(self) -> None:
        """Build the real environment (after the first frame), swap it in, start polling."""
        factory = self._env_factory
        if factory is None or self._shutting_down():
            return
        try:
            env = factory()
        except Exception as exc:  # noqa: BLE001 - a wiring problem is a one-line error, never a traceback
            self._env_factory = None
            self.exit(return_code=2, message=f"cs-console: {type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else f"cs-console: {exc}")
            return
        self._env_factory = None
        self.env = env
        self.monitor = Monitor(env)
        self.live = self.monitor.live
        self._live_changed()
        if self._poll:
            self._start_polling()

    def _start_polling(self) -> None:
        self.call_later(self._poll_metrics)
        self.call_later(self._poll_health)
        # Live, the clock and what is derived from it (ages, SLA timers, rates) move
        # between refreshes too. Without polling nothing on screen follows the wall.
        self.set_interval(1.0, self.clock_tick)

    def _show_clock(self) -> None:
        if self.is_running:
            self.query_one(UtcClock).show(self.env.clock.now())

    def clock_tick(self) -> None:
        """One second on: the header clock, every mounted pane and every screen that ticks.

        The one timer behind everything time-derived on screen, so that a test (poll=False)
        decides when time shows: each screen is then a function of env.clock and state.
        """
        if self._shutting_down():
            return
        self._show_clock()
        show_recorder(self)  # REC in the header; a recorder problem is said, the console goes on
        for pane in self.panes:
            if pane.is_mounted:
                self._guarded(pane, pane.clock_tick)
        for screen in self.screen_stack:
            if isinstance(screen, ClockTicked) and screen.is_mounted:
                screen.clock_tick()

    # ------------------------------------------------------------ panes

    @property
    def panes(self) -> list[Pane]:
        return list(self.query_one("#panes", ContentSwitcher).query_children(Pane))

    @property
    def current_pane(self) -> Pane | None:
        switcher = self.query_one("#panes", ContentSwitcher)
        return switcher.visible_content if isinstance(switcher.visible_content, Pane) else None

    def show_pane(self, pane_id: str) -> None:
        switcher = self.query_one("#panes", ContentSwitcher)
        if switcher.current == pane_id:
            return
        self._connect_environment()  # a pane shown before the first frame's callback: give it the real sources
        try:
            mounting = self._ensure_pane(pane_id)
        except Exception as exc:  # noqa: BLE001 - a pane that cannot load is reported; the console stays
            self._report_pane_load_failure(next(s for s in self._pane_specs if s.pane_id == pane_id), exc)
            return
        if mounting is not None:
            # Asked for by a key: the background mounting waits until this one is up.
            import asyncio

            self._user_mount = asyncio.ensure_future(awaited(mounting))
            # Focus and data once it is composed: until then keys would go nowhere.
            self._user_mount.add_done_callback(lambda _f: self.call_after_refresh(self._after_show))
        switcher.current = pane_id
        self.query_one(PaneTabs).set_active(pane_id)
        # A pane mounted just now has not composed its children yet: wait for it.
        self.call_after_refresh(self._after_show)

    def _after_show(self) -> None:
        if self._shutting_down():
            return
        pane = self.current_pane
        if pane is not None and pane.is_mounted:
            self._guarded(pane, pane.refresh_live)
            self._focus_pane()

    def _focus_pane(self) -> None:
        pane = self.current_pane
        if pane is not None:
            self._guarded(pane, pane.focus_default)

    def _guarded(self, pane: Pane, call: Any) -> None:
        """A fault in one pane must not take the console down mid-incident: report it once."""
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            key = (pane.PANE_ID, type(exc).__name__, str(exc)[:80])
            if key not in self._pane_faults:
                self._pane_faults.add(key)
                self.log.error(f"{pane.PANE_ID}: {exc!r}")
                self.notify(f"{pane.TITLE} pane fault: {type(exc).__name__}: {str(exc)[:120]}", severity="error", timeout=10, markup=False)

    def action_show_pane_number(self, number: int) -> None:
        for spec in self._pane_specs:
            if spec.key == str(number):
                self.show_pane(spec.pane_id)
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_pane_number" and parameters:
            return any(spec.key == str(parameters[0]) for spec in self._pane_specs)
        return True

    # ------------------------------------------------------------ polling

    def _poll_metrics(self) -> None:
        self.run_worker(self._metrics_job(), group="poll-metrics", exclusive=True, exit_on_error=False)

    def _poll_health(self) -> None:
        self.run_worker(self._health_job(), group="poll-health", exclusive=True, exit_on_error=False)

    async def _metrics_job(self) -> None:
        try:
            await self.monitor.refresh_metrics()
            self._live_changed()
        finally:
            if self._poll:
                self.set_timer(poll_interval(self.session.profile.refresh["metrics"], self.env.clock), self._poll_metrics)

    async def _health_job(self) -> None:
        try:
            await self.monitor.refresh_health()
            self._live_changed()
        finally:
            if self._poll:
                self.set_timer(poll_interval(self.session.profile.refresh["health"], self.env.clock), self._poll_health)

    def _live_changed(self) -> None:
        if not self.is_running:
            return
        self._show_clock()
        self.query_one(SourceDots).show(self.live.sources)
        pane = self.current_pane
        if pane is not None and pane.is_mounted:
            self._guarded(pane, pane.refresh_live)

    async def action_refresh_now(self) -> None:
        await self.monitor.refresh_health()
        await self.monitor.refresh_metrics()
        self._live_changed()
        pane = self.current_pane
        if pane is not None and pane.is_mounted:
            self._guarded(pane, pane.refresh_requested)
        self.notify("refreshed", timeout=1.5)

    def triage_alert(self, alert: Any) -> None:
        """Open an incident pre-filled from an alert (the Incidents pane does the triage)."""
        for spec in self._pane_specs:
            try:
                cls = self._pane_class(spec.pane_id)
            except Exception:  # noqa: BLE001 - reported when that pane is shown
                continue
            if hasattr(cls, "open_from_alert"):
                with_pane(self, spec.pane_id, lambda pane: pane.open_from_alert(alert))  # type: ignore[attr-defined]
                return
        self.notify("the Incidents pane is not available in this build", severity="warning")

    # ------------------------------------------------------------ help, palette, keymap

    def action_help(self) -> None:
        from cs_console.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            from cs_console.tui.binding_catalog import help_sections, widget_binding_sections

            self.push_screen(HelpScreen(
                help_sections(self.all_binding_sources(), widget_binding_sections()),
                [(cls.TITLE, cls.HELP) for cls in self._pane_classes],
                self._key_text,
            ))

    def action_replay(self, verb: str) -> None:
        from cs_console.tui.widgets.replay_bar import replay_action
        replay_action(self, verb)

    def action_back(self) -> None:
        """Esc after a drill-down (a function's logs from Metrics...): back where it started."""
        go_back(self)

    def action_quit(self) -> None:
        """Quit, asking first while a run or a dialog is open (a stray q must not end a run)."""
        from cs_console.tui.screens.quit_confirm import quit_or_ask

        quit_or_ask(self)

    def _key_text(self, binding: Binding) -> str:
        """The key of a binding as shown in help, after [keymap]."""
        return ", ".join(self.get_key_display(Binding(k.strip(), binding.action)) for k in self.effective_key(binding).split(","))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from console_commands(self)

    @property
    def pane_specs(self) -> tuple[PaneSpec, ...]:
        return self._pane_specs

    def all_binding_sources(self) -> list[tuple[str, list[Binding]]]:
        """(section, bindings) for the help screen and keymap validation."""
        return binding_sources(self)

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        self._startup_notices += apply_keymap(self, keymap)

    def effective_key(self, binding: Binding) -> str:
        if binding.id and binding.id in self._keymap:
            return self._keymap[binding.id]
        return binding.key

