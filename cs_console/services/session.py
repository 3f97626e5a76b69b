"""A session: the config, the chosen profile and the demo options of one invocation.

Every command and the TUI start from one of these, so the global flags mean
the same thing everywhere.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cs_console.config import Config, ConfigError, Profile, load_config, state_dir


@dataclass(frozen=True)
class DemoOptions:
    scenario: str = "calm"
    seed: int = 7
    speed: float = 1.0


@dataclass
class Session:
    config: Config
    profile: Profile
    demo: DemoOptions | None
    state_dir: Path
    notices: list[str] = field(default_factory=list)
    label: str = ""  # overrides the environment label (LOCAL for a file opened without a profile)
    replay: bool = False  # `cs-console replay`: a recording is shown; incidents are not edited

    @property
    def read_only(self) -> bool:
        return bool(self.profile.read_only)

    @property
    def environment_label(self) -> str:
        return self.label or ("DEMO" if self.demo else self.profile.environment_name.upper())

    @property
    def team_store(self) -> "TeamStore | None":
        """The team PostgreSQL store, when the profile asks for team mode (never on the demo).

        The one place that decides it: incidents, the audit and the run lock all ask here.
        `dsn` may be empty (a profile that says store = "postgres" and no team_dsn):
        each caller says how it copes.
        """
        profile = self.profile
        if profile.store != "postgres" or self.demo is not None:
            return None
        password = profile.secret("team_password_env") if profile.team_password_env else None
        return TeamStore(dsn=profile.team_dsn or "", password=password)


@dataclass(frozen=True)
class TeamStore:
    dsn: str
    password: str | None = field(default=None, repr=False)  # a secret: never in a repr or a log


def session_from_args(args: argparse.Namespace, *, force_demo: bool = False, local_only: bool = False) -> Session:
    """Build the session; raises ConfigError for a bad config.

    local_only: the caller reads only local data (a log file, stdin), so having no
    profile is fine and the demo is not substituted.
    """
    config = load_config(getattr(args, "config", None))
    flags = {"read_only": getattr(args, "read_only", False), "theme": getattr(args, "theme", None)}
    wants_demo = force_demo or getattr(args, "demo", False) or any(
        getattr(args, k, None) is not None for k in ("scenario", "seed", "speed")
    )
    notices: list[str] = list(config.warnings)
    local = local_only and not wants_demo and not config.profile_names and not getattr(args, "profile", None)
    if not wants_demo and not local and not config.profile_names and not getattr(args, "profile", None):
        # Nothing configured: the demo is the embedded default.
        wants_demo = True
        notices.append("no profile configured: showing the built-in demo (run `cs-console init` to add one)")
    if wants_demo and not config.profile_names:
        profile = config.profile("default", flags=flags)
    else:
        profile = config.profile(getattr(args, "profile", None), flags=flags)
    demo = None
    if wants_demo:
        d = DemoOptions()
        demo = DemoOptions(
            scenario=getattr(args, "scenario", None) or d.scenario,
            seed=getattr(args, "seed", None) if getattr(args, "seed", None) is not None else d.seed,
            speed=getattr(args, "speed", None) or d.speed,
        )
    return Session(config, profile, demo, state_dir(), notices, label="LOCAL" if local else "")


def open_session_or_exit(args: argparse.Namespace, *, force_demo: bool = False, local_only: bool = False) -> Session:
    """For commands: a bad config is one line on stderr and exit code 2."""
    try:
        session = session_from_args(args, force_demo=force_demo, local_only=local_only)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
    for notice in session.notices:
        if notice.startswith("warning:"):
            print(notice, file=sys.stderr)
    return session
