"""The demo's scenarios: what each incident does over simulated minutes after its onset.

Each shape is a pure function of tau (simulated seconds since onset), so the
model can evaluate any second without replaying the ones before it.
The operator's actions (recorded as interventions) bend these shapes in
the model (demand.py, performance.py, connections.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    story: str  # what happens, for the help screen and the README
    remedy: str  # what resolves it in the demo
    onset_lead_s: float  # interactive console: onset this long after start
    developed_after_s: float  # one-shot commands: this long after onset


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "calm",
        "A calm day",
        "Normal traffic with its daily shape; every figure inside the manual's thresholds.",
        "Nothing to fix; rehearse the daily checks and maintenance.",
        0.0,
        0.0,
    ),
    Scenario(
        "connection-exhaustion",
        "Connection pool exhaustion",
        "A new signal-worker release leaks idle-in-transaction connections holding row locks on "
        "signal_queue. Connections pass 80% of the limit within about 40 s and reach it within a "
        "minute: new connections are refused, queue updates wait on locks and time out, functions fail.",
        "Terminate the idle-in-transaction signal-worker backends (relief: the worker keeps leaking, "
        "more slowly), then restart the worker (the fix) or set idle_in_transaction_session_timeout.",
        10.0,
        18 * 60.0,
    ),
    Scenario(
        "function-failures",
        "Edge function failures after a deploy",
        "process-conversations v58 throws on messages without a sentiment block and retries its "
        "sentiment API call: error rate and durations climb over four minutes, with timeouts, "
        "uncaught exceptions and 5xx responses.",
        "Redeploy process-conversations (the fixed build); errors fall back within about 40 s.",
        10.0,
        18 * 60.0,
    ),
    Scenario(
        "traffic-spike",
        "High traffic spike",
        "A customer's sync client (203.0.113.50) loops on /rest/v1/signals: API requests x7, p95 "
        "latency and CPU climb, monitor-keywords is throttled, connections rise past 80%.",
        "Enable rate limiting (the client gets 429s), activate CDN caching, or scale compute "
        "(a resize restarts the database for about 90 s).",
        10.0,
        18 * 60.0,
    ),
    Scenario(
        "security-breach",
        "Credential stuffing and a compromised account",
        "Four addresses try leaked credentials against /auth/v1/token (hundreds of 400s a minute); "
        "one account falls and pages through conversations; the service_role key is used from an "
        "unknown address.",
        "Ban the compromised user, enable CAPTCHA on sign-in (the attackers give up), rotate the "
        "service_role key. The API cannot add an IP ban: network bans only list and remove.",
        10.0,
        18 * 60.0,
    ),
    Scenario(
        "platform-incident",
        "A Supabase platform incident",
        "Supabase's API gateway in eu-central-1 (our region) slows down and drops requests: REST p95 "
        "passes 800 ms and about 1% of requests fail with 5xx, though nothing of ours changed. Two "
        "minutes in, status.supabase.com posts an incident for the region; it is identified at 8 min, "
        "the fix rolls out from 24 min and the incident is resolved at 35 min.",
        "Nothing to fix on our side: check the status page (the Overview's Platform status names the "
        "incident), tell stakeholders it is the platform's, hold deploys, and watch it recover.",
        10.0,
        18 * 60.0,
    ),
)
SCENARIO_BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}
SCENARIO_NAMES: tuple[str, ...] = tuple(SCENARIO_BY_NAME)


def ramp(x: float, start: float, length: float) -> float:
    """0 before start, 1 after start+length, smoothstep in between."""
    if x <= start:
        return 0.0
    if x >= start + length:
        return 1.0
    f = (x - start) / length
    return f * f * (3.0 - 2.0 * f)


# --- connection-exhaustion -------------------------------------------------
LEAK_SURGE_S = 150.0  # the backlog the bad release chews through after its deploy
LEAK_SURGE_PER_S = 0.85  # leaked transactions per second during the surge
LEAK_SLOW_PER_S = 0.12  # afterwards: one every ~8 s (the "slow reconnect")


def leak_rate(tau: float) -> float:
    """Leaked idle-in-transaction connections the buggy worker opens per second."""
    if tau < 0:
        return 0.0
    return LEAK_SURGE_PER_S if tau < LEAK_SURGE_S else LEAK_SLOW_PER_S


# --- function-failures -----------------------------------------------------
def failure_severity(tau: float) -> float:
    """0..1: how much of process-conversations' traffic hits the bad code path."""
    return ramp(tau, 5.0, 240.0)


FAILURE_PEAK_ERROR_PCT = 38.0
FIX_RECOVERY_S = 40.0  # old isolates drain after a redeploy


# --- traffic-spike ---------------------------------------------------------
SPIKE_MULTIPLE = 6.5  # extra REST traffic, in multiples of the normal REST peak
SPIKE_RAMP_S = 150.0
RATE_LIMIT_CLIENT_RPM = 300.0  # what a rate-limited client may still send
REPORT_QUERY_START_S = 60.0  # a heavy dashboard report starts during the spike
REPORT_QUERY_RUNS_S = 40 * 60.0


def spike_level(tau: float) -> float:
    """0..1: the share of the spike in force (ramps up, holds for ~45 min, eases off)."""
    return ramp(tau, 0.0, SPIKE_RAMP_S) * (1.0 - 0.7 * ramp(tau, 45 * 60.0, 20 * 60.0))


# --- security-breach -------------------------------------------------------
STUFFING_PEAK_RPM = 360.0
TAKEOVER_AT_S = 150.0  # the compromised account's first successful sign-in
BULK_READS_AT_S = 170.0
BULK_READS_RPM = 40.0
SERVICE_KEY_AT_S = 300.0
SERVICE_KEY_RPM = 12.0
DB_BRUTE_FORCE_AT_S = 60.0
DB_AUTO_BAN_AT_S = 200.0  # Postgres brute-force protection bans the address
ATTACKER_GIVE_UP_S = 180.0  # after CAPTCHA, the bots' volume decays over this
BANNED_SESSION_GRACE_S = 45.0  # the banned user's access token still works until its next refresh


def stuffing_level(tau: float) -> float:
    return ramp(tau, 0.0, 90.0)


# --- platform-incident -----------------------------------------------------
PLATFORM_POSTED_AT_S = 120.0  # the status page lags the impact, as real ones do
PLATFORM_IDENTIFIED_AT_S = 8 * 60.0
PLATFORM_MONITORING_AT_S = 25 * 60.0
PLATFORM_RESOLVED_AT_S = 35 * 60.0
PLATFORM_P95_EXTRA_MS = 700.0
PLATFORM_5XX_SHARE = 0.012


def platform_impact(tau: float) -> float:
    """0..1: how hard the platform's gateway trouble hits our API (the fix rolls out from 24 min)."""
    return ramp(tau, 0.0, 60.0) * (1.0 - ramp(tau, 24 * 60.0, 4 * 60.0))


def platform_incident_status(tau: float) -> str | None:
    """The status page's incident status at tau; None before it is posted and once resolved."""
    if tau < PLATFORM_POSTED_AT_S or tau >= PLATFORM_RESOLVED_AT_S:
        return None
    if tau < PLATFORM_IDENTIFIED_AT_S:
        return "investigating"
    return "identified" if tau < PLATFORM_MONITORING_AT_S else "monitoring"
