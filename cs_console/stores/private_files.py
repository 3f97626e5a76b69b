"""Files as private as what they hold: everything the console writes is 0600 (folders 0700).

Dumps, exports, post-mortems, the audit and the run state carry customer data
or the details of an incident. Two layers, so one forgotten `open()` is not a leak:

- the process umask is 077 from the CLI's first line (and the step watchdog
  sets it again for every step: a `pg_dump --file` is 0600 too); only a runbook step
  that says so opens one up (`chmod 640` of a dump in the team's group-shared backups_dir);
- the writers create their files through :func:`open_private` /
  :func:`write_private_atomic` with an explicit 0600 mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_umask() -> int:
    """Make files created from now on private; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)


def open_private(path: Path, mode: str = "w") -> IO[str]:
    """A text file opened for writing ("w" truncates, "a" appends), created 0600 (an existing one made 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        pass  # not ours to change (a file the operator named): the content is still written
    return os.fdopen(fd, mode, encoding="utf-8")


def write_private_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` 0600 via a temp file, fsync and rename."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    with open_private(tmp) as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
