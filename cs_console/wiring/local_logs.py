"""Local log files and stdin (`file:PATH`, `-`): every environment can open them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cs_console.domain.sources import LogSource


def open_local_log(spec: str) -> LogSource:
    """`file:PATH` or `-`. Raises backends.log_files.file_source.LocalLogSourceError when it cannot be read.

    The backend is imported on first use: most sessions never open a local file, and its
    import costs ~0.1 s of startup.
    """
    from cs_console.backends.log_files import open_local_log_source

    return open_local_log_source(spec)


def open_indexed_log(spec: str, now: Callable[[], datetime]) -> Any:
    """`file:PATH` of a regular file as an IndexedLogFile (read in place through a line
    index, not buffered record by record); None for a FIFO or a device. Raises
    LocalLogSourceError when it cannot be read."""
    from cs_console.backends.log_files.indexed_file import open_indexed_log as open_indexed

    return open_indexed(spec, now)
