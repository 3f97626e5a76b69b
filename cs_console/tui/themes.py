"""Themes: TOML files in the top-level themes/ folder (shipped in the wheel) → Textual themes."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from textual.theme import Theme

from cs_console.config import themes_dirs

DEFAULT_THEME = "dark"
NO_COLOR_THEME = "ansi"
_COLOR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost", "success", "warning", "error")


@dataclass
class LoadedThemes:
    themes: dict[str, Theme]
    warnings: list[str]


def _theme_from_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    colors = data.get("colors")
    if not isinstance(colors, dict) or "primary" not in colors:
        raise ValueError("[colors] with at least primary")
    unknown = set(colors) - set(_COLOR_KEYS)
    if unknown:
        raise ValueError(f"unknown colour key {sorted(unknown)[0]!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError("[variables] of strings")
    theme = Theme(
        name=str(data.get("name", path.stem)),
        dark=bool(data.get("dark", True)),
        ansi=bool(data.get("ansi", False)),
        variables=dict(variables),
        **{k: str(v) for k, v in colors.items()},
    )
    theme.to_color_system().generate()  # bad colour strings fail here, not mid-render
    return theme


def load_themes() -> LoadedThemes:
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for directory in themes_dirs():
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = _theme_from_file(path)
            except (tomllib.TOMLDecodeError, ValueError, TypeError, Exception) as exc:  # noqa: BLE001 - any bad file
                warnings.append(f"theme {path.name} ignored: {str(exc).splitlines()[0][:120]}")
                continue
            themes.setdefault(theme.name, theme)
    return LoadedThemes(themes, warnings)


def terminal_colours(environ: Mapping[str, str] | None = None) -> int:
    """How many colours the terminal shows, by the rule Rich (and so Textual) renders with:
    COLORTERM truecolor/24bit, TERM ending in 256color (or kitty) for 256, else 16. No TERM
    at all (a web session through textual-serve, a pipe) is not taken for 16 colours."""
    env = os.environ if environ is None else environ
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return 1 << 24
    term = env.get("TERM", "").strip().lower()
    if term in ("", "unknown"):
        return 256
    return 256 if term.rsplit("-", 1)[-1] in ("256color", "kitty") or term == "xterm-kitty" else 16


def choose_theme(requested: str, available: dict[str, Theme], environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """The theme to use and a warning when the requested one cannot be used.

    Without a requested theme a 16-colour terminal (TERM=xterm, screen, linux...) gets
    the ansi theme: the others' colours, cut down to 16, turn hints and badges the red of
    ERROR."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") and NO_COLOR_THEME in available:
        return NO_COLOR_THEME, None
    if not requested and terminal_colours(env) <= 16 and NO_COLOR_THEME in available:
        return NO_COLOR_THEME, None
    if requested:
        if requested in available:
            return requested, None
        fallback = DEFAULT_THEME if DEFAULT_THEME in available else "textual-dark"
        return fallback, f"theme {requested!r} is not available (or its file is broken): using {fallback}"
    return (DEFAULT_THEME if DEFAULT_THEME in available else "textual-dark"), None
