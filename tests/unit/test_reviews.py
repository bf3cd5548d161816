"""The stage-review due rule (domain/reviews.py): due at the stage's end in working days, met by a review."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.clients import Stage
from chalicelib.domain.reviews import Review, due_reviews, evaluate, parse_fact
from chalicelib.domain.workdays import is_working_day, on_or_after


def test_a_deadline_on_a_day_off_moves_to_the_next_working_day():
    assert on_or_after(date(2026, 12, 2)) == date(2026, 12, 2)  # a Wednesday
    assert on_or_after(date(2026, 12, 5)) == date(2026, 12, 7)  # Saturday -> Monday
    # 24 December 2026 is cuti bersama, the 25th libur nasional, then the weekend.
    assert on_or_after(date(2026, 12, 24)) == date(2026, 12, 28)
    # Idulfitri 2027: 9-12 March off, 13-14 weekend, 15 cuti bersama.
    assert on_or_after(date(2027, 3, 9)) == date(2027, 3, 16)


def test_years_without_a_holiday_decree_count_only_weekends():
    assert is_working_day(date(2030, 1, 1))  # New Year, but no decree for 2030 is known yet: a Tuesday
    assert not is_working_day(date(2030, 1, 5))


def test_each_stage_is_due_at_its_end():
    start, end = date(2026, 1, 1), date(2026, 12, 31)  # 365 days: stages of 122, 121, 122 days
    due = due_reviews(start, end)
    assert [(d.stage, d.first, d.last, d.due) for d in due] == [
        (Stage.AWAL, date(2026, 1, 1), date(2026, 5, 2), date(2026, 5, 4)),  # Saturday -> Monday
        (Stage.LANJUTAN, date(2026, 5, 3), date(2026, 9, 1), date(2026, 9, 1)),
        (Stage.AKHIR, date(2026, 9, 2), date(2026, 12, 31), date(2026, 12, 31)),
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_overdue_met_and_next_due():
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    now = _at("2026-09-10T10:00:00+07:00")
    nothing = evaluate(start, end, [], now, date(2026, 9, 10))
    assert nothing.overdue == 2 and nothing.overdue_stages == (Stage.AWAL, Stage.LANJUTAN)
    assert nothing.next_due == date(2026, 12, 31) and nothing.next_stage is Stage.AKHIR and nothing.done == ()

    awal = Review(Stage.AWAL, _at("2026-05-20T09:00:00+07:00"))  # late, still meets it from then on
    later = Review(Stage.LANJUTAN, _at("2026-09-11T09:00:00+07:00"))  # after as_of: not known yet
    status = evaluate(start, end, [awal, later], now, date(2026, 9, 10))
    assert status.overdue_stages == (Stage.LANJUTAN,) and status.done == (Stage.AWAL,)
    # On the due date itself it is not overdue yet.
    assert evaluate(start, end, [awal], _at("2026-09-01T23:00:00+07:00"), date(2026, 9, 1)).overdue == 0
    assert evaluate(start, end, [awal], _at("2026-09-02T00:30:00+07:00"), date(2026, 9, 2)).overdue == 1
    assert status.to_api() == {"overdue": 1, "overdue_stages": ["lanjutan"], "next_due": "2026-12-31",
                               "next_stage": "akhir", "done": ["awal"]}


def test_facts_round_trip_and_naive_times_are_refused():
    review = parse_fact("2026-05-20T02:00:00+00:00|awal|stage_review#x")
    assert review == Review(Stage.AWAL, datetime(2026, 5, 20, 2, tzinfo=UTC))
    with pytest.raises(ValueError):
        Review(Stage.AWAL, datetime(2026, 5, 20))
    with pytest.raises(ValueError):
        evaluate(date(2026, 1, 1), date(2026, 2, 1), [], datetime(2026, 1, 5), date(2026, 1, 5))
