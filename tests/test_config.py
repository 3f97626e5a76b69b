"""Config: strict schema, one-line errors with file and line, provenance, init, config show."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console.cli import main
from cs_console.config import ConfigError, load_config

GOOD = """\
default_profile = "production"

[keymap]
"app.refresh" = "f6"

[profiles.production]
environment = "production"
project_ref = "csgnlprodabcdefghijk"
db_dsn = "postgresql://ops@db.example:5432/postgres"
read_only = true

[profiles.production.refresh]
metrics = 5

[profiles.production.thresholds.cpu_pct]
warning = 70
critical = 90

[profiles.production.maintenance.weekly]
day = "saturday"
start = "03:00"
end = "05:00"

[profiles.staging]
project_ref = "csgnlstagabcdefghijk"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    p.chmod(0o600)
    return p


def test_good_config_values_and_origins(tmp_path: Path) -> None:
    cfg = load_config(str(write(tmp_path, GOOD)))
    prof = cfg.profile()
    assert prof.name == "production" and prof.is_production and prof.read_only is True
    assert prof.refresh["metrics"] == 5.0 and prof.refresh["health"] == 10.0
    assert prof.thresholds["cpu_pct"].warning == 70 and prof.thresholds["memory_pct"].warning == 85
    assert prof.origins["project_ref"].endswith("config.toml:8")
    assert prof.origins["thresholds.cpu_pct"].startswith("file:") and prof.origins["thresholds.memory_pct"] == "default"
    weekly = next(w for w in prof.maintenance if w.name == "weekly")
    assert weekly.weekday == 5 and weekly.start.hour == 3
    assert cfg.keymap == {"app.refresh": "f6"}
    staging = cfg.profile("staging")
    assert staging.environment_name == "staging" and not staging.is_production


@pytest.mark.parametrize(
    "text, line, key, expected",
    [
        ('[profiles.p]\nproject_reff = "x"\n', 2, "profiles.p.project_reff", "known key"),
        ('[profiles.p]\nread_only = "yes"\n', 2, "profiles.p.read_only", "true or false"),
        ('[profiles.p]\nproject_ref = "ABC"\n', 2, "profiles.p.project_ref", "20 lowercase letters"),
        ('[profiles.p]\n\ndb_dsn = "postgresql://u:secret@h/db"\n', 3, "profiles.p.db_dsn", "without a password"),
        ('[profiles.p.refresh]\nmetrics = -1\n', 2, "profiles.p.refresh.metrics", "greater than 0"),
        ('[profiles.p.thresholds.cpu]\nwarning = 1\n', 1, "profiles.p.thresholds.cpu", "known threshold"),
        ('[profiles.p.thresholds.cpu_pct]\nwarning = 99\ncritical = 90\n', 1, "profiles.p.thresholds.cpu_pct", "warning <= critical"),
        ('[profiles.p.maintenance.weekly]\nday = "sunday"\nstart = "4"\nend = "05:00"\n', 1, "profiles.p.maintenance.weekly", "HH:MM"),
        ('default_profile = "nope"\n[profiles.p]\n', 1, "default_profile", "defined profile"),
        ('colour = "red"\n', 1, "colour", "known top-level key"),
        ('[keymap]\n"app.quit" = 3\n', 2, "keymap.app.quit", "key name"),
        ('[keymap]\n"app.quit" = "f10"\n"app.refrsh" = "f6"\n', 3, "keymap.app.refrsh", "did you mean 'app.refresh'?"),
        ('[keymap]\n"nothing.like.this" = "z"\n', 2, "keymap.nothing.like.this", "unknown binding id; F1"),
        ('theme = "dakr"\n', 1, "theme", "no theme 'dakr'; did you mean 'dark'?"),
        ('[profiles.p]\nenvironment = "x"\ntheme = "solarised"\n', 3, "profiles.p.theme", "a theme name (no theme 'solarised'; known: "),
        # Dotted keys and arrays of tables: the one TOML line finder (domain/toml_lines.py) places them too.
        ('[profiles.p]\nthresholds.cpu_pct = { warning = 99, critical = 90 }\n', 2, "profiles.p.thresholds.cpu_pct", "warning <= critical"),
        ('[profiles.p]\nenvironment = "x"\nthresholds.cpu_pct.warning = 99\nthresholds.cpu_pct.critical = 90\n', 3, "profiles.p.thresholds.cpu_pct", "warning <= critical"),
        ('[[profiles.p]]\nenvironment = "x"\n', 1, "profiles.p", "a table"),
        ('[profiles.p]\nenvironment = """\nread_only = 1\n"""\nread_only = "no"\n', 5, "profiles.p.read_only", "true or false"),
    ],
)
def test_bad_values_name_file_line_key(tmp_path: Path, text: str, line: int, key: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    err = info.value
    assert (err.line, err.key) == (line, key)
    assert expected in err.expected
    assert str(err).startswith(f"config error: {path}:{line}: {key}: ")
    assert "\n" not in str(err)


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.p]\nenvironment = "prod\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert info.value.line == 2 and str(info.value).startswith(f"config error: {path}:2: toml: valid TOML")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        cfg = load_config(str(path))
        for name in cfg.profile_names:
            cfg.profile(name)
    except ConfigError as exc:
        assert str(exc).startswith("config error: ") and "\n" not in str(exc)


