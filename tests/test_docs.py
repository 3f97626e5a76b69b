"""The README and the references beside the code: every relative link resolves inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "cs_console").rglob("*.md")), *sorted((REPO / "tests").rglob("*.md"))]


def test_every_relative_link_resolves_inside_the_repository() -> None:
    broken = []
    checked = 0
    for doc in _docs():
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # absolute URLs and in-page anchors
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            checked += 1
            if not path.exists() or REPO not in (path, *path.parents):
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert checked >= 10, "no links found: the scan is broken"
    assert broken == []


def test_the_readme_stays_a_guide() -> None:
    """The long references live beside their code; the README is read in ten minutes."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220
