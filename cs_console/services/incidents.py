"""The incident service: what the TUI, the CLI and the runbook engine call.

    service = await open_incident_service(session)   # cs_console.wiring.incidents
    inc = await service.open(title="DB connections exhausted", severity=Severity.P1)
    await service.record_runbook_step(inc.ref, "db-connection-exhaustion", "kill_idle", "succeeded", "3 sessions")

Every mutation reads the incident, lets the domain workflow decide the events
(validating every rule), and appends them with the seq it read; if another
console appended meanwhile the store refuses, and we re-read and decide again.
So concurrent edits never lose an event and never skip a rule.

The store is chosen by the profile: `store = "local"` (JSON-lines logs under
the state dir; the demo has its own folder) or `store = "postgres"` (team
mode: `team_dsn`, password from the env var named by `team_password_env`).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import random
import uuid
from dataclasses import replace
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cs_console.domain.clock import Clock, SystemClock
from cs_console.domain.health import ComponentHealth
from cs_console.domain.incidents import workflow
from cs_console.domain.incidents.errors import (
    ConcurrentAppend, IncidentError, QueuedForSync, ReadOnlyIncidents, StoreUnavailable, ValidationError,
)
from cs_console.domain.incidents.events import IncidentEvent, format_ts, parse_ts
from cs_console.domain.incidents.model import Incident, Role, Source, fold
from cs_console.domain.incidents.postmortem import export_json, export_markdown
from cs_console.domain.incidents.reference import normalize_ref
from cs_console.domain.incidents.severity import Severity
from cs_console.domain.incidents.status import Status
from cs_console.domain.incidents.store import ChangeCallback, IncidentStore
from cs_console.domain.incidents.triage import Prefill, prefill_from_alert, prefill_from_health
from cs_console.domain.incidents.updates import render_update

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50  # optimistic retries before giving up (only under extreme contention)
# While something waits in the outbox, retry this often (live updates resume as fast).
OUTBOX_RETRY_S = (0.25, 1.0)
# What the operator types that the outbox keeps while the team store is unreachable.
_OUTBOX_NOUN = {"note": "note", "severity": "severity change", "status": "status change", "role": "role change", "update": "stakeholder update"}

Decide = Callable[[Incident, datetime], Sequence[IncidentEvent] | IncidentEvent]


def default_actor() -> str:
    """Who is writing: $CS_CONSOLE_ACTOR (set it where several people share one login), else the OS user."""
    import os

    if os.environ.get("CS_CONSOLE_ACTOR", "").strip():
        return os.environ["CS_CONSOLE_ACTOR"].strip()[:100]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"


class IncidentService:
    def __init__(
        self, store: IncidentStore, *, clock: Clock | None = None, actor: str | None = None,
        environment: str = "", webhook_url: Callable[[], str | None] | None = None,
        webhook_timeout: float = 10.0, outbox: Any = None, flight: Callable[[Incident], Any] | None = None,
        refuse_writes: str = "",
    ) -> None:
        self.store = store
        # Non-empty: every write is refused with this reason (a replay reads the incidents, never edits them).
        self.refuse_writes = refuse_writes
        self.clock = clock or SystemClock()
        self.actor = actor or default_actor()
        self.environment = environment
        self._webhook_url = webhook_url or (lambda: None)
        self.webhook_timeout = webhook_timeout
        self._subscribers: list[ChangeCallback] = []
        # Incidents as last read: later reads fetch only the events after them.
        self._known: dict[str, Incident] = {}
        self._store_unsubscribe: Callable[[], Awaitable[None]] | None = None
        # stores.incident_outbox.IncidentOutbox in team mode: typed changes survive a store outage.
        self.outbox = outbox
        self._flusher: asyncio.Task[None] | None = None
        # incident -> domain.incidents.flight_report.FlightData | None: its flight recording (wiring.recording).
        self.flight = flight

    @property
    def kind(self) -> str:
        return self.store.kind

    @property
    def warnings(self) -> list[str]:
        return self.store.warnings

    def health(self) -> str:
        return self.store.health()

    @property
    def webhook_configured(self) -> bool:
        return bool(self._webhook_url())

    # ------------------------------------------------------------ reading

    async def get(self, ref: str) -> Incident:
        """The incident as the store has it now (never mutated after it is returned)."""
        ref = normalize_ref(ref)
        known = self._known.get(ref)
        if known is None:
            inc = fold(ref, await self.store.load(ref))
        else:
            newer = await self.store.load(ref, known.last_seq)
            inc = fold(ref, newer, base=known) if newer else known
        self._known[ref] = inc
        return inc

    async def list(self, *, include_final: bool = False) -> list[Incident]:
        """Incidents sorted by severity (P0 first), then age (oldest first)."""
        rows = await self.store.index()
        refs = [r["ref"] for r in rows if include_final or not Status(r["status"]).is_final]
        incidents = await asyncio.gather(*(self.get(ref) for ref in refs))
        return sorted(incidents, key=lambda i: (i.severity.rank, i.declared_at or self.clock.now(), i.ref))

    async def export(self, ref: str, fmt: str = "md", *, svg_name: str | None = None) -> str:
        import json

        inc = await self.get(ref)
        now = self.clock.now()
        if fmt in ("md", "markdown"):
            return await self._with_flight(inc, export_markdown(inc, now), svg_name)
        if fmt == "json":
            return json.dumps(export_json(inc, now), indent=2, ensure_ascii=False) + "\n"
        raise IncidentError(f"unknown export format {fmt!r} (expected md or json)")

    async def _flight_data(self, inc: Incident) -> Any:
        """The incident's flight recording as the post-mortem draws it (None: not recorded)."""
        if self.flight is None:
            return None
        try:
            return await asyncio.to_thread(self.flight, inc)
        except Exception as exc:  # noqa: BLE001 - a broken recording must not cost the post-mortem
            log.warning("flight recording not read for %s: %s", inc.ref, exc)
            return None

    async def _with_flight(self, inc: Incident, markdown: str, svg_name: str | None) -> str:
        data = await self._flight_data(inc)
        if data is None:
            return markdown
        from cs_console.domain.incidents.flight_report import render_markdown
        from cs_console.services.flight_report import with_flight_section

        return with_flight_section(markdown, render_markdown(data, svg_name))

    async def flight_svg(self, ref: str) -> str | None:
        """The key metrics of the incident's recording as an SVG chart (None: not recorded)."""
        data = await self._flight_data(await self.get(ref))
        if data is None:
            return None
        from cs_console.domain.incidents.flight_report import render_svg

        return render_svg(data)

    async def export_to_file(self, ref: str, fmt: str, path: Path) -> Path:
        """Write the export atomically (temp file, fsync, rename); one-line error if it cannot."""
        from cs_console.stores.private_files import write_private_atomic

        path = path.expanduser()
        svg_path = path.with_suffix(".svg") if fmt in ("md", "markdown") and path.suffix != ".svg" else None
        svg = await self.flight_svg(ref) if svg_path is not None else None
        text = await self.export(ref, fmt, svg_name=svg_path.name if svg is not None and svg_path is not None else None)

        def write() -> None:
            write_private_atomic(path, text)  # a post-mortem names people and systems: 0600
            if svg is not None and svg_path is not None:
                write_private_atomic(svg_path, svg)  # the charts the Markdown links to, beside it

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise IncidentError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path

    async def update_text(self, ref: str) -> str:
        """The stakeholder update template, filled from the incident as it stands."""
        return render_update(await self.get(ref), self.clock.now())

    # ------------------------------------------------------------ writing

    def check_writable(self) -> None:
        if self.refuse_writes:
            raise ReadOnlyIncidents(self.refuse_writes)

    async def _mutate(self, ref: str, decide: Decide) -> Incident:
        self.check_writable()
        ref = normalize_ref(ref)
        for attempt in range(MAX_ATTEMPTS):
            inc = await self.get(ref)
            drafts = decide(inc, self.clock.now())
            drafts = [drafts] if isinstance(drafts, IncidentEvent) else list(drafts)
            if not drafts:
                return inc
            base = inc.last_seq
            after = fold(ref, [d.placed(base + i) for i, d in enumerate(drafts, start=1)], base=inc)
            try:
                placed = await self.store.append(ref, drafts, base, after.summary_row())
            except ConcurrentAppend:
                # Someone else wrote first: back off a little, re-read, re-decide.
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
                continue
            result = fold(ref, placed, base=inc)
            self._known[ref] = result
            await self._notify(ref)
            return result
        raise StoreUnavailable(f"{ref}: too many concurrent edits; try again")

    async def open(
        self, *, title: str, severity: Severity | None = None, summary: str = "",
        components: Sequence[str] = (), answers: Mapping[str, bool] | None = None,
        override_reason: str = "", source: Source = Source.MANUAL, source_ref: str = "",
        detected_at: datetime | None = None, declared_at: datetime | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> Incident:
        """Declare an incident. Evidence ({"alert": {...}, "snapshot": {...}, "health": {...}})
        is attached to the new timeline right after creation."""
        self.check_writable()
        now = self.clock.now()
        req = workflow.OpenRequest(
            title=title, severity=severity, summary=summary, answers=dict(answers or {}),
            override_reason=override_reason, source=source, source_ref=source_ref,
            components=tuple(components), detected_at=detected_at, declared_at=declared_at,
            environment=self.environment,
        )
        first = workflow.open_incident(req, now, self.actor)
        ref, placed = await self.store.create(now.year, first)
        await self._notify(ref)
        inc = fold(ref, [placed])
        evidence = dict(evidence or {})
        if evidence.get("alert"):
            inc = await self.attach_alert(ref, evidence["alert"])
        snapshot: dict[str, Any] = dict(evidence.get("snapshot") or {})
        if evidence.get("health"):
            snapshot = {"health": evidence["health"], **snapshot}
        if snapshot:
            inc = await self.attach_snapshot(ref, snapshot, label="at declaration")
        return inc

    async def open_from_prefill(
        self, prefill: Prefill, *, severity: Severity | None = None, override_reason: str = "",
        title: str | None = None, summary: str | None = None, answers: Mapping[str, bool] | None = None,
    ) -> Incident:
        return await self.open(
            title=title if title is not None else prefill.title,
            summary=summary if summary is not None else prefill.summary,
            severity=severity, answers=answers if answers is not None else prefill.answers,
            override_reason=override_reason, source=prefill.source, source_ref=prefill.source_ref,
            components=prefill.components, detected_at=prefill.detected_at, evidence=prefill.evidence,
        )

    async def open_from_alert(self, alert: Any, snapshot: Mapping[str, Any] | None = None, **kwargs: Any) -> Incident:
        return await self.open_from_prefill(prefill_from_alert(alert, snapshot), **kwargs)

    async def open_from_health(self, component: ComponentHealth, snapshot: Mapping[str, Any] | None = None, **kwargs: Any) -> Incident:
        return await self.open_from_prefill(prefill_from_health(component, snapshot), **kwargs)

    async def acknowledge(self, ref: str) -> Incident:
        return await self._mutate(ref, lambda inc, now: workflow.acknowledge(inc, now, self.actor))

    async def set_status(self, ref: str, status: Status, *, reason: str = "", merge_into: str = "") -> Incident:
        if status is Status.MERGED and merge_into.strip():
            target = normalize_ref(merge_into)
            if target == normalize_ref(ref):
                raise IncidentError(f"{target}: cannot merge an incident into itself")
            await self.get(target)  # must exist (UnknownIncident otherwise)
        if status is not Status.MERGED:
            return await self._submit(ref, "status", {"status": status.value, "reason": reason})
        inc = await self._mutate(ref, lambda i, now: workflow.change_status(
            i, status, now, self.actor, reason=reason, merge_into=merge_into))
        if status is Status.MERGED:
            await self._mutate(merge_into, lambda t, now: workflow.note_duplicate(t, inc.ref, now, self.actor))
        return inc

    async def set_severity(self, ref: str, severity: Severity, reason: str) -> Incident:
        return await self._submit(ref, "severity", {"severity": severity.value, "reason": reason})

    async def add_note(self, ref: str, text: str, *, pinned: bool = False) -> Incident:
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("note is required")
        return await self._submit(ref, "note", {"text": text, "pinned": pinned})

    async def assign_role(self, ref: str, role: Role, person: str) -> Incident:
        return await self._submit(ref, "role", {"role": role.value, "person": person})

    async def attach_alert(self, ref: str, alert: Any) -> Incident:
        """An alert object (id, title, detail, alert_class, metric, at) or its dict."""
        if not isinstance(alert, Mapping):
            alert = {k: getattr(alert, k, None) for k in ("id", "title", "detail", "alert_class", "metric", "at")}
        return await self._mutate(ref, lambda i, now: workflow.attach_alert(i, alert, now, self.actor))

    async def attach_snapshot(self, ref: str, metrics: Mapping[str, Any], *, label: str = "") -> Incident:
        """A metric snapshot: {metric: value} or {metric: {"value": v, "state": s}}."""
        return await self._mutate(ref, lambda i, now: workflow.attach_snapshot(i, metrics, now, self.actor, label=label))

    async def record_runbook_step(
        self, ref: str, runbook_id: str, step_id: str, outcome: str, detail: str = "", *, run_id: str = "",
    ) -> Incident:
        """For the runbook engine: one timeline event per step transition."""
        return await self._mutate(ref, lambda i, now: workflow.record_runbook_step(
            i, runbook_id, step_id, outcome, detail, now, self.actor, run_id=run_id))

    async def record_update(self, ref: str, body: str, *, channel: str = "clipboard", delivered: bool = True, error: str = "") -> Incident:
        """A stakeholder update that went out (copied, posted, sent by hand): restarts the update timer."""
        return await self._submit(ref, "update", {"body": body, "channel": channel, "delivered": delivered, "error": error})

    async def post_update(self, ref: str, body: str) -> Incident:
        """Post to the profile's webhook (Slack-compatible) and record the outcome."""
        from cs_console.backends.webhook import WebhookError, post_text

        self.check_writable()  # before anything is posted
        url = self._webhook_url()
        if not url:
            raise IncidentError("no stakeholder webhook: set webhook_url_env in the profile to the NAME of an env var holding the URL")
        await self.get(ref)  # a bad reference fails before anything is posted
        try:
            await post_text(url, body, timeout=self.webhook_timeout)
        except WebhookError as exc:
            await self.record_update(ref, body, channel="webhook", delivered=False, error=str(exc))
            raise IncidentError(f"update not delivered: {exc}") from None
        return await self.record_update(ref, body, channel="webhook")

    async def check_item(self, ref: str, item: str, done: bool = True, *, note: str = "") -> Incident:
        return await self._mutate(ref, lambda i, now: workflow.check_item(i, item, done, now, self.actor, note=note))

    async def edit_details(self, ref: str, **fields: Any) -> Incident:
        return await self._mutate(ref, lambda i, now: workflow.edit_details(i, now, self.actor, **fields))

    async def update_postmortem(self, ref: str, fields: Mapping[str, Any]) -> Incident:
        return await self._mutate(ref, lambda i, now: workflow.edit_postmortem(i, fields, now, self.actor))

    async def waive_postmortem(self, ref: str, reason: str) -> Incident:
        return await self._mutate(ref, lambda i, now: workflow.waive_postmortem(i, reason, now, self.actor))

    async def pin(self, ref: str, seq: int, pinned: bool = True) -> Incident:
        return await self._mutate(ref, lambda i, now: workflow.set_pin(i, seq, pinned, now, self.actor))

    # ------------------------------------------------------------ typed changes and the outbox

    def _decider(self, action: str, args: Mapping[str, Any], actor: str) -> Callable[[Incident, datetime], Any]:
        if action == "note":
            return lambda i, now: workflow.add_note(i, args["text"], now, actor, pinned=bool(args.get("pinned")))
        if action == "severity":
            return lambda i, now: workflow.change_severity(i, Severity(args["severity"]), now, actor, args.get("reason", ""))
        if action == "status":
            return lambda i, now: workflow.change_status(i, Status(args["status"]), now, actor, reason=args.get("reason", ""))
        if action == "role":
            return lambda i, now: workflow.assign_role(i, Role(args["role"]), args.get("person", ""), now, actor)
        if action == "update":
            return lambda i, now: workflow.record_update(
                i, args["body"], args.get("channel", "clipboard"), now, actor,
                delivered=bool(args.get("delivered", True)), error=args.get("error", ""))
        raise ValidationError(f"unknown queued change {action!r}")

    async def _apply(self, ref: str, action: str, args: Mapping[str, Any], change_id: str, at: datetime, actor: str) -> Incident:
        """Apply one typed change with ids fixed by `change_id`: applying it twice adds it once."""
        decide = self._decider(action, args, actor)

        def once(inc: Incident, now: datetime) -> list[IncidentEvent]:
            if any(ev.id == change_id or ev.id.startswith(change_id + "-") for ev in inc.events):
                return []  # an earlier sync wrote it and lost only the answer
            drafts = decide(inc, at)  # the time it was typed, even when it syncs later
            drafts = [drafts] if isinstance(drafts, IncidentEvent) else list(drafts)
            return [replace(d, id=change_id if n == 0 else f"{change_id}-{n}") for n, d in enumerate(drafts)]

        return await self._mutate(ref, once)

    async def _submit(self, ref: str, action: str, args: Mapping[str, Any]) -> Incident:
        change_id, at = uuid.uuid4().hex, self.clock.now()
        try:
            return await self._apply(ref, action, args, change_id, at, self.actor)
        except StoreUnavailable as exc:
            if self.outbox is None:
                raise
            reason = str(exc)
        entry = {"id": change_id, "ref": normalize_ref(ref), "action": action, "args": dict(args), "at": format_ts(at), "actor": self.actor}
        try:
            await asyncio.to_thread(self.outbox.add, entry)
        except OSError as exc:
            raise StoreUnavailable(f"{reason}; and the local outbox is not writable ({exc.strerror or exc}): nothing was kept") from None
        self._start_flusher()
        await self._notify(entry["ref"])  # panes show "1 note waiting to sync"
        raise QueuedForSync(f"{entry['ref']}: {_OUTBOX_NOUN.get(action, 'change')} kept locally; {self.outbox_summary()} ({reason})")

    def outbox_summary(self) -> str:
        """ "1 note waiting to sync", "3 changes waiting to sync", or "" when nothing waits."""
        if self.outbox is None:
            return ""
        try:
            pending, rejected = self.outbox.pending(), self.outbox.rejected()
        except OSError as exc:
            return f"outbox unreadable: {exc.strerror or exc}"
        parts: list[str] = []
        if pending:
            actions = {e.get("action") for e in pending}
            noun = _OUTBOX_NOUN.get(next(iter(actions)), "change") if len(actions) == 1 else "change"
            parts.append(f"{len(pending)} {noun}{'' if len(pending) == 1 else 's'} waiting to sync")
        if rejected:
            last = rejected[-1]
            parts.append(f"{len(rejected)} queued change(s) refused when synced (kept in {self.outbox.path}): {last.get('reason', '')}")
        return "; ".join(parts)

    def _start_flusher(self) -> None:
        if self.refuse_writes:
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop(), name="incident-outbox")

    async def _flush_loop(self) -> None:
        delay = OUTBOX_RETRY_S[0]
        while True:
            try:
                left = await self.flush_outbox()
            except OSError:
                left = -1
            if left == 0:
                return
            await asyncio.sleep(delay)
            delay = min(OUTBOX_RETRY_S[1], delay * 2)

    async def flush_outbox(self) -> int:
        """Apply what waits, in the order typed; stop at the first that cannot reach the store.

        Returns how many still wait. A change the store refuses now (the incident was
        closed meanwhile) is kept in the outbox as refused, with the reason, never dropped.
        """
        if self.outbox is None:
            return 0
        pending = await asyncio.to_thread(self.outbox.pending)
        if self.refuse_writes:
            return len(pending)  # kept for the live console: never applied, nor marked refused, here
        for n, entry in enumerate(pending):
            try:
                at = parse_ts(entry["at"]) if isinstance(entry.get("at"), str) else self.clock.now()
                await self._apply(entry["ref"], entry["action"], entry.get("args") or {}, entry["id"], at, entry.get("actor") or self.actor)
            except StoreUnavailable:
                return len(pending) - n
            except (IncidentError, KeyError, ValueError) as exc:
                await asyncio.to_thread(self.outbox.mark_rejected, entry["id"], str(exc) or type(exc).__name__)
                await self._notify(entry.get("ref"))
                continue
            await asyncio.to_thread(self.outbox.mark_done, entry["id"])
            await self._notify(entry["ref"])
        return 0

    # ------------------------------------------------------------ live updates

    async def subscribe(self, callback: ChangeCallback) -> Callable[[], Awaitable[None]]:
        """callback(ref) after any change, ours or another console's. Returns an async unsubscribe."""
        self._subscribers.append(callback)
        if self._store_unsubscribe is None:
            self._store_unsubscribe = await self.store.subscribe(self._on_store_change)
            if self.outbox_summary():
                self._start_flusher()  # left by an earlier session that could not sync

        async def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            if not self._subscribers and self._store_unsubscribe is not None:
                stop, self._store_unsubscribe = self._store_unsubscribe, None
                await stop()

        return unsubscribe

    async def _on_store_change(self, ref: str | None) -> None:
        if ref is None and self.outbox is not None:
            self._start_flusher()  # the store is back (a reconnect): sync what waits
        await self._notify(ref)

    async def _notify(self, ref: str | None) -> None:
        for callback in list(self._subscribers):
            try:
                result = callback(ref)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a broken subscriber must not break the write path
                log.exception("incident subscriber failed")

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()  # what waits stays in the outbox for the next session
        if self._store_unsubscribe is not None:
            stop, self._store_unsubscribe = self._store_unsubscribe, None
            await stop()
        self._subscribers.clear()
        await self.store.close()


