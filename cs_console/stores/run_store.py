"""Run state files: ``state_dir()/runs/<run_id>.json``, rewritten atomically after every transition.

- Save = write ``<id>.json.tmp``, fsync, rename over ``<id>.json``, fsync the
  directory: a crash leaves the previous or the new state, never a torn one.
- Liveness: the process running a run holds an exclusive ``flock`` on
  ``<id>.lock``. A run whose status says running/waiting but whose lock
  anybody can take was cut off (SSH dropped, SIGHUP, SIGKILL): it is
  *interrupted* and offered for resumption. flock dies with the process, so
  a reused pid never fakes liveness.
- Per-run artifacts (backups, outputs) go under ``runs/<run_id>/``.
- The engine saves and loads through the async methods: the file work and its
  fsyncs run in a thread, never on the console's event loop; each save is awaited,
  so saves land in the order of the transitions.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cs_console.domain.runbooks.run_state import Run, RunStatus

RUNS_DIR = "runs"


class RunStoreError(OSError):
    pass


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class RunSummary:
    run_id: str
    runbook_id: str
    status: str
    profile: str
    started_at: str
    updated_at: str
    interrupted: bool
    current: str | None
    unknown_steps: list[str]


class RunStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._held: dict[str, int] = {}  # run_id -> fd of the flock we hold

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> "RunStore":
        return cls(state_dir / RUNS_DIR)

    def path(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunStoreError(f"not a run id: {run_id!r}")
        return self.root / f"{run_id}.json"

    def artifacts_dir(self, run_id: str) -> Path:
        d = self.root / run_id
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    # ---------------------------------------------------------------- liveness

    def claim(self, run_id: str) -> bool:
        """Take the run's liveness lock; False if another live process holds it."""
        if run_id in self._held:
            return True
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / f"{run_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._held[run_id] = fd
        return True

    def release(self, run_id: str) -> None:
        fd = self._held.pop(run_id, None)
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def is_live_elsewhere(self, run_id: str) -> bool:
        """Another process holds this run right now."""
        if run_id in self._held:
            return False
        lock = self.root / f"{run_id}.lock"
        if not lock.exists():
            return False
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    # The engine's side of the protocol (the team store's are real coroutines).
    async def claim_async(self, run_id: str) -> bool:
        return self.claim(run_id)

    async def release_async(self, run_id: str) -> None:
        self.release(run_id)

    async def is_live_elsewhere_async(self, run_id: str) -> bool:
        return self.is_live_elsewhere(run_id)

    # ---------------------------------------------------------------- state

    async def save(self, run: Run) -> None:
        # Encoded here, on the caller's side: the file holds the run as it was at this transition.
        target = self.path(run.run_id)
        data = json.dumps(run.to_dict(), ensure_ascii=False, indent=1, default=str).encode("utf-8")
        await asyncio.to_thread(self._write, target, data)

    def _write(self, target: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_suffix(".json.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            _fsync_dir(self.root)
        except OSError as exc:
            raise RunStoreError(f"cannot save run state {target}: {exc.strerror or exc}") from None

    async def load_async(self, run_id: str) -> Run:
        return await asyncio.to_thread(self.load, run_id)

    def load(self, run_id: str) -> Run:
        path = self.path(run_id)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunStoreError(f"no run {run_id!r} in {self.root}") from None
        except (OSError, ValueError) as exc:
            raise RunStoreError(f"run state {path} is unreadable ({type(exc).__name__})") from None
        try:
            return Run.from_dict(raw)
        except (TypeError, ValueError, KeyError) as exc:
            raise RunStoreError(f"run state {path} is not a run ({exc})") from None

    def list_runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        runs = []
        for p in sorted(self.root.glob("*.json")):
            try:
                runs.append(self.load(p.stem))
            except RunStoreError:
                continue
        return runs

    def is_interrupted(self, run: Run) -> bool:
        return run.status in (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.REFUSED) and not self.is_live_elsewhere(run.run_id) \
            and run.run_id not in self._held

    def interrupted_runs(self, runbook_id: str | None = None, profile: str | None = None) -> list[Run]:
        """Runs cut off (or stopped at a gate) that can be resumed, newest first."""
        out = [
            r for r in self.list_runs()
            if self.is_interrupted(r) and (runbook_id is None or r.runbook_id == runbook_id)
            and (profile is None or r.profile == profile)
        ]
        return sorted(out, key=lambda r: r.started_at, reverse=True)

    def summaries(self) -> list[RunSummary]:
        out = []
        for r in self.list_runs():
            order = list(r.steps)
            out.append(RunSummary(r.run_id, r.runbook_id, r.status.value, r.profile, r.started_at, r.updated_at,
                                  self.is_interrupted(r), r.first_open_step(order), r.unknown_steps))
        return sorted(out, key=lambda s: s.started_at, reverse=True)


def summary_dict(s: RunSummary) -> dict[str, Any]:
    return dict(s.__dict__)
