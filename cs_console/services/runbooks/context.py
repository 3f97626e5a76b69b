"""The values a step's templates see, and the secrets the redactor must know.

One :class:`RunContext` per engine: the run's inputs and captures, the profile's
values, the secrets (real for the call an executor runs, ``***`` for what is shown)
and the redactor taught every secret this run could touch before anything is shown.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cs_console.config import SECRET_ENV_FIELDS, Profile
from cs_console.domain.runbooks import templates
from cs_console.domain.runbooks.inputs import resolve_secret, secret_env_name
from cs_console.domain.redaction import Redactor
from cs_console.domain.runbooks.run_state import Run
from cs_console.domain.runbooks.schema import Runbook

# {{secret.NAME}} -> the profile field naming its env var.
TEMPLATE_SECRETS = {"access_token": "access_token_env", "service_role_key": "service_role_key_env",
                    "db_password": "db_password_env"}


def db_name(dsn: str) -> str:
    if not dsn:
        return ""
    path = urlsplit(dsn).path.lstrip("/")
    return path or "postgres"


class RunContext:
    def __init__(self, profile: Profile, runbook: Runbook, *, environment_name: str, state_dir: Path,
                 environ: Mapping[str, str]) -> None:
        self.profile = profile
        self.environment_name = environment_name
        self.state_dir = state_dir
        self.environ = dict(environ)
        self.runbook = runbook
        self.secret_inputs = {i.name for i in runbook.inputs if i.secret}
        self.inputs: dict[str, Any] = {}
        self.captures: dict[str, Any] = {}
        self.redactor = Redactor()

    def prime_secrets(self) -> None:
        """Teach the redactor every secret this run could touch, before anything is shown."""
        for fname in SECRET_ENV_FIELDS:
            try:
                self.redactor.add_secret(self.profile.secret(fname))
            except Exception:
                pass
        for spec in self.runbook.inputs:
            if spec.secret:
                ref = self.inputs.get(spec.name)
                if ref:
                    self.redactor.add_secret(resolve_secret(ref, self.environ))

    def own_paths(self) -> dict[str, str]:
        """{{paths.*}} of this console: the profile's backups_dir, else the state dir's."""
        backups = self.profile.backups_dir or str(self.state_dir / "backups")
        return {"backups": backups}

    def run_paths(self, run: Run) -> dict[str, str]:
        """The run's own paths (recorded when it started), whoever's console resumes it."""
        return {**self.own_paths(), **run.paths}

    def rendered_paths(self, run: Run) -> dict[str, str]:
        """{{paths.*}} as templates see them: the run's directories and the modes their files get."""
        paths = self.run_paths(run)
        shared = shared_dir_mode(paths["backups"]) if paths["backups"] != str(self.state_dir / "backups") else None
        # A team's group-shared backups_dir keeps its mode and its dumps are group-readable (whoever takes
        # the run over reads them); anywhere else a directory is made owner-only and its dumps stay 0600.
        return {**paths, "backups_dir_mode": f"{shared:o}" if shared else "700",
                "backups_file_mode": "640" if shared else "600"}

    def paths_problems(self, run: Run) -> list[str]:
        """One line per recorded path of `run` this account cannot use (after a take-over, say)."""
        problems = []
        own = self.own_paths()
        for name, path in run.paths.items():
            if path == own.get(name):
                continue  # this console's own directory: its steps create it as usual
            reason = unusable_dir(path)
            if reason:
                problems.append(f"this run's {name} directory {path} (where its steps write; set when the run started) "
                                f"cannot be used from this account: {reason}. Steps that read or write it will fail; "
                                f"set backups_dir in the profiles to a directory the team shares")
        return problems

    @property
    def db_name(self) -> str:
        return db_name(self.profile.db_dsn)

    def _profile_values(self) -> dict[str, Any]:
        p = self.profile
        return {
            "name": p.name, "project_ref": p.project_ref,
            "project_url": p.resolved_project_url, "management_api_url": p.management_api_url,
            "db_dsn": p.db_dsn, "db_name": db_name(p.db_dsn),
            "environment": self.environment_name,
        }

    def values(self, run: Run, *, artifacts_dir: Path, now: datetime, preview: Any = None,
               extra: Mapping[str, Any] | None = None, real_secrets: bool = True) -> dict[str, Any]:
        prof = self.profile
        secret = {name: prof.secret(field) if real_secrets else templates.REDACTED for name, field in TEMPLATE_SECRETS.items()}
        ctx: dict[str, Any] = {}
        for name, value in self.inputs.items():
            if name in self.secret_inputs:
                ctx[name] = resolve_secret(value, self.environ) if (real_secrets and value) else templates.REDACTED
            else:
                ctx[name] = value
        ctx.update(self.captures)
        ctx.update({
            "environment": self.environment_name,
            "profile": self._profile_values(),
            "secret": secret,
            "run": {"id": run.run_id, "dir": str(artifacts_dir), "operator": run.operator.get("user", "")},
            "paths": self.rendered_paths(run),
            "now": {"date": f"{now:%Y%m%d}", "stamp": f"{now:%Y%m%dT%H%M%SZ}", "iso": now.isoformat()},
            "preview": preview if preview is not None else [],
        })
        if extra:
            ctx.update(extra)
        return ctx

    def is_secret(self, path: str) -> bool:
        root = path.split(".", 1)[0]
        return root == "secret" or root in self.secret_inputs

    def missing_secrets(self, texts: list[str], ctx: Mapping[str, Any]) -> list[str]:
        """Secret placeholders whose env var is unset: name the variable, never a value."""
        missing = []
        for text in texts:
            for p in templates.placeholders(text):
                if not self.is_secret(p.path) or p.filter == "optional":
                    continue  # an optional secret may be unset: the program has its own fallbacks
                try:
                    value = templates.lookup(p.path, ctx)
                except templates.TemplateError:
                    value = None
                if value in (None, ""):
                    if p.root == "secret":
                        field_name = TEMPLATE_SECRETS.get(p.path.split(".", 1)[-1], "")
                        env_name = (getattr(self.profile, field_name) if field_name else "") or "(not configured)"
                        missing.append(f"{p.path} (env var {env_name})")
                    else:
                        missing.append(f"{p.root} (env var {secret_env_name(self.inputs.get(p.root) or 'env:UNSET')})")
        return missing


def shared_dir_mode(path: str) -> int | None:
    """The permission bits of `path` when it is an existing directory its group may use (rwx), else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    bits = stat.S_IMODE(st.st_mode)
    return bits if bits & stat.S_IRWXG == stat.S_IRWXG else None


def unusable_dir(path: str) -> str:
    """Why this account cannot create or use directory `path` ("" when it can).

    A directory not made yet is fine when its nearest existing parent lets us make it.
    """
    want = os.R_OK | os.W_OK | os.X_OK
    for candidate in [Path(path), *Path(path).parents]:
        try:
            st = os.stat(candidate)
        except FileNotFoundError:
            want = os.W_OK | os.X_OK  # only to create what is missing below it
            continue
        except PermissionError:
            return f"permission denied on {candidate}"
        except OSError as exc:
            return f"{exc.strerror or type(exc).__name__} ({candidate})"
        if not stat.S_ISDIR(st.st_mode):
            return f"{candidate} is not a directory"
        return "" if os.access(candidate, want) else f"permission denied on {candidate}"
    return ""
