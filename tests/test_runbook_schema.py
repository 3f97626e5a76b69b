"""The runbook schema: loader errors (one line, file:line:key), expressions, templates, inputs, redaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.domain.runbooks import expressions, templates
from cs_console.domain.runbooks.inputs import InputError, convert, resolve_inputs
from cs_console.domain.runbooks.loader import parse_runbook
from cs_console.domain.runbooks.loader_errors import RunbookError
from cs_console.domain.redaction import Redactor
from cs_console.domain.runbooks.schema import InputSpec, InputType, Risk, StepKind, Transaction
from cs_console.services.runbooks.catalog import load_catalog
from tests.runbook_helpers import TERMINATE_RUNBOOK, write_runbook

SCHEMA_MD = Path(__file__).resolve().parent.parent / "cs_console" / "runbooks" / "SCHEMA.md"


def schema_example() -> str:
    doc = SCHEMA_MD.read_text(encoding="utf-8")
    return re.search(r"## A complete example\n\n```toml\n(.*?)```", doc, re.S).group(1)


def test_the_documented_example_parses() -> None:
    rb = parse_runbook(schema_example(), "SCHEMA.md")
    assert rb.id == "example-terminate-idle"
    assert rb.highest_risk is Risk.DESTRUCTIVE
    assert [s.kind for s in rb.steps] == [StepKind.CHECK, StepKind.DECISION, StepKind.SQL, StepKind.MANUAL]
    term = rb.step("terminate")
    assert term.confirm is not None and term.confirm.phrase == "{{preview.count}}"
    assert term.preview is not None and term.verify is not None


def _err(text: str) -> str:
    with pytest.raises(RunbookError) as info:
        parse_runbook(text, "rb.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("runbook error: rb.toml")
    return msg


@pytest.mark.parametrize("old, new, expected", [
    ('risk = "destructive"', 'risk = "destructiv"', r"rb\.toml:\d+: steps\.terminate\.risk: one of read, write"),
    ('kind = "sql"', 'kind = "sqll"', r"steps\.terminate\.kind: one of check"),
    ('[steps.confirm]\nphrase = "{{preview.count}}"\nshow = ["len(preview)"]\n', '', r"steps\.terminate\.confirm: a \[steps\.confirm\] table"),
    ('phrase = "{{preview.count}}"\nshow = ["len(preview)"]\n', '', r"steps\.terminate\.confirm: a table with phrase"),
    ('expect = "value == 0"', 'expect = "vlue == 0"', r"steps\.terminate\.verify\.expect: names .*unknown: vlue"),
    ('expect = "value == 0"', 'expect = "__import__(1)"', r"verify\.expect: "),
    ('schema = "cs-console.runbook/v1"', 'schema = "cs-console.runbook/v9"', r"rb\.toml:1: schema: \"cs-console\.runbook/v1\""),
    ('group = "Incident"', 'group = "Incidents"', r"rb\.toml:4: group: one of"),
    ('params = ["{{app}}"]\nrollback', 'params = ["{{ap}}"]\nrollback', r"unknown: \{\{ap\}\}"),
    ('title = "Backends of the application"', 'title = "Backends"\nbogus = 1', r"steps\.count\.bogus: a known key"),
])
def test_broken_runbooks_are_one_line_errors(old: str, new: str, expected: str) -> None:
    assert old in TERMINATE_RUNBOOK
    msg = _err(TERMINATE_RUNBOOK.replace(old, new, 1))
    assert re.search(expected, msg), msg


def test_error_line_points_at_the_key() -> None:
    text = TERMINATE_RUNBOOK.replace('risk = "destructive"', 'risk = "nope"')
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith('risk = "nope"'))
    assert f"rb.toml:{line}: steps.terminate.risk" in _err(text)


def test_bare_placeholder_in_sql_is_refused() -> None:
    text = TERMINATE_RUNBOOK.replace("where application_name = $1 and pid <> pg_backend_pid()\"\nparams", "where application_name = '{{app}}'\"\nparams", 1)
    assert "{{app|ident}} or {{app|literal}} in SQL text (or a $n parameter), never a bare placeholder" in _err(text)


def test_rollback_dry_run_refused_for_terminate() -> None:
    assert "ROLLBACK does not undo" in _err(TERMINATE_RUNBOOK.replace('sql_wrap = "explain"', 'sql_wrap = "rollback"'))


def test_check_steps_must_be_read_only() -> None:
    text = TERMINATE_RUNBOOK.replace('sql = "select count(*)::int as n from', 'sql = "select pg_terminate_backend(1), count(*)::int as n from')
    assert "read-only SQL" in _err(text)
    assert "\"read\"" in _err(TERMINATE_RUNBOOK.replace('kind = "check"\ntitle = "Backends', 'kind = "check"\nrisk = "write"\ntitle = "Backends'))


def test_retry_only_for_idempotent() -> None:
    text = TERMINATE_RUNBOOK.replace('risk = "destructive"\n', 'risk = "destructive"\non_failure = "retry 3"\n')
    assert "retry only for idempotent" in _err(text)
    ok = parse_runbook(text.replace('on_failure = "retry 3"', 'on_failure = "retry 3"\nidempotent = true'), "x")
    assert ok.step("terminate").on_failure.retries == 3


def test_vacuum_runs_outside_a_transaction_automatically() -> None:
    text = """
