"""Log records of one simulated second, per source, shaped like the Supabase log tables.

Each (source, second) draws from its own RNG seeded by (seed, source, second)
and from the model's rates for that second, so any window is generated
directly, in any order, and always the same. Sources: function
(function_logs + function_edge_logs), edge (edge_logs: the API gateway,
auth requests included), auth (auth_logs), postgres (postgres_logs).
"""

from __future__ import annotations

from cs_console.backends.demo.logs.auth import AuthEvent, auth_events, auth_records
from cs_console.backends.demo.logs.edge import edge_records
from cs_console.backends.demo.logs.functions import function_records
from cs_console.backends.demo.logs.postgres import postgres_records
from cs_console.backends.demo.logs.second import SortedRecords
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import LogRecord

SOURCES: tuple[str, ...] = ("function", "edge", "auth", "postgres")


def records_for_second(project: DemoProject, s: int, sources: tuple[str, ...]) -> list[LogRecord]:
    """The records of the given sources in second s, oldest first (one merged list)."""
    sig = project.log_signals(s)
    out = SortedRecords()
    events: list[AuthEvent] | None = None
    if "auth" in sources or "edge" in sources:
        events = auth_events(project, s, sig)
    if "function" in sources:
        function_records(project, s, sig, out)
    if "edge" in sources:
        edge_records(project, s, sig, events or [], out)
    if "auth" in sources:
        auth_records(project, s, events or [], out)
    if "postgres" in sources:
        postgres_records(project, s, sig, out)
    return out.sorted()
