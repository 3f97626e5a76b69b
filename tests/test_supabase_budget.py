"""The shared request budget: sliding window, priorities, 429 blocks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console.backends.supabase.rate_budget import (
    BudgetExhausted,
    ClassLimit,
    EndpointClass,
    Priority,
    RateBudget,
    bucket_for,
    classify,
)


class Tick:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_classify_logs_and_usage_endpoints() -> None:
    base = "/v1/projects/csgnlprodabcdefghijk/analytics/endpoints/"
    for name in ("logs.all", "logs", "usage.api-counts", "usage.api-requests-count"):
        assert classify(base + name + "?sql=x") is EndpointClass.LOGS
    assert classify(base + "functions.combined-stats") is EndpointClass.GENERAL
    assert classify("/v1/projects/csgnlprodabcdefghijk/health") is EndpointClass.GENERAL


def test_sliding_window_refuses_the_31st_and_says_when() -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    for i in range(30):
        clock.t += 1.0
        assert budget.try_spend(EndpointClass.LOGS)
    assert not budget.can_spend(EndpointClass.LOGS)
    # The first request (at t=1001) ages out at t=1061; now is 1030.
    assert budget.wait_time(EndpointClass.LOGS) == pytest.approx(31.0)
    with pytest.raises(BudgetExhausted) as info:
        budget.spend(EndpointClass.LOGS)
    assert "next request in 31s" in str(info.value)
    clock.t += 31.0
    assert budget.try_spend(EndpointClass.LOGS)
    # The general class is independent.
    assert budget.remaining(EndpointClass.GENERAL) == 120


def test_low_priority_keeps_the_reserve_for_interactive_work() -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    spent_low = 0
    while budget.try_spend(EndpointClass.LOGS, Priority.LOW):
        spent_low += 1
    assert spent_low == 20  # 30 minus the reserve of 10
    assert budget.remaining(EndpointClass.LOGS, Priority.HIGH) == 10
    assert budget.try_spend(EndpointClass.LOGS, Priority.HIGH)


def test_429_blocks_the_class_until_reset() -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    budget.block(EndpointClass.LOGS, 12.0)
    assert budget.remaining(EndpointClass.LOGS) == 0
    assert budget.state(EndpointClass.LOGS).blocked_for_s == pytest.approx(12.0)
    with pytest.raises(BudgetExhausted) as info:
        budget.spend(EndpointClass.LOGS)
    assert info.value.blocked
    assert budget.can_spend(EndpointClass.GENERAL)
    clock.t += 12.0
    assert budget.try_spend(EndpointClass.LOGS)


async def test_acquire_waits_a_little_or_refuses() -> None:
    budget = RateBudget({EndpointClass.GENERAL: ClassLimit(120), EndpointClass.LOGS: ClassLimit(2)}, window_s=0.2)
    await budget.acquire(EndpointClass.LOGS)
    await budget.acquire(EndpointClass.LOGS)
    with pytest.raises(BudgetExhausted):
        await budget.acquire(EndpointClass.LOGS, max_wait_s=0.0)
    await budget.acquire(EndpointClass.LOGS, max_wait_s=1.0)  # a slot frees after 0.2 s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.sampled_from(list(Priority))), max_size=200))
def test_never_more_than_the_limit_in_any_window(steps: list[tuple[float, Priority]]) -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    accepted: list[float] = []
    for dt, prio in steps:
        clock.t += dt
        if budget.try_spend(EndpointClass.LOGS, prio):
            accepted.append(clock.t)
    for i, t in enumerate(accepted):
        in_window = [u for u in accepted[: i + 1] if u > t - 60.0]
        assert len(in_window) <= 30


def test_each_endpoint_has_its_own_budget() -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    base = "/v1/projects/csgnlprodabcdefghijk/analytics/endpoints/"
    assert bucket_for(base + "logs?sql=x") == "logs" and bucket_for(base + "logs.all") == "logs.all"
    assert bucket_for("/v1/projects/csgnlprodabcdefghijk/health") == "general:/v1/projects/{ref}/health"
    while budget.try_spend("logs"):
        pass
    assert budget.state("logs").used == 30
    assert budget.can_spend("usage.api-counts") and budget.can_spend("logs.all"), "one used-up endpoint stops only itself"
    budget.block(bucket_for("/v1/projects/x/functions"), 30)
    assert not budget.can_spend(bucket_for("/v1/projects/x/functions"))
    assert budget.can_spend(bucket_for("/v1/projects/x/health"))


def test_a_degraded_quota_lowers_one_endpoint() -> None:
    clock = Tick()
    budget = RateBudget(clock=clock)
    budget.set_limit("logs", 10)
    assert budget.degraded("logs") and budget.limit("logs").per_window == 10
    assert budget.limit("logs").reserve < 10 and budget.limit("logs.all").per_window == 30
    spent = 0
    while budget.try_spend("logs"):
        clock.t += 0.1
        spent += 1
    assert spent == 10
    budget.set_limit("logs", None)
    assert not budget.degraded("logs") and budget.can_spend("logs")
