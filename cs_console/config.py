"""Configuration: a strict TOML schema with profiles, and where each value came from.

Read with tomllib, written with tomli-w. Every value of the effective profile
carries its origin (default, file:line, env, flag) for `config show`.
A bad file raises ConfigError, whose str() is the one-line message the CLI prints:
``config error: <file>:<line>: <key>: <what was expected>``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Literal, get_args

import platformdirs
import tomli_w

from cs_console.domain.binding_ids import KNOWN_BINDING_IDS
from cs_console.domain.maintenance import DEFAULT_WINDOWS, MaintenanceWindow, parse_window
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, Threshold
from cs_console.domain.toml_lines import line_in

APP_NAME = "cs-console"
CONFIG_ENV = "CS_CONSOLE_CONFIG"


def themes_dirs() -> list[Path]:
    """Installed wheel: cs_console/_themes; source checkout or editable install: <repo>/themes."""
    here = Path(__file__).resolve().parent
    return [p for p in (here / "_themes", here.parent / "themes") if p.is_dir()]


def theme_names() -> list[str]:
    """The names of the console's themes (a theme file's `name`, else its file name)."""
    names: list[str] = []
    for directory in themes_dirs():
        for path in sorted(directory.glob("*.toml")):
            try:
                name = str(tomllib.loads(path.read_text(encoding="utf-8")).get("name", path.stem))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # the console warns about a broken theme file when it loads them
            if name not in names:
                names.append(name)
    return names


def _check_theme(name: str) -> str | None:
    known = theme_names()
    if not name or name in known or not known:
        return None
    return _unknown_key(name, known, "a theme name").replace("unknown key", f"no theme {name!r}")


class ConfigError(Exception):
    """A configuration problem, already phrased for the operator."""

    def __init__(self, path: Path | str | None, line: int | None, key: str, expected: str) -> None:
        self.path, self.line, self.key, self.expected = path, line, key, expected
        where = f"{path}" if path else "<config>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"config error: {where}: {key}: {expected}")


# ---------------------------------------------------------------- locations


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def resolve_config_path(flag: str | None) -> tuple[Path, str]:
    """The config file to read and what chose it (flag, env or default)."""
    if flag:
        return Path(flag).expanduser(), "flag:--config"
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser(), f"env:{CONFIG_ENV}"
    return default_config_path(), "default"


# ---------------------------------------------------------------- schema

_REF_RE = re.compile(r"^[a-z]{20}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldSpec:
    kind: type | tuple[str, ...]  # a Python type, or the allowed strings
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None  # returns what was expected, or None


def _check_ref(v: str) -> str | None:
    return None if v == "" or _REF_RE.match(v) else "a Supabase project ref (20 lowercase letters)"


def _check_env_name(v: str) -> str | None:
    return None if v == "" or _ENV_NAME_RE.match(v) else "the NAME of an environment variable (not its value)"


def _check_url(v: str) -> str | None:
    return None if v == "" or re.match(r"^https?://[^\s]+$", v) else "an http(s) URL"


def _check_region(v: str) -> str | None:
    return None if v == "" or re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}$", v) else "a region code such as eu-central-1"


def _check_dsn(v: str) -> str | None:
    if v == "":
        return None
    if not re.match(r"^postgres(ql)?://", v):
        return "a postgresql:// DSN"
    if re.match(r"^postgres(ql)?://[^/@]*:[^/@]*@", v) or re.search(r"[?&]password=", v):
        return "a DSN without a password (put the password in the env var named by db_password_env)"
    return None


def _check_listen(v: str) -> str | None:
    m = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$", v)
    return None if m and int(m.group(2)) <= 65535 else "HOST:PORT, e.g. 127.0.0.1:9513 ([::1]:9513 for IPv6)"


def _check_header(v: str) -> str | None:
    return None if re.match(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$", v) else "an HTTP header name such as X-Drain-Secret"


def _check_abs_dir(v: str) -> str | None:
    # Absolute: a `~` or a relative path would name another directory for each engineer.
    return None if v == "" or v.startswith("/") else "an absolute directory path, e.g. /srv/cs-console/backups"


def _check_positive(v: float) -> str | None:
    return None if v > 0 else "a number greater than 0"


REFRESH_FIELDS: dict[str, FieldSpec] = {
    "metrics": FieldSpec(float, 2.0, "seconds between metrics refreshes", _check_positive),
    "health": FieldSpec(float, 10.0, "seconds between health checks", _check_positive),
    "logs": FieldSpec(float, 5.0, "seconds between Supabase log polls", _check_positive),
}

TOP_LEVEL_KEYS = {"default_profile", "theme", "keymap", "profiles"}

# The settings that name an env var holding a secret (the secret itself never is in the config).
SecretField = Literal["access_token_env", "service_role_key_env", "db_password_env", "webhook_url_env", "team_password_env", "drain_secret_env"]
SECRET_ENV_FIELDS: tuple[SecretField, ...] = get_args(SecretField)


def _setting(kind: type | tuple[str, ...], default: Any, doc: str, check: Callable[[Any], str | None] | None = None) -> Any:
    """A profile key: its typed attribute's default, with the schema that validates it alongside."""
    return field(default=default, metadata={"spec": FieldSpec(kind, default, doc, check)})


