"""Plain text of what a Textual app shows (for pilot tests that assert on the screen)."""

from __future__ import annotations

from textual.app import App


def screen_text(app: App) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


def screen_segments(app: App):
    """Every (text, style) segment on screen: to check that data never became markup."""
    for strip in app.screen._compositor.render_strips():
        yield from strip
