"""A step's action rendered into a concrete call, and described for the operator.

Rendering happens twice for a step that runs: with real values (the call an executor
runs) and for display (secrets as ``***``). Every text handed out here is redacted.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.calls import Call, ConsoleCall, DemoCall, HttpCall, ShellCall, SqlCall
from cs_console.domain.runbooks.schema import Action, Step, StepKind, SqlWrap
from cs_console.services.runbooks.context import RunContext
from cs_console.services.runbooks.router import LiveRouter, live_payload_text


def strings_in(value: Any) -> list[str]:
    """Every string inside a JSON-like value (where templates may hide)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings_in(v)]
    return []


def action_texts(action: Action) -> list[str]:
    """The template texts of an action (to find its secret placeholders)."""
    texts: list[str] = []
    if action.sql:
        texts += [action.sql.query, *action.sql.params, *([action.sql.database] if action.sql.database else [])]
    if action.shell:
        texts += [*action.shell.argv, *([action.shell.command] if action.shell.command else []), *(v for _, v in action.shell.env)]
    if action.http:
        texts += [action.http.url, *(v for _, v in action.http.headers), *(strings_in(action.http.json)),
                  *([action.http.body] if action.http.body else [])]
    if action.demo:
        texts += strings_in(dict(action.demo.args))
    return texts