# ---------------------------------------------------------------- model


@dataclass(frozen=True, kw_only=True)
class Profile:
    """The effective profile: one typed attribute per `[profiles.<name>]` key, in schema order."""

    name: str
    environment: str = _setting(str, "", "environment name shown in the header (production stands out)")
    project_ref: str = _setting(str, "", "Supabase project ref", _check_ref)
    management_api_url: str = _setting(str, "https://api.supabase.com", "Management API base URL", _check_url)
    project_url: str = _setting(str, "", "project URL (default https://<ref>.supabase.co)", _check_url)
    status_page_url: str = _setting(str, "https://status.supabase.com", "the platform's Statuspage site (\"\" turns the check off)", _check_url)
    platform_region: str = _setting(str, "", "the project's region on the status page, e.g. eu-central-1 (default: from the Management API)", _check_region)
    db_dsn: str = _setting(str, "", "PostgreSQL DSN, without password", _check_dsn)
    access_token_env: str = _setting(str, "SUPABASE_ACCESS_TOKEN", "env var holding the Management API token", _check_env_name)
    service_role_key_env: str = _setting(str, "SUPABASE_SERVICE_ROLE_KEY", "env var holding the service role / secret key", _check_env_name)
    db_password_env: str = _setting(str, "PGPASSWORD", "env var holding the database password", _check_env_name)
    webhook_url_env: str = _setting(str, "", "env var holding the stakeholder-update webhook URL", _check_env_name)
    read_only: bool = _setting(bool, False, "refuse every destructive action")
    theme: str = _setting(str, "", "theme name (see themes/)", _check_theme)
    log_dialect: str = _setting(("auto", "bigquery", "clickhouse"), "auto", "Supabase logs SQL dialect")
    log_buffer_size: int = _setting(int, 100_000, "log records kept in memory", lambda v: None if v >= 100 else "an integer >= 100")
    store: str = _setting(("local", "postgres"), "local", "where incidents, audit and runs live (postgres = team mode)")
    team_dsn: str = _setting(str, "", "PostgreSQL DSN of the team store, without password", _check_dsn)
    team_password_env: str = _setting(str, "CS_CONSOLE_TEAM_PASSWORD", "env var holding the team store password", _check_env_name)
    allow_without_team_store: bool = _setting(bool, False, "team mode: steps above read run (warned, audited) when the team store is down, instead of being refused")
    drain: str = _setting(("off", "local", "team"), "off", "Supabase Log Drain: where `drain serve` stores events and live tails read them (local ring, team PostgreSQL); off: live tails poll the logs endpoint")
    drain_listen: str = _setting(str, "127.0.0.1:9513", "drain serve: HOST:PORT to listen on (loopback unless a proxy or TLS fronts it)", _check_listen)
    drain_secret_env: str = _setting(str, "CS_CONSOLE_DRAIN_SECRET", "env var holding the drain's shared secret (the custom header's value)", _check_env_name)
    drain_secret_header: str = _setting(str, "X-Drain-Secret", "the custom header the drain sends the secret in", _check_header)
    drain_retention_hours: float = _setting(float, 24.0, "hours of drained events kept (ring and team table)", _check_positive)
    drain_max_mb: int = _setting(int, 512, "local ring: MiB on disk at most (oldest segments go first)", lambda v: None if v >= 16 else "an integer >= 16")
    second_person_approval: str = _setting(("auto", "irreversible", "guarded", "marked", "off"), "auto",
                                           "two-person rule: auto = marked steps + irreversible steps in production; off waives it (audited)")
    approval_max_age_minutes: int = _setting(int, 30, "how long a second person's approval stays valid", lambda v: None if 1 <= v <= 1440 else "minutes from 1 to 1440")
    backups_dir: str = _setting(str, "", "where runbooks write backups ({{paths.backups}}; default <state dir>/backups); team mode: a directory the team shares, so whoever takes a run over finds its backups", _check_abs_dir)
    record_ring_hours: float = _setting(float, 0.0, "flight recorder: also record outside incidents, keeping the last N hours (0: only while an incident is open)", lambda v: None if 0 <= v <= 168 else "a number of hours from 0 to 168")
    refresh: dict[str, float] = field(default_factory=lambda: {k: s.default for k, s in REFRESH_FIELDS.items()})
    thresholds: dict[str, Threshold] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    maintenance: tuple[MaintenanceWindow, ...] = tuple(DEFAULT_WINDOWS)
    origins: dict[str, str] = field(default_factory=dict)  # key -> default | file:<path>:<line> | env:<VAR> | flag:--<flag>

    @property
    def environment_name(self) -> str:
        return self.environment or self.name

    @property
    def is_production(self) -> bool:
        return self.environment_name.lower() in ("production", "prod")

    @property
    def resolved_project_url(self) -> str:
        if self.project_url:
            return self.project_url
        return f"https://{self.project_ref}.supabase.co" if self.project_ref else ""

    def secret(self, field_name: SecretField) -> str | None:
        """The secret held by the env var this profile names (never logged)."""
        env_name = getattr(self, field_name)
        return os.environ.get(env_name) if env_name else None


