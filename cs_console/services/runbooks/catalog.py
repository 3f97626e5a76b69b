"""The runbooks this console knows: built-ins (package data) + the user's own.

Built-ins: ``cs_console/runbooks/*.toml``. User runbooks:
``config_dir()/runbooks/*.toml``. A user runbook whose id clashes with a
built-in is an error (the built-in stays): silently overriding a reviewed,
guarded procedure is how accidents happen; copy it under a new id instead.
Broken files are collected as one-line errors; they never stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cs_console.domain.runbooks.loader import parse_runbook, sha256_of
from cs_console.domain.runbooks.loader_errors import RunbookError
from cs_console.domain.runbooks.schema import GROUPS, Runbook

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "runbooks"


def user_runbook_dir() -> Path:
    from cs_console.config import config_dir

    return config_dir() / "runbooks"


@dataclass
class Catalog:
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    errors: list[RunbookError] = field(default_factory=list)

    def get(self, runbook_id: str) -> Runbook | None:
        return self.runbooks.get(runbook_id)

    def ordered(self) -> list[Runbook]:
        """By group (pane order), then title."""
        rank = {g: i for i, g in enumerate(GROUPS)}
        return sorted(self.runbooks.values(), key=lambda r: (rank.get(r.group, 99), r.title.lower()))

    def search(self, text: str) -> list[Runbook]:
        words = text.lower().split()
        out = []
        for rb in self.ordered():
            hay = " ".join([rb.id, rb.title, rb.group, rb.summary, rb.manual_ref, *rb.tags]).lower()
            if all(w in hay for w in words):
                out.append(rb)
        return out


def load_file(path: Path, *, builtin: bool = False) -> Runbook:
    """One runbook file; RunbookError for anything wrong with it (unreadable included)."""
    shown = f"<builtin>/{path.name}" if builtin else str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunbookError(shown, None, "file", f"a readable file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunbookError(shown, None, "file", "UTF-8 text") from None
    return parse_runbook(text, shown, builtin=builtin, sha256=sha256_of(data))


def load_catalog(builtin_dir: Path | None = None, user_dir: Path | None = None) -> Catalog:
    catalog = Catalog()
    bdir = builtin_dir if builtin_dir is not None else BUILTIN_DIR
    udir = user_dir if user_dir is not None else user_runbook_dir()
    for path, builtin in [*((p, True) for p in sorted(bdir.glob("*.toml"))),
                          *((p, False) for p in sorted(udir.glob("*.toml")) if udir.is_dir())]:
        try:
            rb = load_file(path, builtin=builtin)
        except RunbookError as exc:
            catalog.errors.append(exc)
            continue
        existing = catalog.runbooks.get(rb.id)
        if existing is not None:
            what = "a built-in runbook" if existing.builtin else existing.source
            catalog.errors.append(RunbookError(rb.source, 1, "id", f"an id not already used by {what} ({rb.id!r}; copy it under a new id)"))
            continue
        catalog.runbooks[rb.id] = rb
    return catalog


def load_runbook_or_error(runbook_id: str) -> tuple[Runbook | None, str]:
    """For commands and the TUI: the runbook, or a one-line error."""
    catalog = load_catalog()
    rb = catalog.get(runbook_id)
    if rb is not None:
        return rb, ""
    broken = [e for e in catalog.errors if runbook_id in str(e)]
    if broken:
        return None, str(broken[0])
    known = ", ".join(sorted(catalog.runbooks)) or "none"
    return None, f"runbook error: unknown runbook {runbook_id!r} (known: {known})"