_scalars = st.one_of(st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), st.lists(st.integers(), max_size=3))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.dictionaries(st.sampled_from(["environment", "project_ref", "db_dsn", "read_only", "theme", "log_dialect", "log_buffer_size", "store", "refresh", "thresholds", "bogus"]), _scalars, max_size=5))
def test_wrong_types_are_config_errors(tmp_path: Path, profile: dict) -> None:
    import tomli_w

    path = tmp_path / "typed.toml"
    path.write_text(tomli_w.dumps({"profiles": {"p": profile}}))
    try:
        load_config(str(path)).profile("p")
    except ConfigError as exc:
        assert exc.key.startswith("profiles.p")


def test_world_readable_config_warns(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0o644)
    assert any("readable by group/others" in w for w in load_config(str(path)).warnings)


def test_env_and_flags_override_with_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(str(write(tmp_path, GOOD)))
    monkeypatch.setenv("CS_CONSOLE_THEME", "light")
    prof = cfg.profile("staging", flags={"read_only": True})
    assert prof.theme == "light" and prof.origins["theme"] == "env:CS_CONSOLE_THEME"
    assert prof.read_only is True and prof.origins["read_only"] == "flag:--read-only"


def run_cli(*argv: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cs_console", *argv], capture_output=True, text=True, env={**os.environ, **(env or {})}, input=stdin, timeout=60)


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.p]\nprojet_ref = "x"\n')
    out = run_cli("--config", str(path), "config", "show")
    assert out.returncode == 2
    assert out.stderr.strip() == f"config error: {path}:2: profiles.p.projet_ref: a known key (unknown key; did you mean 'project_ref'?)"
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    syntax = write(tmp_path, "[profiles.p\n", "syntax.toml")
    out = run_cli("config", "show", env={"CS_CONSOLE_CONFIG": str(syntax)})
    assert out.returncode == 2 and out.stderr.startswith(f"config error: {syntax}:1: toml:")


def test_unknown_keys_suggest_the_likely_one_or_list_the_known(tmp_path: Path) -> None:
    cases = {
        '[profiles.p]\nread_onyl = true\n': "did you mean 'read_only'?",
        '[profiles.p.refresh]\nmetric = 2\n': "did you mean 'metrics'?",
        '[profiles.p.thresholds.cpu_pc]\nwarning = 1\n': "did you mean 'cpu_pct'?",
        'defualt_profile = "p"\n': "did you mean 'default_profile'?",
        '[profiles.p]\nzzz = 1\n': "known: environment, project_ref",
    }
    for text, expected in cases.items():
        with pytest.raises(ConfigError) as err:
            load_config(str(write(tmp_path, text)))
        assert expected in str(err.value), str(err.value)


