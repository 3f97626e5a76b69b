"""One rule for the team store's absence, for every step above `read`.

In team mode (profile `store = "postgres"`) the team audit and the team run
lock are what tell the other operators what is being done. When the team
store cannot be reached, a step above `read` is **refused** ("nothing was
run"), unless the profile says `allow_without_team_store = true`: then it
runs in a visible, audited degradation: a `degraded` audit record (kept
locally, like every record the team store missed), a line in the step's
output, and an engine warning. Never silently. Read steps are not affected:
looking does not need the team to know.

The rule lives in the engine, so the CLI, the TUI and `serve` all obey it.
"""

from __future__ import annotations

from cs_console.domain.runbooks.schema import Step
from cs_console.services.runbooks.core import EngineCore

ALLOW_KEY = "allow_without_team_store"


class TeamStoreRule(EngineCore):
    async def _team_store_problem(self) -> str:
        check = getattr(self.audit, "team_problem", None)
        if check is None:
            return ""  # an audit sink without team mode (tests, the demo)
        try:
            return str(await check())
        except Exception as exc:
            return f"the team store cannot be checked ({type(exc).__name__})"

    async def _team_store_status(self, step: Step) -> tuple[str, str]:
        """(refusal, degradation) for this step: both "" when the team store answers or the step only reads."""
        if not step.risk.mutating:
            return "", ""
        problem = await self._team_store_problem()
        if not problem:
            return "", ""
        if not bool(getattr(self.profile, ALLOW_KEY, False)):
            return (f"{problem}: a {step.risk.value} step needs the team audit and lock, nothing was run "
                    f"(a profile may allow it, warned and audited: {ALLOW_KEY} = true)"), ""
        return "", f"{problem}; {step.risk.value} step run without the team audit ({ALLOW_KEY} = true)"

    async def _team_store_refusal(self, step: Step) -> str:
        """Why this step must not run now ("" when it may; a degradation is announced and audited here)."""
        refusal, degradation = await self._team_store_status(step)
        if degradation:
            await self._degraded(degradation, step)
        return refusal

    async def _degraded(self, note: str, step: Step | None = None) -> None:
        """Make the degradation visible (output line, warning) and audited (locally at least)."""
        text = f"degraded: {note}"
        if text not in self.warnings:
            self.warnings.append(text)
        if self.on_output is not None and step is not None:
            try:
                self.on_output(step.id, f"warning: {text}")
            except Exception:
                pass
        await self._audit("degraded", step=step, outcome="team-store-down", detail=note)