class CallRenderer:
    def __init__(self, context: RunContext, router: LiveRouter) -> None:
        self.context = context
        self.router = router

    @property
    def redactor(self) -> Any:
        return self.context.redactor

    def render(self, text: str, ctx: Mapping[str, Any], *, display: bool) -> str:
        return templates.render(text, ctx, is_secret=self.context.is_secret, for_display=display)

    @staticmethod
    def _env(env: tuple[tuple[str, str], ...], r: Any) -> tuple[tuple[str, str], ...]:
        """The env entries, less those made only of `optional` placeholders that came out empty."""
        rendered = ((k, v, r(v)) for k, v in env)
        return tuple((k, value) for k, v, value in rendered if not templates.is_optional_and_empty(v, value))

    def render_value(self, value: Any, ctx: Mapping[str, Any], *, display: bool) -> Any:
        return templates.render_value(value, ctx, is_secret=self.context.is_secret, for_display=display)

    def build_call(self, action: Action, ctx: Mapping[str, Any], *, display: bool, wrap: SqlWrap | None = None) -> Call | None:
        """The call the router's executor will run (None: nothing runs this action here)."""
        route = self.router.route(action)
        r = lambda t: self.render(t, ctx, display=display)  # noqa: E731
        if route == "demo":
            assert action.demo is not None
            return DemoCall(action.demo.call, {k: self.render_value(v, ctx, display=display) for k, v in action.demo.args})
        if route == "console":
            assert action.console is not None
            return ConsoleCall(action.console.call, {k: self.render_value(v, ctx, display=display) for k, v in action.console.args})
        if route == "sql":
            s = action.sql
            assert s is not None
            params = tuple(self.render_value(p, ctx, display=display) for p in s.params)
            return SqlCall(r(s.query), params, r(s.database) if s.database else None, s.transaction,
                           s.statement_timeout_ms, s.lock_timeout_ms, wrap)
        if route == "shell":
            sh = action.shell
            assert sh is not None
            if sh.is_script:
                # Values pasted into a script are shell-quoted unless the author chose a filter.
                script = templates.render(sh.command or "", ctx, is_secret=self.context.is_secret, for_display=display,
                                          default_filter="shell")
                return ShellCall((), script, self._env(sh.env, r), r(sh.cwd) if sh.cwd else None)
            return ShellCall(tuple(r(a) for a in sh.argv), None, self._env(sh.env, r), r(sh.cwd) if sh.cwd else None)
        if route == "http":
            h = action.http
            assert h is not None
            return HttpCall(h.method, r(h.url), tuple((k, r(v)) for k, v in h.headers),
                            self.render_value(h.json, ctx, display=display) if h.json is not None else None,
                            r(h.body) if h.body is not None else None, h.expect_status)
        return None

    def describe_call(self, call: Call | None, action: Action | None = None, ctx: Mapping[str, Any] | None = None) -> str:
        """Human text of a (display-rendered) call, redacted.

        With `ctx`, an action nothing runs here still shows its live payload rendered (secrets
        as ***), never the raw templates."""
        if call is None:
            if action is not None:
                live = self.describe_live(action, ctx) if ctx is not None else None
                return self.redactor.text(self.router.describe_unrouted(action, live))
            return "(nothing to run)"
        if isinstance(call, SqlCall):
            db = call.database or self.context.db_name
            head = f"SQL on database {db}" + (" (outside a transaction)" if call.transaction.value == "none" else " (one transaction)")
            if call.wrap:
                head += f" [dry run: {call.wrap.value}]"
            text = head + ":\n" + call.query.strip()
            if call.params:
                text += "\nparams: " + ", ".join(f"${i + 1}={p!r}" for i, p in enumerate(call.params))
        elif isinstance(call, ShellCall):
            text = ("$ " + shlex.join(call.argv)) if call.script is None else "$ /bin/sh -eu -c <<'SCRIPT'\n" + call.script.rstrip() + "\nSCRIPT"
            if call.env:
                text += "\nenv: " + " ".join(f"{k}={v}" for k, v in call.env)
            if call.cwd:
                text += f"\ncwd: {call.cwd}"
        elif isinstance(call, HttpCall):
            text = f"{call.method} {call.url}"
            for k, v in call.headers:
                text += f"\n{k}: {v}"
            if call.json is not None:
                text += "\n\n" + json.dumps(call.json, indent=2, ensure_ascii=False)
            elif call.body:
                text += "\n\n" + call.body
        elif isinstance(call, ConsoleCall):
            text = f"console: {call.call}" + (f" {call.args}" if call.args else "")
        else:
            text = f"demo: {call.call}(" + ", ".join(f"{k}={v!r}" for k, v in call.args.items()) + ")"
        return self.redactor.text(text)

    def describe_live(self, action: Action, ctx: Mapping[str, Any]) -> str:
        """The live payload as it would run in a live session, rendered for display."""
        live = LiveRouter()
        route = live.route(action)
        if route not in ("sql", "shell", "http"):
            return ""
        saved, self.router = self.router, live
        try:
            return self.describe_call(self.build_call(action, ctx, display=True))
        except templates.TemplateError:
            return templates.render_for_display(live_payload_text(action), ctx, is_secret=self.context.is_secret)
        finally:
            self.router = saved

    def describe_non_action(self, step: Step) -> str:
        if step.kind is StepKind.MANUAL:
            text = "manual: " + step.instructions.strip()
            if step.answer is not None:
                text += "\nanswer: " + (", ".join(step.answer.choices) if step.answer.choices else step.answer.type.value)
            return self.redactor.text(text)
        if step.kind is StepKind.DECISION:
            if step.ask:
                return "decision (operator chooses): " + " | ".join(f"{c.label} -> {c.goto}" for c in step.choices)
            lines = [f"if {c.when} -> {c.goto}" + (f" ({c.label})" if c.label else "") for c in step.choices]
            return "decision:\n" + "\n".join(lines) + f"\notherwise -> {step.default}"
        return ""

    def target(self, step: Step, call: Call | None) -> str:
        """What a confirmation is bound to: environment/object."""
        if isinstance(call, SqlCall):
            obj = f"db {call.database or self.context.db_name}"
        elif isinstance(call, HttpCall):
            parts = urlsplit(call.url)
            obj = f"{call.method} {parts.netloc}{parts.path}"
        elif isinstance(call, ShellCall):
            obj = f"exec {Path(call.argv[0]).name}" if call.argv else "script"
        elif isinstance(call, DemoCall):
            obj = f"demo {call.call}"
        else:
            obj = f"{step.kind.value} {step.id}"
        return self.redactor.text(f"{self.context.environment_name}/{obj}")
