"""The one home of duration formats: each format pinned, and the unit-sum parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cs_console.domain import durations as d


@pytest.mark.parametrize(
    "fn, seconds, text",
    [
        (d.compact, 45, "45s"), (d.compact, 59.6, "60s"), (d.compact, 245, "4m05s"), (d.compact, 7800, "2h10m"), (d.compact, 273600, "3d04h"),
        (d.countdown, 724, "12:04"), (d.countdown, -190, "-3:10"), (d.countdown, 3900, "1h05m"), (d.countdown, -273600, "-3d04h"),
        (d.countdown, None, "—"), (d.countdown, timedelta(minutes=-1), "-1:00"),
        (d.elapsed, 45, "45s"), (d.elapsed, 240, "4m"), (d.elapsed, 245, "4m 05s"), (d.elapsed, 3600, "1h"), (d.elapsed, 93900, "26h 05m"),
        (d.elapsed, -5, "0s"), (d.elapsed, None, "—"), (d.elapsed, timedelta(minutes=30), "30m"),
        (d.measured, 0.25, "250 ms"), (d.measured, 12.34, "12.3 s"), (d.measured, 125, "2m 05s"), (d.measured, 7300, "2h 01m"),
        (d.measured, 273600, "3d 04h"), (d.measured, -125, "-2m 05s"),
        (d.one_unit, 0.25, "0.2s"), (d.one_unit, 45, "45s"), (d.one_unit, 300, "5m"), (d.one_unit, 10800, "3h"), (d.one_unit, 172800, "2d"),
        (d.one_unit_decimal, 2700, "45 min"), (d.one_unit_decimal, 5400, "1.5 h"), (d.one_unit_decimal, 172800, "2.0 d"),
        (d.hms, 3723, "01:02:03"), (d.hms, -4, "00:00:00"),
    ],
)
def test_each_format(fn, seconds, text) -> None:  # noqa: ANN001
    assert fn(seconds) == text


def test_countdown_above_an_hour_is_compact() -> None:
    for s in (3600, 3659, 86399, 86400, 10 * 86400 + 3599):
        assert d.countdown(s) == d.compact(s) and d.countdown(-s) == "-" + d.compact(s)


@given(st.integers(0, 10**9))
def test_filter_text_round_trips(seconds: int) -> None:
    assert d.parse_unit_sum(d.unit_sum_text(seconds)) == seconds


def test_parse_unit_sum_grammars() -> None:
    assert d.parse_unit_sum("1h30m") == 5400 and d.parse_unit_sum("2w") == 2 * 604800
    assert d.parse_unit_sum("1h30") is None and d.parse_unit_sum("1234567890s") is None and d.parse_unit_sum("") is None
    assert d.parse_go_duration("1.5h10ms") == 5400.01 and d.parse_go_duration("876000h") == 876000 * 3600
    assert d.parse_go_duration("1d") is None and d.parse_go_duration("none") is None and d.parse_go_duration("1.h") is None


@given(st.text(alphabet="0123456789.nsuµmhd", max_size=12))
def test_go_durations_accept_what_the_old_runbook_input_rule_accepted(text: str) -> None:
    import re

    old = re.compile(r"^(none|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
    assert (d.parse_go_duration(text) is not None) == bool(old.match(text))