def test_init_then_config_show(tmp_path: Path, isolated_dirs: Path) -> None:
    out = run_cli("init", "--profile", "production", "--project-ref", "csgnlprodabcdefghijk", "--db-dsn", "postgresql://ops@db.example:5432/postgres", "--access-token-env", "MY_TOKEN", "--no-input")
    assert out.returncode == 0, out.stderr
    cfg_path = isolated_dirs / "xdg-config" / "cs-console" / "config.toml"
    assert stat.S_IMODE(cfg_path.stat().st_mode) == 0o600
    text = cfg_path.read_text()
    assert 'project_ref = "csgnlprodabcdefghijk"' in text and "default_profile" in text
    show = run_cli("config", "show", env={"MY_TOKEN": "sbp_supersecretvalue123"})
    assert show.returncode == 0
    assert "csgnlprodabcdefghijk" in show.stdout and f"file:{cfg_path}:" in show.stdout
    assert "[set (redacted)]" in show.stdout and "sbp_supersecretvalue123" not in show.stdout
    js = run_cli("config", "show", "--json")
    assert '"profile": "production"' in js.stdout


def test_init_refuses_a_secret_or_a_password_dsn(isolated_dirs: Path) -> None:
    out = run_cli("init", "--profile", "p", "--access-token-env", "sbp_0123456789abcdef0123456789abcdef", "--no-input")
    assert out.returncode == 2 and "not a secret" in out.stderr and "sbp_0123" not in out.stderr
    out = run_cli("init", "--profile", "p", "--db-dsn", "postgresql://u:hunter2@h/db", "--no-input")
    assert out.returncode == 2 and "without a password" in out.stderr and "hunter2" not in out.stderr
    assert not (isolated_dirs / "xdg-config" / "cs-console" / "config.toml").exists()


def test_init_keeps_an_existing_profile_unless_forced(isolated_dirs: Path) -> None:
    cfg_path = isolated_dirs / "xdg-config" / "cs-console" / "config.toml"
    cfg_path.parent.mkdir(parents=True)
    cfg_path.write_text('# team settings\n[profiles.production]\nproject_ref = "csgnlprodabcdefghijk"\n[profiles.production.thresholds.cpu_pct]\nwarning = 70\n')
    cfg_path.chmod(0o600)
    again = run_cli("init", "--profile", "production", "--project-ref", "abcdefghijklmnopqrst", "--no-input")
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert "warning = 70" in cfg_path.read_text()  # untouched
    forced = run_cli("init", "--profile", "production", "--project-ref", "abcdefghijklmnopqrst", "--no-input", "--force")
    assert forced.returncode == 0 and "comments" in forced.stdout
    assert 'project_ref = "abcdefghijklmnopqrst"' in cfg_path.read_text()
    other = run_cli("init", "--profile", "staging", "--no-input")  # another profile is simply added
    assert other.returncode == 0 and "[profiles.production]" in cfg_path.read_text()


