"""The per-client numbers of the compliance report (chalicelib/domain/workload.py), by examples."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.compliance import ContactKind, Schedule
from chalicelib.domain.workload import Fact, Tally, tally

WIB = timezone(timedelta(hours=7))
SCHEDULE = Schedule(start=date(2027, 1, 1), end=date(2027, 6, 29), interval_days=7, tz="Asia/Jakarta")
# Windows: 0 = Jan 1-7, 1 = Jan 8-14, 2 = Jan 15-21, 3 = Jan 22-28, 4 = Jan 29 - Feb 4 ...


def wib(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=WIB)


def checkin(t: datetime, kind: ContactKind = ContactKind.COUNTED) -> Fact:
    return Fact(t, kind, "checkin#x")


def visit(t: datetime, present: bool = True) -> Fact:
    return Fact(t, ContactKind.COUNTED if present else ContactKind.ATTEMPT, "visit#x")


FACTS = [checkin(wib(1, 3)), checkin(wib(1, 10), ContactKind.EXCUSED), visit(wib(1, 16)),
         checkin(wib(1, 24), ContactKind.ATTEMPT), checkin(wib(1, 25), ContactKind.INACTIVE)]


def test_closed_windows_are_expected_met_ones_done_excused_ones_neither():
    end_of_jan_28 = wib(1, 29, 0)
    assert tally(SCHEDULE, FACTS, date(2027, 1, 1), date(2027, 1, 28), end_of_jan_28) == Tally(3, 2, 1)


def test_a_window_still_open_is_expected_only_once_met():
    assert tally(SCHEDULE, FACTS, date(2027, 1, 1), date(2027, 1, 28), wib(1, 25, 12)) == Tally(2, 2, 1)
    met_now = [*FACTS, checkin(wib(1, 25, 11))]
    assert tally(SCHEDULE, met_now, date(2027, 1, 1), date(2027, 1, 28), wib(1, 25, 12)) == Tally(3, 3, 1)


def test_windows_overlapping_the_range_count_whole():
    # Jan 5-9 touches windows 0 (met on Jan 3, before the range) and 1 (excused).
    assert tally(SCHEDULE, FACTS, date(2027, 1, 5), date(2027, 1, 9), wib(3, 1)) == Tally(1, 1, 0)
    assert tally(SCHEDULE, FACTS, date(2027, 1, 22), date(2027, 1, 22), wib(3, 1)) == Tally(1, 0, 0)


def test_facts_after_as_of_are_not_known_yet():
    assert tally(SCHEDULE, FACTS, date(2027, 1, 1), date(2027, 1, 28), wib(1, 3, 9)) == Tally(0, 0, 0)
    assert tally(SCHEDULE, FACTS, date(2027, 1, 1), date(2027, 1, 28), wib(1, 8, 0)) == Tally(1, 1, 0)


def test_home_visits_by_local_date_present_or_not():
    facts = [visit(wib(1, 9, 23, 30)), visit(wib(1, 10, 0, 30), present=False)]
    assert tally(SCHEDULE, facts, date(2027, 1, 9), date(2027, 1, 9), wib(3, 1)).home_visits == 1
    assert tally(SCHEDULE, facts, date(2027, 1, 9), date(2027, 1, 10), wib(3, 1)).home_visits == 2


def test_outside_the_supervision_nothing_is_expected():
    assert tally(SCHEDULE, FACTS, date(2026, 12, 1), date(2026, 12, 31), wib(3, 1)) == Tally(0, 0, 0)
    assert tally(SCHEDULE, [], date(2027, 6, 25), date(2027, 7, 31), datetime(2027, 8, 1, tzinfo=WIB)) == \
        Tally(1, 0, 0)  # only the last window (Jun 25-29) lies in the period
    with pytest.raises(ValueError):
        tally(SCHEDULE, [], date(2027, 2, 1), date(2027, 1, 1), wib(3, 1))


def test_windows_before_tracking_began_are_neither_expected_nor_missed_unless_met():
    """A client registered mid-supervision (tracking_from Jan 15): the report counts as the record does."""
    tracked = Schedule(start=date(2027, 1, 1), end=date(2027, 6, 29), interval_days=7, tz="Asia/Jakarta",
                       tracking_from=date(2027, 1, 15))
    # Windows 0 (met by Jan 3) and 1 (nothing) opened before tracking: 0 is done, 1 is not expected.
    assert tally(tracked, [checkin(wib(1, 3))], date(2027, 1, 1), date(2027, 1, 28), wib(1, 29, 0)) == Tally(3, 1, 0)


def test_windows_follow_the_cadence_history():
    """Weekly, then every 30 days from Jan 15: the windows are Jan 1-7, 8-14, then Jan 15 - Feb 13."""
    changed = Schedule(start=date(2027, 1, 1), end=date(2027, 6, 29), interval_days=7, tz="Asia/Jakarta",
                       changes=((date(2027, 1, 15), 30),))
    assert tally(changed, [checkin(wib(1, 20))], date(2027, 1, 1), date(2027, 2, 13), wib(2, 14, 0)) == Tally(3, 1, 0)
    assert tally(changed, [checkin(wib(1, 20))], date(2027, 1, 15), date(2027, 2, 13), wib(2, 14, 0)) == Tally(1, 1, 0)
