"""The house's arrows: import-linter contracts (pyproject.toml) run by the suite, plus what a
static import graph cannot see (importlib imports, SQL in the TUI, what importing loads)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "cs_console"


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, str(config), "--no-cache"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def test_import_linter_contracts_are_kept() -> None:
    result = _lint(REPO / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_the_linter_sees_our_imports(tmp_path: Path) -> None:
    """A contract our code breaks must be reported broken (the linter really reads the tree)."""
    config = tmp_path / "lint.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "cs_console"\n\n'
        '[[tool.importlinter.contracts]]\nname = "tui may not import the domain"\ntype = "forbidden"\n'
        'source_modules = ["cs_console.tui"]\nforbidden_modules = ["cs_console.domain"]\n'
    )
    result = _lint(config)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def _layer_order() -> list[set[str]]:
    contract = next(c for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return [set(re.split(r"\s*[:|]\s*", layer)) for layer in contract["layers"]]


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _dynamic_imports(path: Path) -> list[str]:
    """Targets of importlib.import_module("cs_console...") / f"cs_console.{x}" (the prefix)."""
    targets = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                targets.append(arg.value)
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                targets.append(str(arg.values[0].value).rstrip("."))
    return [t for t in targets if t.startswith("cs_console.")]


def test_importlib_imports_follow_the_layers() -> None:
    """import-linter reads `import` statements only; a module loaded by name must obey the same order."""
    order = _layer_order()
    rank = {name: i for i, layer in enumerate(order) for name in layer}
    bad = []
    seen = 0
    for path in sorted(ROOT.rglob("*.py")):
        importer = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for target in _dynamic_imports(path):
            seen += 1
            src, dst = _top(importer), _top(target)
            if src != dst and rank.get(src, -1) > rank.get(dst, len(order)):
                bad.append(f"{importer} loads {target}")
    assert seen, "no importlib imports found: the scan is broken"
    assert bad == []


def test_importing_the_domain_loads_no_ui_or_io_library() -> None:
    code = (
        "import pkgutil, importlib, sys, cs_console.domain as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'cs_console.domain.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted(k for k in ('textual', 'rich', 'asyncpg', 'httpx') if k in sys.modules)))\n"
        "print(sum(1 for k in sys.modules if k.startswith('cs_console.domain.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded, count = result.stdout.splitlines()
    assert loaded == ""
    assert int(count) > 30  # every domain module was imported


def test_tui_builds_no_sql() -> None:
    """SQL lives in backends; the TUI only sends intentions."""
    # SQL shapes, not English: "select an alert ... from" in help text is fine.
    sql = re.compile(r"\bSELECT\b.+\bFROM\b|\bselect\b.+\bfrom\s+(pg_|information_schema|cs_console\.)|INSERT INTO|\bUPDATE \w+ SET\b|DELETE FROM|pg_terminate_backend\(|\bVACUUM (ANALYZE|FULL)\b")
    offenders = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
                offenders.append(f"{path.name}: {node.value[:60]!r}")
    assert offenders == []


def test_no_module_is_a_warehouse() -> None:
    """Rooms, not warehouses: no module over ~500 lines (a little headroom for the app and the wizard)."""
    limit = 540
    big = [f"{p.relative_to(REPO)}: {n}" for p in sorted(ROOT.rglob("*.py")) if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit]
    assert big == []
