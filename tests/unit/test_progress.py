"""The progress-report due rule (chalicelib/domain/progress.py), by examples."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.clients import Stage
from chalicelib.domain.progress import DuePeriod, Report, due_periods, evaluate, fact, parse_fact

WIB = timezone(timedelta(hours=7))
START, END = date(2027, 1, 1), date(2027, 12, 31)  # 365 days: awal Jan 1 - May 2, lanjutan May 3 - Sep 1


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def status(reports: list[Report], today: date, start: date = START, end: date = END):
    return evaluate(start, end, reports, at(today, 12), today)


def report(first: str, last: str, submitted: str) -> Report:
    return Report(date.fromisoformat(first), date.fromisoformat(last), at(date.fromisoformat(submitted)))


def test_due_every_30_days_within_each_stage_and_on_its_last_date():
    periods = due_periods(START, END)
    awal = [(p.period_start.isoformat(), p.due.isoformat()) for p in periods if p.stage is Stage.AWAL]
    assert awal == [("2027-01-01", "2027-01-30"), ("2027-01-31", "2027-03-01"), ("2027-03-02", "2027-03-31"),
                    ("2027-04-01", "2027-04-30"), ("2027-05-01", "2027-05-02")]  # the stage ends on May 2
    lanjutan = [p for p in periods if p.stage is Stage.LANJUTAN]
    assert lanjutan[0] == DuePeriod(Stage.LANJUTAN, date(2027, 5, 3), date(2027, 6, 1))
    assert lanjutan[-1].due == date(2027, 9, 1)
    # akhir (Sep 2 - Dec 31, 121 days) ends with a one-day period: the end of stage is always a due date.
    assert periods[-2:] == [DuePeriod(Stage.AKHIR, date(2027, 12, 1), date(2027, 12, 30)),
                            DuePeriod(Stage.AKHIR, date(2027, 12, 31), date(2027, 12, 31))]
    # The periods tile the whole supervision: no gap, no overlap.
    assert periods[0].period_start == START and periods[-1].due == END
    for a, b in itertools.pairwise(periods):
        assert b.period_start == a.due + timedelta(days=1)


def test_the_docstring_example_and_tiny_periods():
    # 2027-01-01..2027-03-05 is a 64-day stage of a 192-day supervision.
    first = due_periods(date(2027, 1, 1), date(2027, 1, 1) + timedelta(days=191))
    assert [p.due.isoformat() for p in first if p.stage is Stage.AWAL] == ["2027-01-30", "2027-03-01", "2027-03-05"]
    assert due_periods(date(2027, 1, 1), date(2027, 1, 1)) == [DuePeriod(Stage.AWAL, date(2027, 1, 1),
                                                                         date(2027, 1, 1))]
    assert [p.stage for p in due_periods(date(2027, 1, 1), date(2027, 1, 3))] == [Stage.AWAL, Stage.LANJUTAN,
                                                                                   Stage.AKHIR]
    with pytest.raises(ValueError):
        due_periods(date(2027, 2, 1), date(2027, 1, 1))


def test_nothing_written_makes_every_passed_due_date_overdue():
    s = status([], date(2027, 3, 5))
    assert s.overdue == 2 and [p.due for p in s.overdue_periods] == [date(2027, 1, 30), date(2027, 3, 1)]
    assert (s.next_due, s.next_period_start, s.next_stage) == (date(2027, 3, 31), date(2027, 3, 2), Stage.AWAL)
    assert s.to_api() == {"overdue": 2, "next_due": "2027-03-31", "next_period_start": "2027-03-02",
                          "next_stage": "awal"}


def test_the_due_date_itself_is_not_overdue_yet():
    s = status([], date(2027, 1, 30))
    assert s.overdue == 0 and s.next_due == date(2027, 1, 30)
    assert status([], date(2027, 1, 31)).overdue == 1


def test_a_report_meets_the_periods_its_own_period_overlaps():
    first_month = report("2027-01-01", "2027-01-30", "2027-01-30")
    assert status([first_month], date(2027, 3, 5)).overdue == 1  # Mar 1 still missing
    spanning = report("2027-01-20", "2027-02-10", "2027-02-11")
    assert status([spanning], date(2027, 3, 5)).overdue == 0  # overlaps both the first and the second period
    # Ending on the first day of the next period counts for that one too (an overlap of one day).
    edge = report("2027-01-01", "2027-01-31", "2027-02-01")
    assert status([edge], date(2027, 3, 5)).overdue == 0
    before = report("2027-01-01", "2027-01-29", "2027-01-29")
    s = status([before], date(2027, 3, 5))
    assert s.overdue == 1 and s.overdue_periods[0].due == date(2027, 3, 1)


def test_a_late_report_meets_its_period_from_when_it_is_submitted():
    late = report("2027-01-01", "2027-01-30", "2027-02-03")
    assert status([late], date(2027, 2, 2)).overdue == 1  # not known yet on Feb 2
    assert status([late], date(2027, 2, 3)).overdue == 0
    # Evaluated as of an instant: a report submitted later that day is not known at 09:00.
    assert evaluate(START, END, [late], at(date(2027, 2, 3), 9), date(2027, 2, 3)).overdue == 1


def test_reports_meet_the_next_due_period_in_advance_and_the_order_never_matters():
    reports = [report("2027-01-01", "2027-01-30", "2027-01-30"), report("2027-01-31", "2027-03-01", "2027-03-01"),
               report("2027-03-02", "2027-03-20", "2027-03-20")]
    s = status(reports, date(2027, 3, 21))
    assert s.overdue == 0 and s.next_due == date(2027, 4, 30)  # Mar 2-31 is covered already
    for perm in itertools.permutations(reports):
        assert status(list(perm), date(2027, 3, 21)) == s


def test_after_the_supervision_nothing_is_next_and_the_missing_stay_overdue():
    s = status([], date(2028, 2, 1))
    assert s.next_due is None and s.next_period_start is None and s.next_stage is None
    assert s.overdue == len(due_periods(START, END))
    assert status([report("2027-01-01", "2027-12-31", "2027-12-31")], date(2028, 2, 1)).overdue == 0


def test_before_the_supervision_the_first_period_is_next():
    s = status([], date(2026, 12, 1))
    assert s.overdue == 0 and s.next_due == date(2027, 1, 30) and s.next_period_start == START


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