# The flat keys of a profile table, in the order `config show` lists them.
PROFILE_FIELDS: dict[str, FieldSpec] = {f.name: f.metadata["spec"] for f in fields(Profile) if "spec" in f.metadata}


@dataclass
class Config:
    path: Path
    path_origin: str
    exists: bool
    default_profile: str | None
    theme: str
    keymap: dict[str, str]
    profile_names: list[str]
    raw_profiles: dict[str, dict[str, Any]]
    text: str = ""
    warnings: list[str] = field(default_factory=list)

    def profile(self, name: str | None = None, *, flags: dict[str, Any] | None = None) -> Profile:
        """The effective profile: defaults < file < env < flags."""
        flags = flags or {}
        chosen = name or os.environ.get("CS_CONSOLE_PROFILE") or self.default_profile
        if chosen is None:
            chosen = self.profile_names[0] if len(self.profile_names) == 1 else "default"
        if chosen not in self.raw_profiles and chosen != "default":
            known = ", ".join(self.profile_names) or "none defined"
            raise ConfigError(self.path, None, "profile", f"a defined profile (got {chosen!r}; known: {known})")
        return build_profile(chosen, self.raw_profiles.get(chosen, {}), self, flags)


def _unknown_key(key: str, known: list[str] | tuple[str, ...], what: str) -> str:
    """What was expected instead of an unknown key: the likely intended one first (a typo at 3 a.m.)."""
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.7)
    if close:
        return f"{what} (unknown key; did you mean {close[0]!r}?)"
    return f"{what} (unknown key; known: " + ", ".join(known) + ")"