def test_init_prompts_again_after_a_bad_answer_and_cancels_cleanly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cs_console.commands import init as init_cmd

    answers = iter(["ABC", "abcdefghijklmnopqrst"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert init_cmd._ask("ref", "", lambda a: init_cmd._problem("project_ref", "--project-ref", a)) == "abcdefghijklmnopqrst"
    assert "20 lowercase letters); try again" in capsys.readouterr().err

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    assert main(["init", "--profile", "p"]) == 130
    assert "cancelled (nothing was written)" in capsys.readouterr().err


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from cs_console.cli import COMMAND_MODULES, build_parser

    parser = build_parser()
    names = [a for a in parser._subparsers._group_actions[0].choices]  # type: ignore[union-attr]
    assert {"demo", "serve", "init", "config"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
    assert len(COMMAND_MODULES) >= 4


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("cs-console ")


def test_console_refuses_without_terminal() -> None:
    out = run_cli("demo")
    assert out.returncode == 2 and "needs a terminal" in out.stderr


def test_local_only_session_needs_no_profile_and_is_not_the_demo() -> None:
    from cs_console.services.session import session_from_args
    from tests.sessions import session_args

    args = session_args()
    local = session_from_args(args, local_only=True)
    assert local.demo is None and local.environment_label == "LOCAL" and not local.notices
    default = session_from_args(args)
    assert default.demo is not None and default.environment_label == "DEMO" and default.notices


def test_the_tests_session_args_are_the_cli_global_options() -> None:
    """tests/sessions.py builds what the parser builds with no flag given: a new option cannot be missed."""
    import argparse

    from cs_console.commands.registration import add_global_flags
    from tests.sessions import session_args

    parser = argparse.ArgumentParser()
    add_global_flags(parser, in_subcommand=False)
    assert vars(session_args()) == vars(parser.parse_args([]))
    assert vars(session_args(demo=True, seed=3)) == vars(parser.parse_args(["--demo", "--seed", "3"]))
    with pytest.raises(TypeError, match="not a global option"):
        session_args(sead=3)


@pytest.mark.parametrize("speed", ["0", "-1", "nan", "inf", "1e9", "fast"])
def test_demo_speed_outside_0_to_3600_is_a_usage_error(speed: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--speed", speed])
    assert exit_info.value.code == 2 and "--speed" in capsys.readouterr().err


def test_profile_is_typed_frozen_and_defaults_from_its_schema(tmp_path: Path) -> None:
    import dataclasses

    from cs_console.config import PROFILE_FIELDS, SECRET_ENV_FIELDS, Profile

    prof = load_config(str(write(tmp_path, GOOD))).profile("production")
    assert isinstance(prof, Profile) and prof.project_ref == "csgnlprodabcdefghijk" and prof.read_only is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        prof.read_only = False  # type: ignore[misc]
    bare = Profile(name="x")
    assert {k: getattr(bare, k) for k in PROFILE_FIELDS} == {k: s.default for k, s in PROFILE_FIELDS.items()}
    assert list(PROFILE_FIELDS)[:2] == ["environment", "project_ref"] and set(SECRET_ENV_FIELDS) <= set(PROFILE_FIELDS)
    assert bare.refresh == {"metrics": 2.0, "health": 10.0, "logs": 5.0} and bare.environment_name == "x"


def test_threshold_clear_point_is_read_and_checked(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[profiles.p.thresholds.query_avg_ms]\nwarning = 50\nclear = 40\n', encoding="utf-8")
    cfg = load_config(str(path))
    assert cfg.profile("p").thresholds["query_avg_ms"].clear == 40
    path.write_text('[profiles.p.thresholds.query_avg_ms]\nwarning = 50\nclear = 60\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "clear" in str(err.value) and ":3:" in str(err.value)


def test_config_show_refuses_a_misspelt_theme_or_binding_id(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "dakr"\n')
    out = run_cli("--config", str(path), "config", "show")
    assert out.returncode == 2
    assert out.stderr.strip() == f"config error: {path}:1: theme: a theme name (no theme 'dakr'; did you mean 'dark'?)"
    path = write(tmp_path, '[keymap]\n"app.refrsh" = "f6"\n', "keys.toml")
    out = run_cli("--config", str(path), "config", "show")
    assert out.returncode == 2 and out.stderr.startswith(f"config error: {path}:2: keymap.app.refrsh: a known binding id")
    assert "did you mean 'app.refresh'?" in out.stderr and out.stderr.count("\n") == 1


def test_theme_names_are_the_theme_files(tmp_path: Path) -> None:
    from cs_console.config import theme_names

    assert {"dark", "light", "high-contrast", "ansi"} <= set(theme_names())
