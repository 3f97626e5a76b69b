"""How metric values read: below a millisecond in µs, ages never negative."""

from __future__ import annotations

from cs_console.domain.metric_format import format_value


def test_sub_millisecond_values_read_in_microseconds() -> None:
    assert format_value(0.02, "ms") == "20 µs"
    assert format_value(0.999, "ms") == "999 µs"
    assert format_value(1.0, "ms") == "1.0 ms"
    assert format_value(0.0, "ms") == "0.0 ms"
    assert format_value(12.4, "ms") == "12 ms"


def test_an_age_is_never_negative() -> None:
    assert format_value(-0.4, "s") == format_value(0.0, "s")
    assert "-" not in format_value(-3.0, "s")
