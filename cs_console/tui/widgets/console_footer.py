"""The footer: Textual's Footer, rebuilt only when what it shows changes.

Textual's Footer recomposes (unmounts and mounts every key) on each
bindings-updated signal, and one pane switch sends about a dozen of them
(focus moves, panes show and hide). Measured at 120x40 on the demo that was
~40 % of the CPU of a pane switch. This one coalesces the signals into one
check per refresh and recomposes only when the visible keys differ.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class ConsoleFooter(Footer):
    _pending = False
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    def _visible_keys(self) -> tuple:
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip, binding.group)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self.show_command_palette, self.compact)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        shown = self._visible_keys()
        if shown == self._shown:
            return
        self._shown = shown
        await self.recompose()
