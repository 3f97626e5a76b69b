"""The Runbooks pane's team section (team mode): the team's runs in progress and the approvals they wait for.

Live: the feed (``services/runbooks/team_feed.py``) reads the team store when it starts and
after every NOTIFY. A request from another engineer raises a notice once. ``a`` approves
a request of another engineer (their exact call shown, the phrase typed by you), ``x``
rejects one (a reason), ``t`` takes over a run whose owner's console is gone (the run id
typed); with several, a picker asks which first (``runbooks_team_actions.py``). Runs of
your own whose console is gone are resumed with ``u``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.content import Content

from cs_console.domain.runbooks.approval import who
from cs_console.domain.safe_text import safe_text

MAX_LINES = 6


def _since(value: datetime | None) -> str:
    return value.strftime("%H:%M:%S UTC") if value is not None else "-"


def team_lines(snapshot: Any) -> Content:
    """The section's text: one line per run, then the requests to decide."""
    if snapshot is None:
        return Content("Team runs: reading the team store…")
    if snapshot.problem:
        return Content.assemble(("Team runs: ", "bold"), (safe_text(snapshot.problem, 200), "$warning"))
    bits: list[Any] = [("Team runs in progress: ", "bold"), str(len(snapshot.runs))]
    if not snapshot.live:
        bits += ["  ", ("live updates off, reconnecting", "$warning")]
    to_decide = snapshot.to_decide
    if to_decide:
        pick = " (you choose which)" if len(to_decide) > 1 else ""
        bits += ["  ", (f"{len(to_decide)} waiting for your approval: a approves, x rejects{pick}", "$warning bold")]
    for run in snapshot.runs[:MAX_LINES]:
        state = ("live", "$success") if run.live else ("owner gone: t takes over", "$error bold")
        bits += ["\n  ", safe_text(f"{run.run_id}  {run.runbook_id}  by {run.owner}  at {run.current_step or '-'} "
                                    f"since {_since(run.since)}  ", 200), state]
        if run.pending_approvals:
            bits += ["  ", (f"waiting for approval: {', '.join(run.pending_approvals)}", "$warning")]
    if len(snapshot.runs) > MAX_LINES:
        bits.append(f"\n  … {len(snapshot.runs) - MAX_LINES} more (cs-console runbook runs --team)")
    return Content.assemble(*bits)


def new_requests(snapshot: Any, seen: set[int]) -> list[Any]:
    """Requests of other engineers not announced yet (and remember them)."""
    fresh = [r for r in snapshot.to_decide if r.id not in seen] if snapshot is not None and not snapshot.problem else []
    seen.update(r.id for r in fresh)
    return fresh


def request_notice(req: Any) -> str:
    return safe_text(f"{who(req.requested_by)} asks for a second person's approval: {req.runbook_id}/{req.step_id} "
                     f"on {req.target} (Runbooks pane: a approves, x rejects)", 300)


def request_option(req: Any) -> tuple[str, Content]:
    """A request as the picker lists it: who asks, for which step, on what, since when, and the call."""
    call = next((line for line in req.what.splitlines() if line.strip()), "")
    return str(req.id), Content.assemble(
        safe_text(f"{who(req.requested_by)} · {req.runbook_id}/{req.step_id} · on {req.target} · "
                  f"asked {_since(req.requested_at)} · run {req.run_id}", 200),
        "\n  ", (safe_text(call, 160), "$text-muted"))


def gone_option(run: Any) -> tuple[str, Content]:
    """A run whose owner's console is gone, as the take-over picker lists it."""
    return run.run_id, Content(safe_text(f"{run.run_id} · {run.runbook_id} · by {run.owner} · at {run.current_step or '-'} "
                                         f"since {_since(run.since)}", 200))


def my_gone_runs(snapshot: Any, catalog: Any) -> list[Any]:
    """This engineer's runs whose console is gone, as the resume offer lists them."""
    from cs_console.services.runbooks.runs import InterruptedRun

    if snapshot is None or snapshot.problem or catalog is None:
        return []
    out = []
    for run in snapshot.gone():
        rb = catalog.get(run.runbook_id)
        if rb is not None and run.owner_user == str(snapshot.me.get("user", "")):
            out.append(InterruptedRun(run.run_id, run.runbook_id, rb.title, run.started_at.isoformat(), run.status,
                                      run.current_step))
    return out


def others_gone_runs(snapshot: Any) -> list[Any]:
    if snapshot is None or snapshot.problem:
        return []
    return [r for r in snapshot.gone() if r.owner_user != str(snapshot.me.get("user", ""))]
