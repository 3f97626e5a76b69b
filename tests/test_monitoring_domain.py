"""Thresholds, time in state, spikes, alerts, sparklines, the scaling advisor, maintenance windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cs_console.domain.alerts import AlertClass, AlertEngine, conditions
from cs_console.domain.health import ComponentHealth, HealthReport, HealthStatus
from cs_console.domain.maintenance import DEFAULT_WINDOWS
from cs_console.domain.metric_history import MetricHistory, StateTracker, is_spike
from cs_console.domain.metrics import MetricSample, MetricsSnapshot
from cs_console.domain.scaling import advise
from cs_console.domain.sparkline import BARS, sparkline
from cs_console.domain.thresholds import DEFAULT_THRESHOLDS, MetricState

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def snap(at: datetime, **values: float | None) -> MetricsSnapshot:
    return MetricsSnapshot("t", at, {k.replace("__", "."): MetricSample(k.replace("__", "."), v) for k, v in values.items()})


def test_manual_defaults() -> None:
    t = DEFAULT_THRESHOLDS
    assert (t["connections_pct"].warning, t["query_avg_ms"].warning, t["db_error_rate_pct"].warning) == (80, 50, 0.1)
    assert (t["function_error_rate_pct"].warning, t["function_avg_duration_ms"].warning) == (1, 2000)
    assert (t["api_p95_ms"].warning, t["api_error_rate_pct"].warning, t["db_response_ms"].warning) == (500, 0.5, 100)
    assert (t["cpu_pct"].warning, t["memory_pct"].warning, t["backup_age_h"].warning) == (80, 85, 24)
    c = t["connections_pct"]
    assert [c.state(v) for v in (None, 79.9, 80, 89.9, 90)] == [MetricState.UNKNOWN, MetricState.OK, MetricState.WARNING, MetricState.WARNING, MetricState.CRITICAL]


def test_time_in_state_and_missing_metric_keeps_state() -> None:
    tracker = StateTracker(DEFAULT_THRESHOLDS)
    tracker.update(snap(T0, db__connections__pct=85))
    tracker.update(snap(T0 + timedelta(seconds=30), db__connections__pct=86))
    e = tracker.entries["connections_pct"]
    assert e.state == MetricState.WARNING and e.since == T0 and e.duration(T0 + timedelta(seconds=30)) == timedelta(seconds=30)
    tracker.update(snap(T0 + timedelta(seconds=60), host__cpu_pct=10))  # connections not reported: unchanged
    assert tracker.entries["connections_pct"].since == T0
    tracker.update(snap(T0 + timedelta(seconds=90), db__connections__pct=95))
    assert tracker.entries["connections_pct"].state == MetricState.CRITICAL and tracker.entries["connections_pct"].since == T0 + timedelta(seconds=90)
    tracker.update(snap(T0 + timedelta(seconds=95), db__connections__pct=None))
    assert tracker.entries["connections_pct"].state == MetricState.UNKNOWN


def test_history_is_bounded_by_time() -> None:
    h = MetricHistory(window=timedelta(minutes=15))
    for i in range(2000):
        h.add(snap(T0 + timedelta(seconds=2 * i), api__requests_per_min=float(i)))
    pts = h.points("api.requests_per_min")
    assert len(pts) <= 451 and (pts[-1][0] - pts[0][0]) <= timedelta(minutes=15)


def test_spike_against_rolling_baseline() -> None:
    h = MetricHistory()
    for i in range(20):
        h.add(snap(T0 + timedelta(seconds=10 * i), fn__invocations_per_min=100.0 + (i % 3)))
    base = h.baseline("fn.invocations_per_min", exclude_last=0)
    assert base is not None and 100 <= base <= 102
    assert is_spike(350, base) and not is_spike(200, base) and not is_spike(5, None)


def health(**statuses: HealthStatus) -> HealthReport:
    return HealthReport(tuple(ComponentHealth(n, s, "why") for n, s in statuses.items()), T0)


def test_alert_classes_follow_the_manual() -> None:
    tracker = StateTracker(DEFAULT_THRESHOLDS)
    states = tracker.update(snap(T0, api__p95_ms=700, fn__error_rate_pct=3, auth__failures_per_min=90, host__cpu_pct=85, db__connections__pct=93))
    found = conditions(health(Database=HealthStatus.DOWN, Auth=HealthStatus.HEALTHY), states, None, None, {})
    by_rule = {f[1]: f[2] for f in found}
    assert by_rule["database-down"] == AlertClass.CRITICAL
    assert by_rule["authentication-failures"] == AlertClass.CRITICAL
    assert by_rule["high-response-times"] == AlertClass.WARNING
    assert by_rule["elevated-error-rates"] == AlertClass.WARNING
    assert by_rule["resource-usage-trends"] == AlertClass.INFO
    assert by_rule["connection-pool-exhaustion"] == AlertClass.CRITICAL
    details = {f[1]: f[4] for f in found}
    # values read as on the Metrics pane: "90.0/min", not "90.0 /min"
    assert details["authentication-failures"].startswith("Auth failures 90.0/min (CRITICAL")
    assert details["connection-pool-exhaustion"].startswith("Connections used 93.0% (CRITICAL")


def test_unusual_traffic_is_info() -> None:
    h = MetricHistory()
    for i in range(10):
        h.add(snap(T0 + timedelta(seconds=10 * i), api__requests_per_min=1000.0))
    s = snap(T0 + timedelta(seconds=100), api__requests_per_min=5000.0)
    h.add(s)
    found = conditions(None, {}, s, h, {})
    assert [(f[1], f[2]) for f in found] == [("unusual-traffic", AlertClass.INFO)]


def test_alert_engine_raises_once_escalates_and_resolves() -> None:
    engine = AlertEngine()
    cond = [("connections", "connection-pool-exhaustion", AlertClass.WARNING, "t", "d", "m", 85.0)]
    raised, resolved = engine.evaluate(T0, cond)
    assert len(raised) == 1 and not resolved
    raised, resolved = engine.evaluate(T0 + timedelta(seconds=2), cond)
    assert raised == [] and resolved == []
    cond_crit = [("connections", "connection-pool-exhaustion", AlertClass.CRITICAL, "t", "d", "m", 95.0)]
    raised, _ = engine.evaluate(T0 + timedelta(seconds=4), cond_crit)
    assert raised[0].alert_class == AlertClass.CRITICAL
    raised, resolved = engine.evaluate(T0 + timedelta(seconds=6), [])
    assert raised == [] and resolved[0].resolved_at == T0 + timedelta(seconds=6) and engine.active == {}


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200), st.integers(5, 60))
def test_sparkline_width_and_alphabet(values: list[float], width: int) -> None:
    pts = [(T0 + timedelta(seconds=5 * i), v) for i, v in enumerate(values)]
    line = sparkline(pts, pts[-1][0], 900.0, width)
    assert len(line) == width and set(line) <= set(BARS) | {" "}
    assert line[-1] != " "


def test_sparkline_shape() -> None:
    pts = [(T0 + timedelta(seconds=90 * i), float(i)) for i in range(10)]
    line = sparkline(pts, pts[-1][0], 900.0, 10)
    assert line[0] == BARS[0] and line[-1] == BARS[-1]


def test_scaling_advisor_cpu_needs_to_be_consistent() -> None:
    tracker = StateTracker(DEFAULT_THRESHOLDS)
    h = MetricHistory()
    tracker.update(snap(T0, host__cpu_pct=90, db__connections__pct=85, host__memory_pct=50))
    adv = {t.name: t for t in advise(tracker.entries, h, T0 + timedelta(minutes=1))}
    assert not adv["CPU"].crossed and adv["Connections"].crossed and not adv["Memory"].crossed
    assert "Upgrade compute tier via dashboard" in adv["Connections"].actions
    tracker.update(snap(T0 + timedelta(minutes=6), host__cpu_pct=91))
    adv = {t.name: t for t in advise(tracker.entries, h, T0 + timedelta(minutes=6))}
    assert adv["CPU"].crossed and adv["CPU"].since == T0


def test_scaling_advisor_response_times_degrading() -> None:
    h = MetricHistory()
    for i in range(60):
        v = 100.0 if i < 50 else 300.0
        h.add(snap(T0 + timedelta(seconds=15 * i), api__p95_ms=v))
    now = T0 + timedelta(seconds=15 * 59)
    adv = {t.name: t for t in advise({}, h, now)}
    assert adv["Response times"].crossed and "API p95" in adv["Response times"].value


def test_maintenance_windows_are_the_manuals() -> None:
    weekly, monthly = DEFAULT_WINDOWS
    sunday_3am = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)  # the last Sunday of November
    assert weekly.contains(sunday_3am) and not monthly.contains(sunday_3am)
    first_sunday = datetime(2026, 12, 6, 1, 30, tzinfo=timezone.utc)
    assert monthly.contains(first_sunday) and not weekly.contains(first_sunday)
    assert weekly.next_start(T0) == datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
    assert monthly.next_start(T0) == datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)


def test_a_warning_class_alert_says_warning_and_follows_its_value() -> None:
    tracker = StateTracker(DEFAULT_THRESHOLDS)
    engine = AlertEngine()
    states = tracker.update(snap(T0, api__p95_ms=1250))  # past the critical level: still a WARNING-class alert
    raised, _ = engine.evaluate(T0, conditions(None, states, None, None, {"api_p95_ms": "p95 < 500ms"}))
    assert raised[0].alert_class == AlertClass.WARNING
    assert "(WARNING; manual: p95 < 500ms)" in raised[0].detail and "CRITICAL" not in raised[0].detail
    states = tracker.update(snap(T0 + timedelta(seconds=10), api__p95_ms=700))
    engine.evaluate(T0 + timedelta(seconds=10), conditions(None, states, None, None, {}))
    alert = engine.active["response-time:api_p95_ms"]
    assert alert.value == 700 and alert.value_at_onset == 1250 and "700 ms" in alert.detail
    assert alert.at == T0  # the same alert, not a new one


def test_hysteresis_a_value_hovering_at_a_level_raises_once() -> None:
    tracker = StateTracker(DEFAULT_THRESHOLDS)
    engine = AlertEngine()
    raised_total, resolved_total = 0, 0
    for i, value in enumerate([40, 51, 49, 52, 48, 50.5, 46, 51]):
        at = T0 + timedelta(seconds=10 * i)
        raised, resolved = engine.evaluate(at, conditions(None, tracker.update(snap(at, db__query_avg_ms=value)), None, None, {}))
        raised_total, resolved_total = raised_total + len(raised), resolved_total + len(resolved)
    assert (raised_total, resolved_total) == (1, 0)
    at = T0 + timedelta(seconds=100)
    _, resolved = engine.evaluate(at, conditions(None, tracker.update(snap(at, db__query_avg_ms=44)), None, None, {}))
    assert len(resolved) == 1  # below the clear point (90 % of 50 ms)


def test_hysteresis_is_generic_and_configurable() -> None:
    t = DEFAULT_THRESHOLDS["connections_pct"]  # 80 / 90, clears at 72 / 81
    assert t.state_after(85, MetricState.CRITICAL) == MetricState.CRITICAL
    assert t.state_after(80.5, MetricState.CRITICAL) == MetricState.WARNING
    assert t.state_after(75, MetricState.WARNING) == MetricState.WARNING
    assert t.state_after(71, MetricState.WARNING) == MetricState.OK
    assert t.state_after(75, MetricState.OK) == MetricState.OK  # rising uses the levels themselves
    assert t.state_after(None, MetricState.WARNING) == MetricState.UNKNOWN
    from dataclasses import replace

    tight = replace(t, clear=79.0)
    assert tight.state_after(78.5, MetricState.WARNING) == MetricState.OK
