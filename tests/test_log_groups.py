"""Counting in the Logs pane: group by ip, user, function..., and the per-minute histogram."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cs_console.backends.demo.model.catalog import ATTACKER_IPS, COMPROMISED_USER, TAKEOVER_IP
from cs_console.domain.log_filter import matches
from cs_console.domain.log_grouping import group_by, per_minute, record_ip, record_user
from cs_console.domain.log_record import Level, LogRecord
from cs_console.tui.screens.log_groups import LogGroupsScreen, filter_term, histogram_line
from tests.demo_app import demo_app, play
from tests.screen_text import screen_text, until

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def rec(message: str = "", raw: dict | None = None, *, at: datetime = NOW, function: str | None = None, status: int | None = None) -> LogRecord:
    return LogRecord(at, Level.INFO, "edge", message, function, status, None, None, raw or {})


def test_the_ip_is_found_where_each_source_keeps_it() -> None:
    # Supabase's BigQuery-dialect metadata: lists of nested records
    bq = {"metadata": [{"request": [{"headers": [{"x_real_ip": "203.0.113.9", "cf_connecting_ip": "198.51.100.1"}]}]}]}
    assert record_ip(rec(raw=bq)) == "203.0.113.9"
    # ClickHouse log_attributes keys, dotted
    assert record_ip(rec(raw={"request.headers.cf-connecting-ip": "198.51.100.2"})) == "198.51.100.2"
    # GoTrue's JSON line kept as the message
    assert record_ip(rec('{"msg":"Login","remote_addr":"192.0.2.5","auth_event":{"actor_username":"Ann@Example.com"}}')) == "192.0.2.5"
    # X-Forwarded-For: the client is the first address
    assert record_ip(rec(raw={"x_forwarded_for": "203.0.113.4, 10.0.0.1"})) == "203.0.113.4"
    # only the text: an IPv4 in it, never a version number
    assert record_ip(rec("GET | 200 | 192.0.2.77 | /rest/v1")) == "192.0.2.77"
    assert record_ip(rec("deno 1.2.3.4567 started")) is None


def test_the_user_is_the_account_a_record_is_about() -> None:
    assert record_user(rec('{"auth_event":{"action":"login","actor_username":"Dana@BrightPath.health"}}')) == "dana@brightpath.health"
    assert record_user(rec(raw={"event_message": '{"auth_event":{"actor_username":"sam@x.io"}}'})) == "sam@x.io"
    assert record_user(rec("password reset for lee@example.org")) == "lee@example.org"
    assert record_user(rec("no account here")) is None


def test_filters_by_ip_and_user() -> None:
    a = rec("POST | 400 | 203.0.113.77 | /token | Invalid login credentials", {"actor_username": "dana@x.io"})
    b = rec("POST | 200 | 192.0.2.1 | /token | Login", {"actor_username": "sam@x.io"})
    assert [r is a for r in (a, b) if matches("ip=203.0.113.77", r, NOW)] == [True]
    assert [r is b for r in (a, b) if matches("user=SAM@x.io", r, NOW)] == [True]
    assert [r is a for r in (a, b) if matches("-user=sam@x.io", r, NOW)] == [True]


def test_groups_are_counted_sorted_and_limited() -> None:
    records = [rec(function="a", at=NOW - timedelta(minutes=i)) for i in range(6)] + [rec(function="b")] * 3 + [rec()]
    g = group_by(records, "function")
    assert [(x.value, x.count) for x in g.groups] == [("a", 6), ("b", 3)]
    assert g.without == 1 and g.counted == 10 and not g.limited
    assert round(g.groups[0].share_pct) == 60 and g.groups[0].per_min == 6 / 5
    assert group_by(records, "function", limit=4).limited
    bins = per_minute(records, now=NOW + timedelta(seconds=30))
    assert len(bins) == 60 and sum(bins) == 10 and bins[-1] == 5
    assert histogram_line([0, 1, 8]) == " ▁█"
    assert filter_term("ip", "203.0.113.7") == "ip=203.0.113.7"
    assert filter_term("user", 'a "b"') == '"a b"'


async def test_which_ip_and_which_account_in_a_few_keys() -> None:
    """The security-breach question: the attacking IP, then the account it took over."""
    app = demo_app("security-breach", initial_pane="logs", pane_options={"source": "auth"})
    async with app.run_test(size=(80, 24)) as pilot:
        await play(app, 600, 30)
        pane = app.current_pane
        await until(pilot, lambda: len(pane.lines) > 1000)
        keys = ["g"]
        await pilot.press(*keys)
        await until(pilot, lambda: isinstance(app.screen, LogGroupsScreen) and app.screen.grouping is not None)
        top_ip = app.screen.grouping.groups[0].value
        assert top_ip in {TAKEOVER_IP, *(ip for ip, _, _ in ATTACKER_IPS)}
        await until(pilot, lambda: top_ip in screen_text(app))
        await pilot.press("enter")  # filter by it
        keys.append("enter")
        await until(pilot, lambda: pane.typed_filter == f"ip={top_ip}")
        await pilot.press("g", "u")
        keys += ["g", "u"]
        await until(pilot, lambda: isinstance(app.screen, LogGroupsScreen) and app.screen.grouping is not None and app.screen.grouping.field == "user")
        users = [g.value for g in app.screen.grouping.groups]
        assert users and users[0] == COMPROMISED_USER, users[:5]
        await until(pilot, lambda: COMPROMISED_USER in screen_text(app))
        assert len(keys) <= 10
