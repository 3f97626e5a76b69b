"""Running ../shared/tools/ptyprobe.py from the benchmarks (shared by every benchmark)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_TOOLS = Path(os.environ.get("CS_SHARED_TOOLS", REPO.parent / "shared" / "tools"))
PTYPROBE = SHARED_TOOLS / "ptyprobe.py"


def cs_console_cmd(*args: str) -> list[str]:
    exe = shutil.which("cs-console")
    return [exe, *args] if exe else [sys.executable, "-m", "cs_console", *args]


def probe(cmd: list[str], *options: str, env: dict[str, str] | None = None) -> dict:
    """One ptyprobe run; returns its JSON report."""
    if not PTYPROBE.exists():
        raise SystemExit(f"ptyprobe not found at {PTYPROBE} (set CS_SHARED_TOOLS)")
    home = tempfile.mkdtemp(prefix="cs-bench-home-")
    env_args: list[str] = []
    for key, value in {"HOME": home, "XDG_CONFIG_HOME": f"{home}/.config", "XDG_STATE_HOME": f"{home}/.state", **(env or {})}.items():
        env_args += ["--env", f"{key}={value}"]
    out = subprocess.run([sys.executable, str(PTYPROBE), *env_args, *options, "--json", "--", *cmd], capture_output=True, text=True)
    shutil.rmtree(home, ignore_errors=True)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"ptyprobe failed: {out.stderr[-500:]}") from None


def median_of(runs: list[dict], path: str) -> float | None:
    values = []
    for run in runs:
        node = run
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (int, float)):
            values.append(float(node))
    return statistics.median(values) if values else None
