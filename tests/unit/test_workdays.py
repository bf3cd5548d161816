"""Working days (chalicelib/domain/workdays.py): lokal's calendar of libur nasional and cuti bersama."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lokal.holidays import HOLIDAY_YEARS
from lokal.holidays import add_working_days as lokal_add

from chalicelib.domain import workdays


def test_weekends_national_holidays_and_cuti_bersama_are_days_off():
    assert workdays.is_working_day(date(2026, 12, 2))  # a Wednesday
    assert not workdays.is_working_day(date(2026, 12, 5))  # Saturday
    assert not workdays.is_working_day(date(2026, 12, 25))  # Kelahiran Yesus Kristus (libur nasional)
    assert not workdays.is_working_day(date(2026, 12, 24))  # cuti bersama: the Bapas is closed too
    assert not workdays.is_working_day(date(2027, 3, 15))  # cuti bersama Idulfitri, a Monday
    assert workdays.on_or_after(date(2026, 12, 24)) == date(2026, 12, 28)
    assert workdays.on_or_after(date(2026, 12, 23)) == date(2026, 12, 23)
    assert workdays.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert workdays.add_working_days(date(2027, 3, 5), 3) == date(2027, 3, 18)  # Nyepi, Idulfitri 1448 H
    assert workdays.add_working_days(date(2026, 12, 2), 0) == date(2026, 12, 2)


def test_a_year_without_a_published_decree_counts_weekends_only():
    year = max(HOLIDAY_YEARS) + 2
    first = date(year, 1, 1)
    while first.weekday() != 4:  # a Friday
        first += timedelta(days=1)
    assert workdays.is_working_day(first) and not workdays.is_working_day(first + timedelta(days=1))
    assert workdays.add_working_days(first, 1) == first + timedelta(days=3)
    # Across the end of the published calendar: lokal's holidays up to there, weekends after.
    last = date(max(HOLIDAY_YEARS), 12, 23)
    assert workdays.add_working_days(last, 1) == workdays.on_or_after(last + timedelta(days=1))


@settings(max_examples=200, deadline=None)
@given(day=st.dates(date(2026, 1, 1), date(max(HOLIDAY_YEARS), 11, 30)), n=st.integers(0, 10))
def test_working_day_arithmetic_is_lokals(day, n):
    assert workdays.add_working_days(day, n) == lokal_add(day, n)
