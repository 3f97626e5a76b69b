"""Edge Function logs (function_edge_logs and function_logs): one invocation line plus its console lines."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from cs_console.backends.demo.logs.second import ORGS, Second, SortedRecords, draw_count
from cs_console.backends.demo.model.catalog import FAILING_FUNCTION, FUNCTIONS, PROJECT_HOST, PROJECT_REF
from cs_console.backends.demo.model.performance import Signals
from cs_console.backends.demo.model.project import DemoProject
from cs_console.domain.log_record import Level, LogRecord

_Template = Callable[[random.Random], str]


def _org(r: random.Random) -> str:
    return ORGS[int(r.random() * len(ORGS))]


def _conv(r: random.Random) -> int:
    return 8_800_000 + int(r.random() * 90_000)


_INFO_LINES: dict[str, tuple[_Template, ...]] = {
    "ingest-webhook": (
        lambda r: f"received {1 + int(r.random() * 6)} events from intercom ({_org(r)})",
        lambda r: f"received {1 + int(r.random() * 6)} events from zendesk ({_org(r)})",
        lambda r: f"queued {1 + int(r.random() * 6)} conversations for processing",
    ),
    "monitor-keywords": (
        lambda r: f"scanning {200 + int(r.random() * 2000)} new messages for {12 + int(r.random() * 40)} keywords ({_org(r)})",
        lambda r: f'matched "refund" in conversation {_conv(r)} (score 0.{10 + int(r.random() * 89)})',
        lambda r: f'matched "cancel" in conversation {_conv(r)} (score 0.{10 + int(r.random() * 89)})',
        lambda r: f"queued {1 + int(r.random() * 4)} alerts",
    ),
    "process-conversations": (
        lambda r: f"processed conversation {_conv(r)}: {2 + int(r.random() * 30)} messages, sentiment -0.{10 + int(r.random() * 89)}",
        lambda r: f"classified conversation {_conv(r)} as billing (0.{10 + int(r.random() * 89)})",
        lambda r: f"processed conversation {_conv(r)}: {2 + int(r.random() * 30)} messages, sentiment 0.{10 + int(r.random() * 89)}",
    ),
    "send-alerts": (
        lambda r: f"sent {1 + int(r.random() * 4)} alerts to slack #cs-alerts ({_org(r)})",
        lambda r: f"sent alert {990_000 + int(r.random() * 9_000)} by email to {1 + int(r.random() * 5)} recipients",
    ),
    "sync-integrations": (
        lambda r: f"synced {50 + int(r.random() * 900)} contacts from hubspot ({_org(r)}) in 1.{int(r.random() * 10)}s",
        lambda r: f"salesforce: {int(r.random() * 40)} changes since last sync ({_org(r)})",
    ),
}
_BASE_ERRORS: dict[str, tuple[tuple[int, str], ...]] = {
    "ingest-webhook": ((500, "Error: upstream Intercom API returned 502 Bad Gateway"),
                       (500, "Error: invalid webhook payload: missing conversation.id")),
    "monitor-keywords": ((500, "Error: keyword regex timed out after 250ms: /(price|pricing).*increase/i"),),
    "process-conversations": ((500, "Error: OpenAI API returned 429: Rate limit reached for gpt-4o-mini"),),
    "send-alerts": ((500, "Error: Slack API returned 429 (ratelimited), retry after 30s"),
                    (500, "Error: SMTP 451 4.7.1 temporary failure, try again later")),
    "sync-integrations": ((500, "Error: HubSpot API returned 502 Bad Gateway"),
                          (500, "Error: Salesforce session expired (INVALID_SESSION_ID)")),
}
_STACK = "\n    at {fn} (file:///src/functions/{slug}/index.ts:{line}:{col})\n    at async Server.<anonymous> (file:///src/functions/{slug}/index.ts:12:20)"
_TYPE_ERROR = ("TypeError: Cannot read properties of undefined (reading 'sentiment')\n    at scoreMessage "
               "(file:///src/functions/process-conversations/index.ts:88:31)\n    at Array.map (<anonymous>)\n"
               "    at processConversation (file:///src/functions/process-conversations/index.ts:141:22)")
_LEVELS = {"log": Level.INFO, "info": Level.INFO, "debug": Level.DEBUG, "warn": Level.WARN, "error": Level.ERROR}


def function_records(project: DemoProject, s: int, sig: Signals, out: SortedRecords) -> None:
    sec = Second(project.seed, "function", s)
    rng = sec.rng
    random_ = rng.random
    exp = math.exp
    db = sig.db
    tau = project.ctx.tau(s)
    failing_deploy = project.ctx.scenario == "function-failures" and tau is not None
    db_trouble = db.at_capacity or db.blocked or db.restarting
    for spec in FUNCTIONS:
        fn = sig.fns[spec.slug]
        slug = spec.slug
        deployment = f"{PROJECT_REF}_{spec.id}_{fn.version}"
        pathname = f"/functions/v1/{slug}"
        message_ok = f"POST | 200 | {PROJECT_HOST}{pathname}"
        version = str(fn.version)
        redeployed = project.timeline.last("redeploy_function", s, target=slug)
        boot_p = 0.04 + (0.5 if redeployed is not None and s - redeployed.at < 20 else 0.0)
        err_p = fn.error_pct / 100.0
        templates = _INFO_LINES[slug]
        mean = fn.avg_ms
        for _ in range(draw_count(rng, fn.rpm / 60.0)):
            frac = random_() * 0.97
            exec_id = sec.id()
            lines: list[tuple[str, str, str]] = []  # (event_type, level, message)
            if random_() < boot_p:
                lines.append(("Boot", "log", f"booted (time: {20 + int(random_() * 30)}ms)"))
            if random_() < err_p:
                r = random_()
                if fn.status == "THROTTLED" and r < 0.6:
                    status, duration = 429, 2.0
                    lines = []
                elif r < fn.db_error_share and db_trouble:
                    if db.at_capacity or db.restarting:
                        msg = ("PostgresError: remaining connection slots are reserved for non-replication superuser connections"
                               if random_() < 0.6 else "Error: Connection terminated due to connection timeout")
                        duration = 5000.0 + random_() * 300
                    else:
                        msg = "PostgresError: canceling statement due to statement timeout"
                        duration = 8000.0 + random_() * 200
                    status = 500
                    lines.append(("UncaughtException", "error", msg + _STACK.format(fn="claimQueueItems", slug=slug, line=54, col=9)))
                elif failing_deploy and slug == FAILING_FUNCTION and r < 0.97:
                    kind = random_()
                    if kind < 0.5:
                        status, duration = 500, 150.0 + random_() * 250
                        lines.append(("UncaughtException", "error", _TYPE_ERROR))
                    elif kind < 0.9:
                        status, duration = 500, 10_000.0 + random_() * 2_500
                        lines.append(("Log", "warn", "retrying sentiment API call (attempt 2/3)"))
                        lines.append(("Log", "error", "Error: sentiment API request timed out after 10000ms"))
                    else:
                        status, duration = 546, 150_000.0
                        lines.append(("Shutdown", "error", "wall clock limit reached"))
                else:
                    errors = _BASE_ERRORS[slug]
                    status, msg = errors[int(random_() * len(errors))]
                    duration = mean * exp(0.5 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.125)
                    lines.append(("Log", "error", msg))
            else:
                status = 200
                duration = mean * exp(0.55 * (random_() + random_() + random_() - 1.5) * 2.0 - 0.151)
                if random_() < 0.55:
                    lines.append(("Log", "info", templates[int(random_() * len(templates))](rng)))
            ts, us = sec.ts(frac)
            message = message_ok if status == 200 else f"POST | {status} | {PROJECT_HOST}{pathname}"
            rec_id = sec.id()
            raw = {
                "id": rec_id, "timestamp": us, "event_message": message, "status_code": status, "method": "POST",
                "pathname": pathname, "function_id": spec.id, "execution_id": exec_id,
                "execution_time_ms": int(duration), "deployment_id": deployment, "version": version,
            }
            level = Level.ERROR if status >= 500 else Level.WARN if status >= 400 else Level.INFO
            out.add(us, LogRecord(ts, level, "function", message, slug, status, exec_id, rec_id, raw))
            for i, (event_type, lvl, text) in enumerate(lines):
                lts, lus = sec.ts(frac + 0.0005 * (i + 1))
                line_id = sec.id()
                lraw = {"id": line_id, "timestamp": lus, "event_message": text + "\n", "event_type": event_type,
                        "function_id": spec.id, "execution_id": exec_id, "level": lvl}
                out.add(lus, LogRecord(lts, _LEVELS[lvl], "function", text, slug, None, exec_id, line_id, lraw))
