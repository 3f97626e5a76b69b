"""The Overview on a Supabase profile, against the loopback fake (tests/fake_supabase.py).

The Project row is mounted when the first health report names it; it must show
the project's real data at once, and no pane fault may appear.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import fake_statuspage as sp
from tests.fake_statuspage import FakeStatusPage
from tests.fake_supabase import FakeSupabase
from tests.screen_text import screen_text, until
from tests.sessions import session_args


def _write_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'default_profile = "prod"\n[profiles.prod]\nenvironment = "production"\n'
        f'project_ref = "csgnlprodabcdefghijk"\nmanagement_api_url = "{url}"\nproject_url = "{url}"\n'
        f'access_token_env = "CS_TEST_SB_TOKEN"\nservice_role_key_env = "CS_TEST_SB_KEY"\n{extra}'
    )
    path.chmod(0o600)
    return path


def _app(tmp_path: Path, fake: FakeSupabase, monkeypatch: pytest.MonkeyPatch, extra: str = ""):
    from cs_console.services.session import session_from_args
    from cs_console.tui.app import ConsoleApp
    from cs_console.wiring.environment import build_environment

    monkeypatch.setenv("CS_TEST_SB_TOKEN", fake.token)
    monkeypatch.setenv("CS_TEST_SB_KEY", fake.service_key)
    session = session_from_args(session_args(config=_write_config(tmp_path, fake.url, extra)))
    return ConsoleApp(session, build_environment(session), initial_pane="overview")


async def test_project_row_shows_the_project_and_no_fault(fake_supabase: FakeSupabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from cs_console.tui.panes.overview import ComponentRow

    page = FakeStatusPage().start()
    # The fake project is in us-east-1 (its Management API project object): an incident there is ours.
    page.summary = sp.summary(incidents=[sp.incident("Degraded Auth in us-east-1", ["us-east-1/auth"])])
    app = _app(tmp_path, fake_supabase, monkeypatch, f'status_page_url = "{page.url}"\n')
    faults: list[str] = []
    async with app.run_test(size=(180, 45)) as pilot:
        original = app.notify

        def spy(message, *args, **kwargs):
            faults.append(str(message))
            return original(message, *args, **kwargs)

        app.notify = spy  # type: ignore[method-assign]
        await until(pilot, lambda: "customersignal-prod" in screen_text(app), timeout=15)
        rows = {r.component_name: r for r in app.query(ComponentRow)}
        assert "Project" in rows
        text = screen_text(app)
        cells = [str(s.render()) for s in rows["Project"].query(Static)]
        assert cells[0] == "Project" and cells[1].endswith("HEALTHY")
        assert "ACTIVE_HEALTHY" in cells[3] and "customersignal-prod (us-east-1)" in cells[3]
        assert "pane fault" not in text
        await until(pilot, lambda: "Platform status" in {r.component_name for r in app.query(ComponentRow)})
        platform = [str(s.render()) for s in {r.component_name: r for r in app.query(ComponentRow)}["Platform status"].query(Static)]
        assert platform[1].endswith("DEGRADED") and platform[3].startswith("incident in us-east-1: Degraded Auth in us-east-1 (investigating")
    page.stop()
    assert not [f for f in faults if "pane fault" in f]
    assert page.requests == 1  # the cache: one look at the page however often health runs