def _check_value(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(spec.kind, tuple):
        if not isinstance(value, str) or value not in spec.kind:
            return "one of " + ", ".join(repr(k) for k in spec.kind)
        return None
    if spec.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a number"
    elif spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
    elif spec.kind is bool:
        if not isinstance(value, bool):
            return "true or false"
    elif spec.kind is str:
        if not isinstance(value, str):
            return "a string"
    return spec.check(value) if spec.check else None


def _validate_profile(cfg_path: Path, text: str, pname: str, raw: Any) -> None:
    base = f"profiles.{pname}"
    if not isinstance(raw, dict):
        raise ConfigError(cfg_path, line_in(text, base), base, "a table")
    for key, value in raw.items():
        dotted = f"{base}.{key}"
        if key == "refresh":
            if not isinstance(value, dict):
                raise ConfigError(cfg_path, line_in(text, dotted), dotted, "a table")
            for rk, rv in value.items():
                spec = REFRESH_FIELDS.get(rk)
                if spec is None:
                    raise ConfigError(cfg_path, line_in(text, f"{dotted}.{rk}"), f"{dotted}.{rk}", _unknown_key(rk, tuple(REFRESH_FIELDS), "a refresh interval"))
                problem = _check_value(spec, rv)
                if problem:
                    raise ConfigError(cfg_path, line_in(text, f"{dotted}.{rk}"), f"{dotted}.{rk}", problem)
        elif key == "thresholds":
            if not isinstance(value, dict):
                raise ConfigError(cfg_path, line_in(text, dotted), dotted, "a table")
            for tk, tv in value.items():
                tdot = f"{dotted}.{tk}"
                if tk not in DEFAULT_THRESHOLDS:
                    raise ConfigError(cfg_path, line_in(text, tdot), tdot, _unknown_key(tk, tuple(DEFAULT_THRESHOLDS), "a known threshold"))
                if not isinstance(tv, dict) or not tv or set(tv) - {"warning", "critical", "clear"}:
                    raise ConfigError(cfg_path, line_in(text, tdot), tdot, "a table with warning, critical and/or clear numbers")
                for lk, lv in tv.items():
                    if isinstance(lv, bool) or not isinstance(lv, (int, float)):
                        raise ConfigError(cfg_path, line_in(text, f"{tdot}.{lk}"), f"{tdot}.{lk}", "a number")
                d = DEFAULT_THRESHOLDS[tk]
                if float(tv.get("warning", d.warning)) > float(tv.get("critical", d.critical)):
                    raise ConfigError(cfg_path, line_in(text, tdot), tdot, "warning <= critical")
                if "clear" in tv and not 0 <= float(tv["clear"]) <= float(tv.get("warning", d.warning)):
                    raise ConfigError(cfg_path, line_in(text, f"{tdot}.clear"), f"{tdot}.clear", "0 <= clear <= warning")
        elif key == "maintenance":
            if not isinstance(value, dict):
                raise ConfigError(cfg_path, line_in(text, dotted), dotted, "a table")
            for mk, mv in value.items():
                mdot = f"{dotted}.{mk}"
                try:
                    parse_window(mk, mv)
                except ValueError as exc:
                    raise ConfigError(cfg_path, line_in(text, mdot), mdot, str(exc)) from None
        else:
            spec = PROFILE_FIELDS.get(key)
            if spec is None:
                raise ConfigError(cfg_path, line_in(text, dotted), dotted, _unknown_key(key, (*PROFILE_FIELDS, "refresh", "thresholds", "maintenance"), "a known key"))
            problem = _check_value(spec, value)
            if problem:
                raise ConfigError(cfg_path, line_in(text, dotted), dotted, problem)


def load_config(path_flag: str | None = None) -> Config:
    """Read and validate the config file; a missing file is an empty config."""
    path, origin = resolve_config_path(path_flag)
    warnings: list[str] = []
    if not path.exists():
        if origin != "default":
            raise ConfigError(path, None, "file", "an existing config file (not found)")
        return Config(path, origin, False, None, "", {}, [], {})
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, None, "file", "UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(path, None, "file", f"a readable file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "valid TOML"
        raise ConfigError(path, line, "toml", f"valid TOML ({what.rstrip('.')})") from None
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(f"warning: {path} is readable by group/others (chmod 600 {path})")
    except OSError:
        pass

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(path, line_in(text, key), key, _unknown_key(key, tuple(sorted(TOP_LEVEL_KEYS)), "a known top-level key"))
    default_profile = data.get("default_profile")
    if default_profile is not None and not isinstance(default_profile, str):
        raise ConfigError(path, line_in(text, "default_profile"), "default_profile", "a string")
    theme = data.get("theme", "")
    if not isinstance(theme, str):
        raise ConfigError(path, line_in(text, "theme"), "theme", "a string")
    problem = _check_theme(theme)
    if problem:
        raise ConfigError(path, line_in(text, "theme"), "theme", problem)
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        raise ConfigError(path, line_in(text, "keymap"), "keymap", "a table of binding-id = \"key\"")
    for k, v in keymap.items():
        if k not in KNOWN_BINDING_IDS:
            import difflib

            close = difflib.get_close_matches(k, sorted(KNOWN_BINDING_IDS), n=1, cutoff=0.7)
            hint = f"did you mean {close[0]!r}?" if close else "F1 in the console lists them"
            expected = f"a known binding id such as \"app.refresh\" (unknown binding id; {hint})"
            raise ConfigError(path, line_in(text, f"keymap.{k}"), f"keymap.{k}", expected)
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(path, line_in(text, f"keymap.{k}"), f"keymap.{k}", "a key name string such as \"ctrl+r\" or \"f5\"")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(path, line_in(text, "profiles"), "profiles", "a table of profiles")
    for pname, raw in profiles.items():
        _validate_profile(path, text, pname, raw)
    if default_profile is not None and default_profile not in profiles:
        raise ConfigError(path, line_in(text, "default_profile"), "default_profile", f"the name of a defined profile (got {default_profile!r})")
    return Config(path, origin, True, default_profile, theme, dict(keymap), list(profiles), profiles, text, warnings)


def build_profile(name: str, raw: dict[str, Any], cfg: Config, flags: dict[str, Any]) -> Profile:
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def file_origin(dotted: str) -> str:
        line = line_in(cfg.text, dotted)
        return f"file:{cfg.path}:{line}" if line else f"file:{cfg.path}"

    for key, spec in PROFILE_FIELDS.items():
        if key in raw:
            values[key] = float(raw[key]) if spec.kind is float else raw[key]
            origins[key] = file_origin(f"profiles.{name}.{key}")
        else:
            values[key] = spec.default
            origins[key] = "default"
    if not raw.get("theme") and cfg.theme:
        values["theme"] = cfg.theme
        origins["theme"] = file_origin("theme")

    # Environment overrides, then flags.
    env_overrides = {
        "read_only": ("CS_CONSOLE_READ_ONLY", lambda s: s.strip().lower() in ("1", "true", "yes", "on")),
        "theme": ("CS_CONSOLE_THEME", str),
    }
    for key, (env, conv) in env_overrides.items():
        if os.environ.get(env):
            values[key] = conv(os.environ[env])
            origins[key] = f"env:{env}"
    for key, value in flags.items():
        if value is None or value is False:
            continue
        values[key] = value
        origins[key] = f"flag:--{key.replace('_', '-')}"

    refresh: dict[str, float] = {}
    for key, spec in REFRESH_FIELDS.items():
        given = raw.get("refresh", {}).get(key)
        refresh[key] = float(given) if given is not None else spec.default
        origins[f"refresh.{key}"] = file_origin(f"profiles.{name}.refresh.{key}") if given is not None else "default"

    thresholds: dict[str, Threshold] = {}
    for tname, default in DEFAULT_THRESHOLDS.items():
        override = raw.get("thresholds", {}).get(tname)
        if override:
            thresholds[tname] = Threshold(
                default.name, default.metric, float(override.get("warning", default.warning)),
                float(override.get("critical", default.critical)), default.description,
                float(override["clear"]) if "clear" in override else default.clear,
            )
            origins[f"thresholds.{tname}"] = file_origin(f"profiles.{name}.thresholds.{tname}")
        else:
            thresholds[tname] = default
            origins[f"thresholds.{tname}"] = "default"

    windows = dict((w.name, w) for w in DEFAULT_WINDOWS)
    for wname, wraw in raw.get("maintenance", {}).items():
        windows[wname] = parse_window(wname, wraw)
        origins[f"maintenance.{wname}"] = file_origin(f"profiles.{name}.maintenance.{wname}")
    for wname in windows:
        origins.setdefault(f"maintenance.{wname}", "default")

    return Profile(name=name, **values, refresh=refresh, thresholds=thresholds, maintenance=tuple(windows.values()), origins=origins)


# ---------------------------------------------------------------- writing


def write_profile(path: Path, name: str, values: dict[str, Any], make_default: bool) -> None:
    """Add or replace one profile, keeping the others; file mode 0600."""
    data: dict[str, Any] = {}
    if path.exists():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    profiles = data.setdefault("profiles", {})
    profiles[name] = {k: v for k, v in values.items() if v not in (None, "")}
    if make_default or "default_profile" not in data:
        data["default_profile"] = name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
