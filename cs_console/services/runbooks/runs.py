"""Runs that can be resumed: what the Runbooks pane offers when it opens.

A run is resumable when it stopped before its end (a dropped SSH link, a
closed console, a step waiting for the operator) and no live process holds it.
The engine does the resuming; this only lists them, for the current profile,
with where each would continue and whether its runbook file changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_console.stores.run_store import RunStore


@dataclass(frozen=True)
class InterruptedRun:
    run_id: str
    runbook_id: str
    title: str
    started_at: str
    status: str
    current: str | None  # the step it continues at
    unknown_steps: tuple[str, ...] = ()
    changed: bool = False  # the runbook file changed since the run started


def interrupted_runs(store: "RunStore", profile: str, catalog: Any) -> list[InterruptedRun]:
    """Newest first; runs of runbooks no longer in the catalog are left out."""
    try:
        runs = store.interrupted_runs(profile=profile)
    except OSError:
        return []
    out: list[InterruptedRun] = []
    for r in runs:
        rb = catalog.get(r.runbook_id) if catalog is not None else None
        if rb is None:
            continue
        order = [s.id for s in rb.steps]
        out.append(InterruptedRun(r.run_id, r.runbook_id, rb.title, r.started_at, r.status.value,
                                  r.first_open_step(order), tuple(r.unknown_steps), r.runbook_sha256 != rb.sha256))
    return out