def default_export_path(ref: str, fmt: str = "md") -> Path:
    from cs_console.config import state_dir

    return state_dir() / "exports" / f"{ref}-postmortem.{'json' if fmt == 'json' else 'md'}"


def live_snapshot(live: Any) -> dict[str, Any]:
    """The console's live state as evidence: {metric: {"value", "state"}} plus health.

    `live` is the monitor's LiveState (snapshot, states, health); read duck-typed
    so this stays usable from any caller.
    """
    out: dict[str, Any] = {}
    snapshot = getattr(live, "snapshot", None)
    states = {getattr(e, "metric", ""): e for e in (getattr(live, "states", None) or {}).values()}
    if snapshot is not None:
        for key, sample in getattr(snapshot, "samples", {}).items():
            value = getattr(sample, "value", None)
            entry: dict[str, Any] = {"value": value}
            state = states.get(key)
            if state is not None:
                entry["state"] = str(getattr(state, "state", ""))
            if getattr(sample, "note", ""):
                entry["note"] = sample.note
            out[key] = entry
        at = getattr(snapshot, "at", None)
        if at is not None:
            out["_at"] = at
    health = getattr(live, "health", None)
    if health is not None:
        out["_health"] = {c.name: f"{c.status.value}{': ' + c.detail if c.detail else ''}" for c in health.components}
    return out
