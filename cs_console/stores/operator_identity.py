"""Who is at the keyboard: the OS user, the SSH client's address, the host, pid and tty.

Recorded in every audit record and in the run lock's holder, so a refused operator
is told who to talk to. Read from the process and its environment, never asked.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any


def ssh_client_address(environ: Mapping[str, str] | None = None) -> str:
    """The SSH client's address from SSH_CLIENT / SSH_CONNECTION ("" when local)."""
    env = environ if environ is not None else dict(os.environ)
    for var in ("SSH_CLIENT", "SSH_CONNECTION"):
        value = env.get(var, "").strip()
        if value:
            return value.split()[0]
    return ""


def operator_name() -> str:
    """The OS user (getpass reads LOGNAME/USER/... then the passwd entry, absent in some containers)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def operator_identity(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    user = operator_name()
    tty = ""
    try:
        tty = os.ttyname(0)
    except OSError:
        pass
    # The uid is the kernel's word (LOGNAME can be set by anyone): the two-person rule compares it too.
    return {"user": user, "uid": os.geteuid(), "ssh_client": ssh_client_address(environ), "host": socket.gethostname(),
            "pid": os.getpid(), "tty": tty}
