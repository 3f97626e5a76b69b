"""One `[[steps]]` table into a Step: kind, risk, guards, failure policy, capture, branches.

The rules that keep a step safe are checked here: read-only kinds stay
`risk = "read"`, destructive and irreversible steps need a confirm phrase
(without secrets), retries only on idempotent or read steps, dry runs that a
ROLLBACK really undoes.
"""

from __future__ import annotations

import re
from typing import Any

from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.loader_actions import (
    ACTION_KEYS,
    NOT_ROLLED_BACK_RE,
    default_parse,
    parse_action,
    parse_probe,
    read_parse_mode,
)
from cs_console.domain.runbooks.loader_errors import LoadContext
from cs_console.domain.runbooks.loader_fields import (
    EXPRESSION_ROOTS,
    ID_RE,
    NAME_RE,
    check_expr,
    check_no_secret_on_command_line,
    check_template,
    read_bool,
    read_number,
    read_str,
    read_str_list,
    reject_unknown,
)
from cs_console.domain.runbooks.loader_inputs import parse_input
from cs_console.domain.runbooks.schema import (
    END,
    READ_ONLY_KINDS,
    Action,
    Approval,
    Capture,
    Choice,
    Confirm,
    DryRun,
    FailurePolicy,
    OnFailure,
    Risk,
    SqlWrap,
    Step,
    StepKind,
    Transaction,
)
from cs_console.domain.toml_lines import line_of

RETRY_RE = re.compile(r"^retry\s+(\d+)$")
STEP_KEYS = ACTION_KEYS | {
    "id", "kind", "title", "why", "risk", "preconditions", "idempotent", "timeout_s", "on_failure",
    "retry_delay_s", "confirm", "approval", "dry_run", "preview", "verify", "rollback", "capture", "expect",
    "instructions", "answer", "choices", "default", "ask", "until", "interval_s",
}


