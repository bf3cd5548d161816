"""Daytime in the recipient's own time zone, from the Kemendagri province code."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import daytime


@pytest.mark.parametrize(("code", "zone"), [
    ("31.74.09.1001", "Asia/Jakarta"), ("11", "Asia/Jakarta"), ("6171", "Asia/Jakarta"), ("21.71", "Asia/Jakarta"),
    ("51.71", "Asia/Makassar"), ("73.71.01.1001", "Asia/Makassar"), ("64", "Asia/Makassar"),
    ("81.71", "Asia/Jayapura"), ("91.71.01.1001", "Asia/Jayapura"), ("96", "Asia/Jayapura"),
])
def test_zone_from_the_province(code, zone):
    assert daytime.zone_of_code(code) == zone


@pytest.mark.parametrize("code", ["", "00", "99.01", "xx"])
def test_unknown_province(code):
    with pytest.raises(ValueError):
        daytime.zone_of_code(code)


def test_the_same_instant_is_night_in_jakarta_and_day_in_jayapura():
    t = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 07:30 WIB, 08:30 WITA, 09:30 WIT
    assert [daytime.is_daytime(t, z) for z in (daytime.WIB, daytime.WITA, daytime.WIT)] == [False, True, True]
    assert daytime.next_daytime(t, daytime.WIB) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert daytime.next_daytime(t, daytime.WIT) == t
    evening = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # 18:00 WIB: no longer daytime
    assert not daytime.is_daytime(evening, daytime.WIB)
    assert daytime.next_daytime(evening, daytime.WIB) == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    assert daytime.next_morning(t, daytime.WIT) == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)


@settings(max_examples=100, deadline=None, database=None)
@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)),
       st.sampled_from([daytime.WIB, daytime.WITA, daytime.WIT]))
def test_next_daytime_is_the_first_daytime_instant_not_before_t(t, zone):
    nxt = daytime.next_daytime(t, zone)
    assert nxt >= t and daytime.is_daytime(nxt, zone)
    assert (nxt == t) == daytime.is_daytime(t, zone)
    assert nxt - t <= (datetime(2026, 1, 2, 8) - datetime(2026, 1, 1, 18))  # at most one night
    assert daytime.is_daytime(daytime.next_morning(t, zone), zone)


def test_naive_is_refused():
    with pytest.raises(ValueError):
        daytime.is_daytime(datetime(2026, 1, 1, 9), daytime.WIB)