schema = "cs-console.runbook/v1"
id = "v"
title = "v"
group = "Maintenance"
[[steps]]
id = "vac"
kind = "sql"
title = "vacuum"
risk = "write"
sql = "VACUUM (ANALYZE) {{table|ident}}"
[[inputs]]
name = "table"
"""
    rb = parse_runbook(text, "v.toml")
    assert rb.step("vac").action.sql.transaction is Transaction.NONE
    assert "cannot run inside a transaction" in _err(text.replace('risk = "write"', 'risk = "write"\ntransaction = "single"'))


def test_goto_must_go_forward() -> None:
    msg = _err(schema_example().replace('default = "confirm_done"', 'default = "usage"'))
    assert "LATER step" in msg


def test_secret_inputs_only_by_reference() -> None:
    base = """
schema = "cs-console.runbook/v1"
id = "s"
title = "s"
group = "Security"
[[inputs]]
name = "key"
type = "secret"
default = "{default}"
[[steps]]
id = "a"
kind = "check"
title = "a"
url = "https://example.invalid/x"
headers = {{ apikey = "{{{{key}}}}" }}
"""
    parse_runbook(base.format(default="env:MY_KEY"), "s.toml")
    msg = _err(base.format(default="sk_live_abcdef123456"))
    assert "env:NAME" in msg and "sk_live_abcdef123456" not in msg
    with pytest.raises(InputError) as info:
        convert(InputSpec("key", InputType.SECRET), "hunter2-literal-secret")
    assert "hunter2" not in str(info.value)


def test_phrase_may_not_contain_a_secret() -> None:
    text = TERMINATE_RUNBOOK.replace('phrase = "{{preview.count}}"', 'phrase = "{{secret.db_password}}"')
    assert "without secrets" in _err(text)


def test_inputs_convert_and_validate() -> None:
    specs = (InputSpec("n", InputType.INT, min=1, max=10), InputSpec("mail", InputType.EMAIL),
             InputSpec("who", InputType.CHOICE, choices=("a", "b")), InputSpec("opt", required=False))
    assert resolve_inputs(specs, {"n": "3", "mail": "a@b.co", "who": "b"}) == {"n": 3, "mail": "a@b.co", "who": "b", "opt": None}
    for bad in ({"n": "x", "mail": "a@b.co", "who": "a"}, {"n": "11", "mail": "a@b.co", "who": "a"},
                {"n": "1", "mail": "nope", "who": "a"}, {"n": "1", "mail": "a@b.co", "who": "c"}, {"n": "1", "mail": "a@b.co", "who": "a", "zzz": "1"}):
        with pytest.raises(InputError):
            resolve_inputs(specs, bad)


def test_expressions_are_safe_and_useful() -> None:
    ctx = {"conn": {"used": 90, "max": 100}, "rows": [{"pid": 1}, {"pid": 2}]}
    assert expressions.evaluate_bool("conn.used >= 0.8 * conn.max", ctx)
    assert expressions.evaluate("len(rows)", ctx) == 2
    assert expressions.evaluate("rows[1].pid", ctx) == 2
    for bad in ("__import__('os')", "conn.__class__", "(lambda: 1)()", "[x for x in rows]", "open('f')"):
        with pytest.raises(expressions.ExpressionError):
            expressions.evaluate(bad, ctx)
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate("conn.nope", ctx)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_expressions_never_crash_on_garbage(text: str) -> None:
    try:
        expressions.evaluate(text, {"value": 1, "conn": {"used": 1}})
    except expressions.ExpressionError as exc:
        assert str(exc) and "\n" not in str(exc)  # said in one line, like the loader's errors


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_loader_never_raises_anything_but_runbook_error(text: str) -> None:
    try:
        parse_runbook(text, "fuzz.toml")
    except RunbookError as exc:
        assert "\n" not in str(exc)


def test_templates_filters_and_display_redaction() -> None:
    ctx = {"t": 'we"ird', "s": "it's", "secret": {"k": "SUPERSECRET"}, "dsn": "postgresql://u@h:5432/db1", "db": "db2"}
    assert templates.render("{{t|ident}}", ctx) == '"we""ird"'
    assert templates.render("{{s|literal}}", ctx) == "'it''s'"
    assert templates.render("{{dsn|db:db}}", ctx) == "postgresql://u@h:5432/db2"
    assert templates.render("Bearer {{secret.k}}", ctx, for_display=True) == "Bearer ***"
    assert templates.render("Bearer {{secret.k}}", ctx) == "Bearer SUPERSECRET"


def test_redactor_masks_values_and_credential_shapes() -> None:
    r = Redactor(["planted-secret-value"])
    text = r.text("x planted-secret-value y postgresql://u:pw@h/db Bearer abcdefghijkl password=hunter22 planted-secret-value")
    assert "planted-secret-value" not in text and "pw@" not in text and "abcdefghijkl" not in text and "hunter22" not in text
    assert r.value({"a": ["planted-secret-value"]}) == {"a": ["***"]}


def test_catalog_user_clash_with_builtin_is_an_error(tmp_path: Path) -> None:
    bdir = tmp_path / "builtin"
    bdir.mkdir()
    (bdir / "a.toml").write_text(TERMINATE_RUNBOOK)
    udir = tmp_path / "user"
    udir.mkdir()
    (udir / "mine.toml").write_text(TERMINATE_RUNBOOK)
    (udir / "broken.toml").write_text("schema = [")
    cat = load_catalog(bdir, udir)
    assert list(cat.runbooks) == ["t-terminate"] and cat.runbooks["t-terminate"].builtin
    msgs = [str(e) for e in cat.errors]
    assert any("mine.toml:1: id: an id not already used by a built-in runbook" in m for m in msgs)
    assert any("broken.toml" in m and "valid TOML" in m for m in msgs)


def test_builtin_runbooks_all_load() -> None:
    cat = load_catalog()
    assert cat.errors == [], [str(e) for e in cat.errors]


def test_user_runbook_dir_is_read() -> None:
    write_runbook(TERMINATE_RUNBOOK, "t-terminate")
    assert load_catalog().get("t-terminate") is not None


_SHELL_RUNBOOK = """
schema = "cs-console.runbook/v1"
id = "cmdline"
title = "cmdline"
group = "Daily"
[[inputs]]
name = "token"
type = "secret"
default = "env:MY_TOKEN"
[[steps]]
id = "call"
kind = "shell"
title = "call"
risk = "write"
{payload}
"""


@pytest.mark.parametrize("payload, key", [
    ('argv = ["curl", "-H", "Authorization: Bearer {{secret.access_token}}", "https://x.invalid"]', "steps.call.argv"),
    ('argv = ["tool", "--key={{token}}"]', "steps.call.argv"),
    ('command = "curl -H \\"apikey: {{secret.service_role_key|shell}}\\" x"\nscript = true', "steps.call.command"),
    ('argv = ["tool"]\n[steps.dry_run]\nargv = ["tool", "--check", "{{secret.db_password}}"]', "steps.call.dry_run.argv"),
])
def test_a_secret_on_a_command_line_is_refused_at_load(payload: str, key: str) -> None:
    msg = _err(_SHELL_RUNBOOK.format(payload=payload))
    assert "\n" not in msg
    assert f": {key}: no secret on a command line" in msg
    assert "env = {" in msg and "/proc/*/cmdline" in msg


def test_the_same_secret_through_env_loads() -> None:
    rb = parse_runbook(_SHELL_RUNBOOK.format(
        payload='argv = ["sh", "-c", "curl -H \\"apikey: $KEY\\" x"]\nenv = { KEY = "{{secret.service_role_key}}", T = "{{token}}" }'), "x.toml")
    assert rb.steps[0].action.shell.argv[0] == "sh"


def test_every_builtin_runbook_keeps_secrets_off_command_lines(tmp_path: Path) -> None:
    catalog = load_catalog(user_dir=tmp_path)
    assert catalog.errors == [] and len(catalog.runbooks) >= 21
