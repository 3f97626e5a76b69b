"""The platform's status page: a real loopback HTTP server answering Statuspage summaries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cs_console.backends.statuspage.client import StatusPageClient
from cs_console.backends.statuspage.probe import PlatformStatusProbe
from cs_console.domain.health import PLATFORM_STATUS, HealthStatus
from cs_console.domain.platform_status import SummaryFormatError, assess, parse_summary
from tests import fake_statuspage as sp
from tests.fake_statuspage import FakeStatusPage


@pytest.fixture()
def page() -> Iterator[FakeStatusPage]:
    with FakeStatusPage() as fake:
        yield fake


async def check(page: FakeStatusPage, region: str = "eu-central-1", **kwargs) -> tuple:
    probe = PlatformStatusProbe(StatusPageClient(page.url, **kwargs), region=region)
    [comp] = await probe.check()
    assert comp.name == PLATFORM_STATUS
    return comp.status, comp.detail


async def test_all_operational_is_healthy(page: FakeStatusPage) -> None:
    status, detail = await check(page)
    assert status is HealthStatus.HEALTHY and detail == "no incident for eu-central-1"


async def test_incident_in_our_region_is_degraded_with_title_and_link(page: FakeStatusPage) -> None:
    page.summary = sp.summary(incidents=[sp.incident("Elevated API errors in eu-central-1", ["eu-central-1/database", "eu-central-1/auth"])])
    status, detail = await check(page)
    assert status is HealthStatus.DEGRADED
    assert "incident in eu-central-1: Elevated API errors in eu-central-1 (investigating, major impact)" in detail
    assert "https://stspg.io/p1xqv7z" in detail


async def test_incident_elsewhere_is_healthy_but_mentioned(page: FakeStatusPage) -> None:
    page.summary = sp.summary(incidents=[sp.incident("Storage slow in Singapore", ["ap-southeast-1/storage"])])
    status, detail = await check(page)
    assert status is HealthStatus.HEALTHY
    assert detail == "no incident for eu-central-1; 1 elsewhere: Storage slow in Singapore"
    # The same page for a project in ap-southeast-1 is DEGRADED.
    status, detail = await check(page, region="ap-southeast-1")
    assert status is HealthStatus.DEGRADED and "Storage slow in Singapore" in detail


async def test_platform_wide_incident_counts_for_every_region(page: FakeStatusPage) -> None:
    page.summary = sp.summary(incidents=[
        sp.incident("Storage slow in Singapore", ["ap-southeast-1/storage"], ident="aaaaaaaaaaaa"),
        sp.incident("Management API returns 500s", ["management-api"], impact="minor", ident="bbbbbbbbbbbb"),
    ])
    status, detail = await check(page, region="us-east-1")
    assert status is HealthStatus.DEGRADED
    assert detail.startswith("platform-wide incident: Management API returns 500s (investigating, minor impact) https://stspg.io/bbbbbbb")
    # An incident naming no component at all is the whole platform's too.
    bare = sp.incident("Investigating reports of failed logins", [])
    page.summary = sp.summary(incidents=[bare])
    assert (await check(page))[0] is HealthStatus.DEGRADED


async def test_resolved_incidents_and_maintenances(page: FakeStatusPage) -> None:
    done = sp.incident("Old trouble", ["eu-central-1/database"], status="resolved")
    later = sp.maintenance("Database upgrades in eu-central-1", ["eu-central-1/database"])
    page.summary = sp.summary(incidents=[done], maintenances=[later])
    status, detail = await check(page)
    assert status is HealthStatus.HEALTHY
    assert detail == "no incident for eu-central-1; maintenance scheduled 2026-12-05 02:00 UTC: Database upgrades in eu-central-1"
    page.summary = sp.summary(maintenances=[sp.maintenance("Database upgrades in eu-central-1", ["eu-central-1/database"], status="in_progress")])
    verdict = assess(await StatusPageClient(page.url).summary(), "eu-central-1")
    assert verdict.status is HealthStatus.DEGRADED and verdict.detail.startswith("maintenance in progress: Database upgrades")


async def test_component_degraded_without_incident(page: FakeStatusPage) -> None:
    page.summary = sp.summary(degraded={"eu-central-1/realtime": "degraded_performance", "us-east-1/auth": "major_outage"})
    status, detail = await check(page)
    assert status is HealthStatus.DEGRADED and detail == "Realtime: degraded performance (no incident posted)"


@pytest.mark.parametrize("body", [b"<html>Service Unavailable</html>", b"[1, 2, 3]", b'{"page": {}}', b'{"components": "x"}', b""])
async def test_garbage_is_unknown_with_the_reason(page: FakeStatusPage, body: bytes) -> None:
    page.raw = body
    status, detail = await check(page)
    assert status is HealthStatus.UNKNOWN
    assert detail.startswith("status page not read: 127.0.0.1: not a status summary (")


async def test_http_error_is_unknown(page: FakeStatusPage) -> None:
    page.status_code = 503
    assert await check(page) == (HealthStatus.UNKNOWN, "status page not read: 127.0.0.1 answered HTTP 503")


async def test_timeout_is_unknown_never_down(page: FakeStatusPage) -> None:
    page.stall_s = 1.5
    status, detail = await check(page, timeout_s=0.3)
    assert status is HealthStatus.UNKNOWN and detail == "status page not read: 127.0.0.1: no answer within 0.3 s"


async def test_no_network_is_unknown() -> None:
    probe = PlatformStatusProbe(StatusPageClient("http://127.0.0.1:9"), region="eu-central-1")
    [comp] = await probe.check()
    assert comp.status is HealthStatus.UNKNOWN and comp.detail.startswith("status page not read: cannot reach 127.0.0.1: ConnectError")


async def test_answers_are_cached_failures_too(page: FakeStatusPage) -> None:
    clock = [100.0]
    client = StatusPageClient(page.url, cache_s=60.0, monotonic=lambda: clock[0])
    probe = PlatformStatusProbe(client, region="eu-central-1")
    await probe.check()
    await probe.check()
    assert page.requests == 1
    page.summary = sp.summary(incidents=[sp.incident("Elevated API errors", ["eu-central-1/database"])])
    clock[0] += 61.0
    assert (await probe.check())[0].status is HealthStatus.DEGRADED and page.requests == 2
    page.status_code = 500
    clock[0] += 61.0
    await probe.check()
    await probe.check()
    assert page.requests == 3  # a failing page is asked once a minute, not once per health check


async def test_region_comes_from_the_lookup_once(page: FakeStatusPage) -> None:
    page.summary = sp.summary(incidents=[sp.incident("Slow queries", ["us-east-1/database"])])
    calls: list[int] = []

    async def lookup() -> str:
        calls.append(1)
        return "us-east-1"

    probe = PlatformStatusProbe(StatusPageClient(page.url), region_lookup=lookup)
    assert (await probe.check())[0].status is HealthStatus.DEGRADED
    await probe.check()
    assert len(calls) == 1


async def test_unknown_region_says_so(page: FakeStatusPage) -> None:
    page.summary = sp.summary(incidents=[sp.incident("Slow queries", ["us-east-1/database"])])

    async def broken() -> str:
        raise RuntimeError("503 from the Management API")

    probe = PlatformStatusProbe(StatusPageClient(page.url), region_lookup=broken)
    [comp] = await probe.check()
    assert comp.status is HealthStatus.DEGRADED
    assert "project region unknown: it may not affect us" in comp.detail and "RuntimeError: 503" in comp.detail


def test_untrusted_names_are_made_safe() -> None:
    data = sp.summary(incidents=[sp.incident("Evil\x1b[2J title\nsecond line", ["eu-central-1/database"])])
    verdict = assess(parse_summary(data), "eu-central-1")
    assert "\x1b" not in verdict.detail and "\n" not in verdict.detail and "␛[2J" in verdict.detail


def test_not_a_summary_is_a_format_error() -> None:
    for bad in (None, [], {"page": {}}, {"components": [{"name": "no id"}]}, {"incidents": [{"id": "x"}]}):
        with pytest.raises(SummaryFormatError):
            parse_summary(bad)


def test_profile_keys_are_checked(tmp_path) -> None:
    from cs_console.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text('[profiles.p]\nplatform_region = "Frankfurt"\n')
    with pytest.raises(ConfigError, match="a region code such as eu-central-1"):
        load_config(str(path))
    path.write_text('[profiles.p]\nstatus_page_url = "status.supabase.com"\n')
    with pytest.raises(ConfigError, match="an http"):
        load_config(str(path))
    path.write_text('[profiles.p]\nplatform_region = "ap-southeast-1"\n')
    prof = load_config(str(path)).profile("p")
    assert prof.platform_region == "ap-southeast-1" and prof.status_page_url == "https://status.supabase.com"


async def test_live_wiring_uses_the_profile_region_and_can_be_turned_off(page: FakeStatusPage, tmp_path, monkeypatch) -> None:
    from cs_console.config import load_config
    from cs_console.services.session import Session
    from cs_console.wiring.live import build_live_environment

    page.summary = sp.summary(incidents=[sp.incident("Storage slow in Singapore", ["ap-southeast-1/storage"])])
    path = tmp_path / "config.toml"
    base = '[profiles.p]\nproject_ref = "csgnlprodabcdefghijk"\nmanagement_api_url = "http://127.0.0.1:9"\n'
    path.write_text(base + f'status_page_url = "{page.url}"\nplatform_region = "ap-southeast-1"\n')
    config = load_config(str(path))
    env = build_live_environment(Session(config, config.profile("p"), None, tmp_path / "state"))
    [probe] = [p for p in env.health_probes if p.name == "statuspage"]
    [comp] = await probe.check()  # the Management API is unreachable: the profile's region is enough
    assert comp.status is HealthStatus.DEGRADED and "incident in ap-southeast-1: Storage slow in Singapore" in comp.detail
    await env.aclose()
    path.write_text(base + 'status_page_url = ""\n')
    config = load_config(str(path))
    env = build_live_environment(Session(config, config.profile("p"), None, tmp_path / "state"))
    assert not [p for p in env.health_probes if p.name == "statuspage"]
    await env.aclose()
