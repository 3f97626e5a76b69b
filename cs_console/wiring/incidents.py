"""The incident service for a session: the local store or the team PostgreSQL store, chosen
by the profile (`Session.team_store`). Built here, in the composition root, like every store."""

from __future__ import annotations

from pathlib import Path

from cs_console.config import state_dir
from cs_console.domain.clock import Clock
from cs_console.domain.incidents.errors import StoreUnavailable
from cs_console.domain.incidents.store import IncidentStore
from cs_console.services.incidents import IncidentService
from cs_console.services.session import Session
from cs_console.wiring.flight import incident_flight


def local_store_root(session: Session) -> Path:
    """<state>/incidents/<namespace>: the demo never mixes with a real environment."""
    namespace = "demo" if session.demo is not None else session.profile.name
    return state_dir() / "incidents" / namespace


REPLAY_REFUSAL = "this is a replay (a recording): incidents are read-only here; edit them in the live console"


async def open_incident_service(session: Session, *, clock: Clock | None = None, actor: str | None = None) -> IncidentService:
    """The service for this session's profile (raises StoreUnavailable for a bad team store)."""
    profile = session.profile
    store: IncidentStore
    outbox = None
    target = session.team_store
    if target is not None:
        from cs_console.stores.incident_store_pg import PgIncidentStore

        if not target.dsn:
            raise StoreUnavailable("store = \"postgres\" needs team_dsn in the profile")
        from cs_console.stores.incident_outbox import IncidentOutbox

        store = await PgIncidentStore.connect(target.dsn, password=target.password)
        outbox = IncidentOutbox(state_dir(), profile.name)
    else:
        from cs_console.stores.incident_store_local import LocalIncidentStore

        store = LocalIncidentStore(local_store_root(session))
    return IncidentService(
        store, clock=clock, actor=actor, environment=session.environment_label,
        webhook_url=lambda: profile.secret("webhook_url_env"), outbox=outbox,
        flight=incident_flight(session),  # the post-mortem draws the incident's flight recording
        refuse_writes=REPLAY_REFUSAL if session.replay else "",
    )

