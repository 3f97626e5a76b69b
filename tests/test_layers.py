"""The layers go one way: domain (pure) <- backends/stores <- services <- tui/commands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "cs_console"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _files(package):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    return bad


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("domain", ("textual", "asyncpg", "httpx", "cs_console.backends", "cs_console.stores", "cs_console.services", "cs_console.tui", "cs_console.commands", "subprocess", "socket")),
        ("backends", ("textual", "cs_console.tui", "cs_console.commands")),
        ("stores", ("textual", "cs_console.tui", "cs_console.commands")),
        ("services", ("textual", "cs_console.tui", "cs_console.commands")),
        ("tui", ("asyncpg", "httpx", "cs_console.backends", "cs_console.stores")),
    ],
)
def test_layer_imports(package: str, forbidden: tuple[str, ...]) -> None:
    assert _files(package), f"no modules found in {package}"
    assert _violations(package, forbidden) == []


def test_tui_builds_no_sql() -> None:
    """SQL lives in backends; the TUI only sends intentions."""
    import re

    # SQL shapes, not English: "select an alert ... from" in help text is fine.
    sql = re.compile(r"\bSELECT\b.+\bFROM\b|\bselect\b.+\bfrom\s+(pg_|information_schema|cs_console\.)|INSERT INTO|\bUPDATE \w+ SET\b|DELETE FROM|pg_terminate_backend\(|\bVACUUM (ANALYZE|FULL)\b")
    offenders = []
    for path in _files("tui"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
                offenders.append(f"{path.name}: {node.value[:60]!r}")
    assert offenders == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    """The import scan itself works (a test that can fail)."""
    f = tmp_path / "x.py"
    f.write_text("import textual.app\nfrom httpx import AsyncClient\n")
    assert _imports(f) == {"textual.app", "httpx"}
