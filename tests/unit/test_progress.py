"""The progress-report due rule (chalicelib/domain/progress.py), by examples."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.clients import Stage
from chalicelib.domain.progress import (
    DuePeriod,
    Report,
    add_months,
    due_periods,
    evaluate,
    fact,
    parse_fact,
    stage_periods,
)

WIB = timezone(timedelta(hours=7))
START, END = date(2027, 1, 1), date(2027, 12, 31)  # 365 days: awal Jan 1 - May 2, lanjutan May 3 - Sep 1


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def status(reports: list[Report], today: date, start: date = START, end: date = END):
    return evaluate(start, end, reports, at(today, 12), today)


def report(first: str, last: str, submitted: str) -> Report:
    return Report(date.fromisoformat(first), date.fromisoformat(last), at(date.fromisoformat(submitted)))


def test_whole_months_within_each_stage_the_short_last_one_merged_due_on_working_days():
    periods = due_periods(START, END)
    awal = [(p.period_start.isoformat(), p.period_end.isoformat(), p.due.isoformat())
            for p in periods if p.stage is Stage.AWAL]
    # The stage ends on May 2: May 1-2 is shorter than half a month and joins April (no 2-day stub).
    # Jan 31 and Feb 28 2027 are Sundays: those reports are due on the Mondays after.
    assert awal == [("2027-01-01", "2027-01-31", "2027-02-01"), ("2027-02-01", "2027-02-28", "2027-03-01"),
                    ("2027-03-01", "2027-03-31", "2027-03-31"), ("2027-04-01", "2027-05-02", "2027-05-03")]
    lanjutan = [p for p in periods if p.stage is Stage.LANJUTAN]
    assert lanjutan[0] == DuePeriod(Stage.LANJUTAN, date(2027, 5, 3), date(2027, 6, 2), date(2027, 6, 2))
    assert lanjutan[-1].period_end == date(2027, 9, 1)
    assert periods[-1] == DuePeriod(Stage.AKHIR, date(2027, 12, 2), date(2027, 12, 31), date(2027, 12, 31))
    # A one-year client owes 12 reports (it was 15, in pairs two days apart), and every stage end is one.
    assert len(periods) == 12
    # The periods tile the whole supervision: no gap, no overlap.
    assert periods[0].period_start == START and periods[-1].period_end == END
    for a, b in itertools.pairwise(periods):
        assert b.period_start == a.period_end + timedelta(days=1)


def test_a_due_date_on_a_holiday_or_cuti_bersama_moves_to_the_next_working_day():
    # Idulfitri 1448 H: Mar 9 (cuti bersama), 10-11 (libur nasional), 12 (cuti bersama), 13-14 weekend,
    # 15 (cuti bersama). A stage from Feb 10 has its first period end on Mar 9: due Tuesday Mar 16.
    [first, *_] = due_periods(date(2027, 2, 10), date(2027, 2, 10) + timedelta(days=179))
    assert (first.period_end, first.due) == (date(2027, 3, 9), date(2027, 3, 16))
    # Christmas 2026: Dec 24 cuti bersama, 25 libur nasional, 26-27 weekend.
    [first, *_] = due_periods(date(2026, 11, 24), date(2026, 11, 24) + timedelta(days=179))
    assert (first.period_end, first.due) == (date(2026, 12, 23), date(2026, 12, 23))
    [first, *_] = due_periods(date(2026, 11, 25), date(2026, 11, 25) + timedelta(days=179))
    assert (first.period_end, first.due) == (date(2026, 12, 24), date(2026, 12, 28))


def test_the_end_of_a_month_and_tiny_periods():
    # Months added to the 31st end on the month's last day and never drift: Jan 31, Feb 28, Mar 31.
    periods = [p for p in due_periods(date(2027, 1, 31), date(2027, 1, 31) + timedelta(days=365))
               if p.stage is Stage.AWAL]
    assert [(p.period_start, p.period_end) for p in periods[:3]] == [
        (date(2027, 1, 31), date(2027, 2, 27)), (date(2027, 2, 28), date(2027, 3, 30)),
        (date(2027, 3, 31), date(2027, 4, 29))]
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28) and add_months(date(2027, 11, 30), 3) == date(
        2028, 2, 29)
    # A stub of at least half its month stays a period of its own: Apr 1 - Apr 20 of a stage ending then.
    assert stage_periods(date(2027, 2, 1), date(2027, 4, 20)) == [
        (date(2027, 2, 1), date(2027, 2, 28)), (date(2027, 3, 1), date(2027, 3, 31)), (date(2027, 4, 1),
                                                                                       date(2027, 4, 20))]
    assert stage_periods(date(2027, 2, 1), date(2027, 4, 14)) == [
        (date(2027, 2, 1), date(2027, 2, 28)), (date(2027, 3, 1), date(2027, 4, 14))]
    # A stage shorter than half a month is one period (New Year's Day, then a weekend: due Monday Jan 4).
    assert due_periods(date(2027, 1, 1), date(2027, 1, 1)) == [DuePeriod(Stage.AWAL, date(2027, 1, 1),
                                                                         date(2027, 1, 1), date(2027, 1, 4))]
    assert [p.stage for p in due_periods(date(2027, 1, 1), date(2027, 1, 3))] == [Stage.AWAL, Stage.LANJUTAN,
                                                                                   Stage.AKHIR]
    with pytest.raises(ValueError):
        due_periods(date(2027, 2, 1), date(2027, 1, 1))


def test_nothing_written_makes_every_passed_due_date_overdue():
    s = status([], date(2027, 3, 5))
    assert s.overdue == 2 and [p.due for p in s.overdue_periods] == [date(2027, 2, 1), date(2027, 3, 1)]
    assert (s.next_due, s.next_period_start, s.next_period_end, s.next_stage) == (
        date(2027, 3, 31), date(2027, 3, 1), date(2027, 3, 31), Stage.AWAL)
    assert s.to_api() == {"overdue": 2, "next_due": "2027-03-31", "next_period_start": "2027-03-01",
                          "next_period_end": "2027-03-31", "next_stage": "awal"}


def test_the_due_date_itself_is_not_overdue_yet():
    # January ends on a Sunday: the report is due on Monday Feb 1, so neither the weekend nor Feb 1 is late.
    for today in (date(2027, 1, 31), date(2027, 2, 1)):
        s = status([], today)
        assert s.overdue == 0 and s.next_due == date(2027, 2, 1) and s.next_period_end == date(2027, 1, 31)
    assert status([], date(2027, 2, 2)).overdue == 1


def test_a_report_meets_the_periods_its_own_period_overlaps():
    first_month = report("2027-01-01", "2027-01-31", "2027-02-01")
    assert status([first_month], date(2027, 3, 5)).overdue == 1  # February still missing
    spanning = report("2027-01-20", "2027-02-10", "2027-02-11")
    assert status([spanning], date(2027, 3, 5)).overdue == 0  # overlaps both the first and the second period
    # Ending on the first day of the next period counts for that one too (an overlap of one day).
    edge = report("2027-01-01", "2027-02-01", "2027-02-01")
    assert status([edge], date(2027, 3, 5)).overdue == 0
    before = report("2027-01-01", "2027-01-30", "2027-01-30")
    s = status([before], date(2027, 3, 5))
    assert s.overdue == 1 and s.overdue_periods[0].due == date(2027, 3, 1)


def test_a_late_report_meets_its_period_from_when_it_is_submitted():
    late = report("2027-01-01", "2027-01-31", "2027-02-03")
    assert status([late], date(2027, 2, 2)).overdue == 1  # not known yet on Feb 2
    assert status([late], date(2027, 2, 3)).overdue == 0
    # Evaluated as of an instant: a report submitted later that day is not known at 09:00.
    assert evaluate(START, END, [late], at(date(2027, 2, 3), 9), date(2027, 2, 3)).overdue == 1


def test_reports_meet_the_next_due_period_in_advance_and_the_order_never_matters():
    reports = [report("2027-01-01", "2027-01-31", "2027-02-01"), report("2027-02-01", "2027-02-28", "2027-03-01"),
               report("2027-03-01", "2027-03-20", "2027-03-20")]
    s = status(reports, date(2027, 3, 21))
    assert s.overdue == 0 and s.next_due == date(2027, 5, 3)  # March is covered already; Apr 1 - May 2 next
    for perm in itertools.permutations(reports):
        assert status(list(perm), date(2027, 3, 21)) == s


def test_after_the_supervision_nothing_is_next_and_the_missing_stay_overdue():
    s = status([], date(2028, 2, 1))
    assert s.next_due is None and s.next_period_start is None and s.next_stage is None
    assert s.overdue == len(due_periods(START, END))
    assert status([report("2027-01-01", "2027-12-31", "2027-12-31")], date(2028, 2, 1)).overdue == 0


def test_before_the_supervision_the_first_period_is_next():
    s = status([], date(2026, 12, 1))
    assert s.overdue == 0 and s.next_due == date(2027, 2, 1) and s.next_period_start == START


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        Report(date(2027, 1, 2), date(2027, 1, 1), at(date(2027, 1, 2)))
    with pytest.raises(ValueError):
        Report(date(2027, 1, 1), date(2027, 1, 2), datetime(2027, 1, 2, 10))
    with pytest.raises(ValueError):
        evaluate(START, END, [], datetime(2027, 1, 2, 10), date(2027, 1, 2))


def test_the_fact_on_the_client_item_round_trips():
    text = fact("2027-02-03T03:00:00+00:00", date(2027, 1, 1), date(2027, 1, 30), "progress_report#abc")
    assert text == "2027-02-03T03:00:00+00:00|2027-01-01|2027-01-30|progress_report#abc"
    assert parse_fact(text) == Report(date(2027, 1, 1), date(2027, 1, 30), datetime(2027, 2, 3, 3, tzinfo=UTC))


# ----- properties of the periods (hypothesis) ------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from lokal.holidays import HOLIDAY_YEARS  # noqa: E402
from lokal.holidays import is_working_day as lokal_is_working_day  # noqa: E402

from chalicelib.domain.clients import stage_bounds  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2027, 12, 31)), days=st.integers(1, 3 * 366))
def test_periods_are_whole_months_within_each_stage_with_no_stub(start, days):
    end = start + timedelta(days=days - 1)
    periods = due_periods(start, end)
    # They tile the supervision with no gap or overlap, and never cross a stage boundary.
    assert periods[0].period_start == start and periods[-1].period_end == end
    for a, b in itertools.pairwise(periods):
        assert b.period_start == a.period_end + timedelta(days=1)
    for stage, first, last in stage_bounds(start, end):
        mine = [p for p in periods if p.stage is stage]
        assert mine[0].period_start == first and mine[-1].period_end == last  # every stage ends a period

        def month(k: int, first: date = first) -> tuple[date, date]:  # the k-th month from the stage's start
            return add_months(first, k), add_months(first, k + 1) - timedelta(days=1)

        def days_of(span: tuple[date, date]) -> int:
            return (span[1] - span[0]).days + 1

        for k, p in enumerate(mine):
            assert p.period_start == month(k)[0]
            if p is not mine[-1]:
                assert p.period_end == month(k)[1]  # a whole month
            else:
                # The last one: its month truncated to at least half, or its month plus less than half of the next.
                length = (p.period_end - p.period_start).days + 1
                if p.period_end <= month(k)[1]:
                    assert 2 * length >= days_of(month(k)) or len(mine) == 1
                else:
                    assert 2 * (length - days_of(month(k))) < days_of(month(k + 1))
        # No 2-day stubs: no period but a stage's only one is shorter than half its month.
        if len(mine) > 1:
            assert all(2 * ((p.period_end - p.period_start).days + 1) >= days_of(month(k))
                       for k, p in enumerate(mine))


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2027, 6, 30)), days=st.integers(1, 180))
def test_due_dates_are_the_period_end_or_the_next_working_day(start, days):
    for p in due_periods(start, start + timedelta(days=days - 1)):
        assert p.due >= p.period_end
        if p.due.year in HOLIDAY_YEARS:
            assert lokal_is_working_day(p.due)
        day = p.period_end
        while day < p.due:  # every day skipped is a weekend, a libur nasional or a cuti bersama
            assert not lokal_is_working_day(day)
            day += timedelta(days=1)
