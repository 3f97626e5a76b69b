"""A [keymap] is checked against declared binding ids, so applying it imports no pane but the first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.binding import Binding

from cs_console.tui.binding_catalog import EXTRA_BINDING_IDS, scanned_binding_ids
from cs_console.tui.pane import Pane
from cs_console.tui.panes.registry import PANES

REPO = Path(__file__).resolve().parent.parent


def test_declared_pane_binding_ids_are_the_pane_classes_ids() -> None:
    for spec in PANES:
        cls = spec.load()
        ids: list[str] = []
        for klass in cls.__mro__:
            ids += [b.id for b in klass.__dict__.get("BINDINGS", []) if isinstance(b, Binding) and b.id]
            if klass is Pane:
                break
        assert spec.binding_ids == tuple(ids), spec.pane_id


def test_declared_dialog_and_widget_ids_are_what_the_scan_finds() -> None:
    assert EXTRA_BINDING_IDS == scanned_binding_ids()


def test_the_ids_the_config_checks_are_the_ids_the_tui_declares() -> None:
    """config.py checks a [keymap] against domain/binding_ids.py (no Textual there): the same set."""
    from cs_console.domain.binding_ids import KNOWN_BINDING_IDS
    from cs_console.tui.app import ConsoleApp
    from cs_console.tui.widgets.replay_bar import REPLAY_BINDINGS

    declared = {b.id for b in ConsoleApp.BINDINGS if isinstance(b, Binding) and b.id and not b.id.startswith("app.pane")}
    declared |= {f"app.pane{spec.key}" for spec in PANES}
    declared |= {binding_id for spec in PANES for binding_id in spec.binding_ids}
    declared |= EXTRA_BINDING_IDS
    declared |= {b.id for b in REPLAY_BINDINGS if b.id}
    assert KNOWN_BINDING_IDS == declared, (sorted(declared - KNOWN_BINDING_IDS), sorted(KNOWN_BINDING_IDS - declared))


def test_a_keymap_imports_no_other_pane(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\n"app.refresh" = "f6"\n"logs.pause" = "p"\n"runbook_wizard.run" = "R"\n')
    code = (
        "import sys\n"
        "from tests.sessions import session_args\n"
        "from cs_console.services.session import session_from_args\n"
        "from cs_console.tui.app import ConsoleApp\n"
        f"session = session_from_args(session_args(config={str(config)!r}, demo=True))\n"
        "app = ConsoleApp(session, env_factory=lambda: None, poll=False)\n"
        "print(sorted(app._keymap.items()))\n"
        "print([n for n in app._startup_notices if n.startswith('keymap')])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cs_console.tui.panes.', 'cs_console.tui.screens.'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    keymap, notices, modules = result.stdout.splitlines()
    assert keymap == "[('app.refresh', 'f6'), ('logs.pause', 'p'), ('runbook_wizard.run', 'R')]"
    assert notices == "[]"  # an unknown id is refused by the config check (test_config.py)
    assert modules == "['cs_console.tui.panes.registry']"
