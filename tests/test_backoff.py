"""The one capped backoff: the same delays every retry loop used before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cs_console.domain.backoff import Backoff


def test_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(initial=0.5, cap=10.0)  # the team store's LISTEN reconnect
    assert [b.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    b.reset()
    assert b.current == 0.0 and b.next() == 0.5


def test_a_hint_is_waited_whole_and_grown_from() -> None:
    b = Backoff(initial=10.0, cap=60.0)  # Supabase log polls every 5 s
    assert b.next() == 10.0
    assert b.hint(90.0) == 90.0 and b.current == 90.0  # a 429 reset longer than the cap
    assert b.next() == 60.0


@given(initial=st.floats(0.01, 100), cap=st.floats(0.01, 100), failures=st.integers(1, 20))
def test_same_delays_as_the_connectors_formula(initial: float, cap: float, failures: int) -> None:
    b = Backoff(initial, cap)
    delays = [b.next() for _ in range(failures)]
    assert delays == [min(cap, initial * 2 ** (k - 1)) for k in range(1, failures + 1)]