def parse_step(ctx: LoadContext, raw: Any, i: int, known: set[str], input_names: set[str], secret_inputs: set[str], earlier: list[Step]) -> Step:
    path = f"steps[{i}]"
    disp = f"steps[{i + 1}]"
    if not isinstance(raw, dict):
        raise ctx.fail(path, disp, "a table ([[steps]])")
    sid = raw.get("id")
    if not isinstance(sid, str) or not ID_RE.match(sid) or sid == END:
        raise ctx.fail(f"{path}.id", f"{disp}.id", "a step id of lowercase letters, digits, - and _ (not \"end\")")
    disp = f"steps.{sid}"
    if any(s.id == sid for s in earlier):
        raise ctx.fail(f"{path}.id", f"{disp}.id", "a unique step id (used twice)")
    reject_unknown(ctx, raw, STEP_KEYS, path, disp)
    try:
        kind = StepKind(raw.get("kind"))
    except ValueError:
        raise ctx.fail(f"{path}.kind", f"{disp}.kind", "one of " + ", ".join(k.value for k in StepKind)) from None
    title = read_str(ctx, raw, "title", path, disp, required=True)
    try:
        risk = Risk(raw.get("risk", "read"))
    except ValueError:
        raise ctx.fail(f"{path}.risk", f"{disp}.risk", "one of " + ", ".join(r.value for r in Risk)) from None
    if kind in READ_ONLY_KINDS and risk is not Risk.READ:
        raise ctx.fail(f"{path}.risk", f"{disp}.risk", f"\"read\" (a {kind.value} step never changes anything)")

    # The payload must agree with the kind.
    action: Action | None = None
    if kind in (StepKind.CHECK, StepKind.SQL, StepKind.SHELL, StepKind.HTTP, StepKind.WAIT_UNTIL):
        action = parse_action(ctx, raw, path, disp, known)
        wanted = {
            StepKind.SQL: ("sql",), StepKind.SHELL: ("shell",), StepKind.HTTP: ("http",),
            StepKind.CHECK: ("sql", "shell", "http", "console"), StepKind.WAIT_UNTIL: ("sql", "shell", "http", "console"),
        }[kind]
        if action is None or action.payload_kind not in wanted:
            names = {"sql": "sql", "shell": "argv (or command with script = true)", "http": "url", "console": "console"}
            raise ctx.fail(path, disp, f"a {kind.value} step with " + " or ".join(names[w] for w in wanted))
        if kind in (StepKind.CHECK, StepKind.WAIT_UNTIL):
            if action.sql and NOT_ROLLED_BACK_RE.search(action.sql.query):
                raise ctx.fail(f"{path}.sql", f"{disp}.sql", f"read-only SQL (a {kind.value} step must not change anything; use kind = \"sql\")")
            if action.http and action.http.method not in ("GET", "HEAD") and "retrieve" not in action.http.url:
                raise ctx.fail(f"{path}.method", f"{disp}.method", f"GET or HEAD (a {kind.value} step must not change anything)")
    else:
        stray = [k for k in raw if k in ACTION_KEYS]
        if stray:
            raise ctx.fail(f"{path}.{stray[0]}", f"{disp}.{stray[0]}", f"no action keys on a {kind.value} step")

    idempotent_default = risk is Risk.READ
    idempotent = read_bool(ctx, raw["idempotent"], f"{path}.idempotent", f"{disp}.idempotent") if "idempotent" in raw else idempotent_default
    timeout_s = read_number(ctx, raw["timeout_s"], f"{path}.timeout_s", f"{disp}.timeout_s", lo=0.1, hi=86400) if "timeout_s" in raw else 60.0

    policy = FailurePolicy()
    if "on_failure" in raw:
        of = raw["on_failure"]
        m = RETRY_RE.match(of.strip()) if isinstance(of, str) else None
        if of in ("abort", "continue"):
            policy = FailurePolicy(OnFailure(of))
        elif m and 1 <= int(m.group(1)) <= 10:
            if not idempotent and risk is not Risk.READ:
                raise ctx.fail(f"{path}.on_failure", f"{disp}.on_failure",
                               "abort or continue (retry only for idempotent or read steps)")
            policy = FailurePolicy(OnFailure.RETRY, int(m.group(1)))
        else:
            raise ctx.fail(f"{path}.on_failure", f"{disp}.on_failure", "\"abort\", \"continue\" or \"retry N\" (N from 1 to 10)")
    if "retry_delay_s" in raw:
        policy = FailurePolicy(policy.action, policy.retries,
                               read_number(ctx, raw["retry_delay_s"], f"{path}.retry_delay_s", f"{disp}.retry_delay_s", lo=0, hi=3600))

    preconditions = read_str_list(ctx, raw.get("preconditions", []), f"{path}.preconditions", f"{disp}.preconditions")
    for pre in preconditions:
        target = next((s for s in earlier if s.id == pre), None)
        if target is None or target.kind is not StepKind.CHECK:
            raise ctx.fail(f"{path}.preconditions", f"{disp}.preconditions",
                           f"ids of EARLIER check steps (got {pre!r})")

    confirm = None
    if "confirm" in raw:
        c = raw["confirm"]
        if not risk.guarded:
            raise ctx.fail(f"{path}.confirm", f"{disp}.confirm", "no confirm table on a read/write step (only destructive and irreversible steps are guarded)")
        if not isinstance(c, dict) or set(c) - {"phrase", "show"} or not isinstance(c.get("phrase"), str) or not c["phrase"].strip():
            raise ctx.fail(f"{path}.confirm", f"{disp}.confirm", "a table with phrase = \"{{target}}\" (and optional show = [...])")
        phrase = check_template(ctx, c["phrase"], f"{path}.confirm.phrase", f"{disp}.confirm.phrase", known)
        for p in templates.placeholders(phrase):
            if p.root == "secret" or p.root in secret_inputs:
                raise ctx.fail(f"{path}.confirm.phrase", f"{disp}.confirm.phrase", "a phrase without secrets (the operator types it in clear)")
        show = read_str_list(ctx, c.get("show", []), f"{path}.confirm.show", f"{disp}.confirm.show")
        for s in show:
            check_expr(ctx, s, f"{path}.confirm.show", f"{disp}.confirm.show", known)
        confirm = Confirm(phrase, show)
    elif risk.guarded:
        raise ctx.fail(path, f"{disp}.confirm",
                       "a [steps.confirm] table with the phrase the operator types (the target: \"{{database}}\", "
                       "\"{{user_email}}\", \"{{preview.count}}\", or \"{{environment}}\")")

    dry = DryRun()
    if "dry_run" in raw:
        d = raw["dry_run"]
        if not isinstance(d, dict) or set(d) - {"sql_wrap", "argv"} or len(d) != 1:
            raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run", "a table with sql_wrap = \"explain\"|\"rollback\" or argv = [...]")
        if "sql_wrap" in d:
            if action is None or action.sql is None:
                raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run.sql_wrap", "an sql step (sql_wrap wraps its SQL)")
            try:
                wrap = SqlWrap(d["sql_wrap"])
            except ValueError:
                raise ctx.fail(f"{path}.dry_run.sql_wrap", f"{disp}.dry_run.sql_wrap", "\"explain\" or \"rollback\"") from None
            if wrap is SqlWrap.ROLLBACK and (NOT_ROLLED_BACK_RE.search(action.sql.query) or action.sql.transaction is Transaction.NONE):
                raise ctx.fail(f"{path}.dry_run.sql_wrap", f"{disp}.dry_run.sql_wrap",
                               "\"explain\": this SQL has effects a ROLLBACK does not undo")
            dry = DryRun(sql_wrap=wrap)
        else:
            if action is None or action.shell is None:
                raise ctx.fail(f"{path}.dry_run", f"{disp}.dry_run.argv", "a shell step (argv is its dry-run command)")
            argv = read_str_list(ctx, d["argv"], f"{path}.dry_run.argv", f"{disp}.dry_run.argv")
            if not argv:
                raise ctx.fail(f"{path}.dry_run.argv", f"{disp}.dry_run.argv", "a non-empty list")
            for a in argv:
                check_template(ctx, a, f"{path}.dry_run.argv", f"{disp}.dry_run.argv", known)
                check_no_secret_on_command_line(ctx, a, f"{path}.dry_run.argv", f"{disp}.dry_run.argv")
            dry = DryRun(argv=argv)

    preview = parse_probe(ctx, raw["preview"], f"{path}.preview", f"{disp}.preview", known, need_expect=False) if "preview" in raw else None
    verify = parse_probe(ctx, raw["verify"], f"{path}.verify", f"{disp}.verify", known, need_expect=True) if "verify" in raw else None
    rollback = read_str(ctx, raw, "rollback", path, disp)

    capture = Capture(parse=default_parse(action))
    if "capture" in raw:
        c = raw["capture"]
        if not isinstance(c, dict) or set(c) - {"save_as", "parse", "max_bytes", "redact"}:
            raise ctx.fail(f"{path}.capture", f"{disp}.capture", "a table with save_as, parse, max_bytes, redact")
        save_as = c.get("save_as")
        if save_as is not None and (not isinstance(save_as, str) or not NAME_RE.match(save_as)
                                    or save_as in input_names or save_as in EXPRESSION_ROOTS):
            raise ctx.fail(f"{path}.capture.save_as", f"{disp}.capture.save_as",
                           "a new name of lowercase letters, digits and _ (not an input or built-in)")
        if save_as is not None and any(s.capture.save_as == save_as for s in earlier):
            raise ctx.fail(f"{path}.capture.save_as", f"{disp}.capture.save_as", "a name not saved by an earlier step")
        parse = read_parse_mode(ctx, c["parse"], f"{path}.capture.parse", f"{disp}.capture.parse") if "parse" in c else capture.parse
        max_bytes = int(read_number(ctx, c["max_bytes"], f"{path}.capture.max_bytes", f"{disp}.capture.max_bytes", lo=256, hi=16 * 1024 * 1024)) if "max_bytes" in c else 65536
        redact = read_str_list(ctx, c.get("redact", []), f"{path}.capture.redact", f"{disp}.capture.redact")
        for rx in redact:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ctx.fail(f"{path}.capture.redact", f"{disp}.capture.redact", f"valid regular expressions ({exc})") from None
        capture = Capture(save_as, parse, max_bytes, redact)

    expect = None
    if "expect" in raw:
        if kind not in (StepKind.CHECK, StepKind.MANUAL):
            raise ctx.fail(f"{path}.expect", f"{disp}.expect", "expect only on check and manual steps (use verify for the others)")
        expect = check_expr(ctx, raw["expect"], f"{path}.expect", f"{disp}.expect", known)

    instructions = read_str(ctx, raw, "instructions", path, disp)
    answer = None
    if kind is StepKind.MANUAL:
        if not instructions.strip():
            raise ctx.fail(f"{path}.instructions", f"{disp}.instructions", "the instructions the operator follows (required for manual steps)")
        if "answer" in raw:
            answer = parse_input(ctx, raw["answer"], 0, path=f"{path}.answer", disp=f"{disp}.answer", named=False)
            if answer.secret:
                raise ctx.fail(f"{path}.answer.type", f"{disp}.answer.type", "a non-secret type (answers are audited)")
    elif "answer" in raw:
        raise ctx.fail(f"{path}.answer", f"{disp}.answer", "answer only on manual steps")
    elif instructions and kind is not StepKind.MANUAL:
        pass  # extra guidance shown in the wizard is fine on any step

    choices: tuple[Choice, ...] = ()
    default = None
    ask = False
    if kind is StepKind.DECISION:
        ask = read_bool(ctx, raw["ask"], f"{path}.ask", f"{disp}.ask") if "ask" in raw else False
        rc = raw.get("choices")
        if not isinstance(rc, list) or not rc:
            raise ctx.fail(f"{path}.choices", f"{disp}.choices", "a non-empty list of { when = \"expr\", goto = \"step\", label = \"...\" }")
        built = []
        for n, ch in enumerate(rc):
            cpath = f"{path}.choices"
            if not isinstance(ch, dict) or set(ch) - {"when", "goto", "label"} or not isinstance(ch.get("goto"), str):
                raise ctx.fail(cpath, f"{disp}.choices[{n + 1}]", "a table { when = \"expr\", goto = \"step id\", label = \"...\" }")
            when = ch.get("when")
            if ask:
                if when is not None:
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].when", "no when with ask = true (the operator chooses)")
                if not isinstance(ch.get("label"), str) or not ch["label"].strip():
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].label", "a label the operator chooses (ask = true)")
            else:
                if when is None:
                    raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].when", "an expression (or ask = true on the step)")
                check_expr(ctx, when, cpath, f"{disp}.choices[{n + 1}].when", known)
            label = ch.get("label", "")
            if not isinstance(label, str):
                raise ctx.fail(cpath, f"{disp}.choices[{n + 1}].label", "a string")
            built.append(Choice(ch["goto"], label, when))
        choices = tuple(built)
        default = raw.get("default")
        if default is None and not ask:
            raise ctx.fail(path, f"{disp}.default", "the step id to go to when no choice holds (or \"end\")")
        if default is not None and not isinstance(default, str):
            raise ctx.fail(f"{path}.default", f"{disp}.default", "a step id or \"end\"")
    else:
        for k in ("choices", "default", "ask"):
            if k in raw:
                raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", f"{k} only on decision steps")

    until = None
    interval_s = 5.0
    if kind is StepKind.WAIT_UNTIL:
        if "until" not in raw:
            raise ctx.fail(path, f"{disp}.until", "an expression that ends the wait when true")
        until = check_expr(ctx, raw["until"], f"{path}.until", f"{disp}.until", known)
        if "interval_s" in raw:
            interval_s = read_number(ctx, raw["interval_s"], f"{path}.interval_s", f"{disp}.interval_s", lo=0.05, hi=3600)
        if "timeout_s" not in raw:
            timeout_s = 300.0
    else:
        for k in ("until", "interval_s"):
            if k in raw:
                raise ctx.fail(f"{path}.{k}", f"{disp}.{k}", f"{k} only on wait_until steps")

    approval = _approval(ctx, raw, risk, path, disp)
    return Step(
        id=sid, kind=kind, title=title, why=read_str(ctx, raw, "why", path, disp), risk=risk, action=action,
        expect=expect, preconditions=preconditions, idempotent=idempotent, timeout_s=timeout_s,
        on_failure=policy, confirm=confirm, approval=approval, dry_run=dry, preview=preview, verify=verify, rollback=rollback,
        capture=capture, instructions=instructions, answer=answer, choices=choices, default=default, ask=ask,
        until=until, interval_s=interval_s, line=line_of(ctx.lines, path),
    )


def _approval(ctx: LoadContext, raw: Any, risk: Risk, path: str, disp: str) -> Approval:
    """`approval = "second-person"`: only on guarded steps (the approver types the step's confirm phrase)."""
    if "approval" not in raw:
        return Approval.NONE
    try:
        approval = Approval(raw["approval"])
    except (ValueError, TypeError):
        raise ctx.fail(f"{path}.approval", f"{disp}.approval", "\"second-person\" or \"none\"") from None
    if approval is Approval.SECOND_PERSON and not risk.guarded:
        raise ctx.fail(f"{path}.approval", f"{disp}.approval",
                       "approval = \"second-person\" only on destructive or irreversible steps (the approver types their confirm phrase)")
    return approval
