"""Local log files and stdin (`file:PATH`, `-`): every environment can open them."""

from __future__ import annotations

from cs_console.domain.sources import LogSource


def open_local_log(spec: str) -> LogSource:
    """`file:PATH` or `-`. Raises backends.log_files.file_source.LocalLogSourceError when it cannot be read.

    The backend is imported on first use: most sessions never open a local file, and its
    import costs ~0.1 s of startup.
    """
    from cs_console.backends.log_files import open_local_log_source

    return open_local_log_source(spec)
